"""`shared_object_id`: one object referenced from several places in a config.

A layer can appear twice in a model's config: in a Functional's ``layers`` and
inside a custom layer's config that holds it (weight tying). Without a mark,
loading would build two layers where there was one, and their weights would
drift apart (or fail to load). Inside an `ObjectSharingScope` (`save_model` and
`load_model` open one):

- saving gives every envelope of a layer that is serialized more than once a
  ``"shared_object_id"`` (the first one too), numbered 1, 2, ... in the order
  the repeats are found, so the same model always gives the same bytes (Keras
  writes ``id(obj)``; any int works, it is only a key);
- loading builds the first envelope carrying an id and returns that same
  object for every later envelope with the id (Keras marks other repeated
  objects too, such as dtype policies; those are reused the same way).
"""

from __future__ import annotations

import threading
from typing import Any

_state = threading.local()


class _Sharing:
    def __init__(self) -> None:
        # Saving: id(layer) -> (layer, its first envelope); the layer is kept
        # so that its id stays unique while the scope is open.
        self.first: dict[int, tuple[Any, dict[str, Any]]] = {}
        self.numbers: dict[int, int] = {}
        self.envelopes: set[int] = set()  # ids of envelopes made in the scope
        # Loading: shared_object_id -> object.
        self.loaded: dict[int, Any] = {}


class ObjectSharingScope:
    """Detects repeated objects on save and rebuilds them once on load."""

    def __enter__(self) -> ObjectSharingScope:
        self._previous = getattr(_state, "sharing", None)
        _state.sharing = _Sharing()
        return self

    def __exit__(self, *exc_info: object) -> None:
        _state.sharing = self._previous


def _current() -> _Sharing | None:
    return getattr(_state, "sharing", None)


def is_envelope_made_here(value: Any) -> bool:
    """Whether `value` is an envelope this scope made (and may still mark):
    it is then used as is rather than copied, so a mark added later shows."""
    sharing = _current()
    return sharing is not None and id(value) in sharing.envelopes


def record_serialized(obj: Any, envelope: dict[str, Any]) -> None:
    """Marks `envelope` (and the first envelope of `obj`) when `obj`, a layer,
    was already serialized in this scope."""
    from kiln._src.layers.layer import Layer

    sharing = _current()
    if sharing is None or not isinstance(obj, Layer):
        return
    sharing.envelopes.add(id(envelope))
    first = sharing.first.get(id(obj))
    if first is None:
        sharing.first[id(obj)] = (obj, envelope)
        return
    number = sharing.numbers.setdefault(id(obj), len(sharing.numbers) + 1)
    first[1]["shared_object_id"] = number
    envelope["shared_object_id"] = number


def shared_object(config: dict[str, Any]) -> Any | None:
    """The object already built for this envelope's id, if any."""
    sharing = _current()
    key = config.get("shared_object_id")
    if sharing is None or not isinstance(key, int):
        return None
    return sharing.loaded.get(key)


def record_deserialized(config: dict[str, Any], instance: Any) -> None:
    sharing = _current()
    key = config.get("shared_object_id")
    if sharing is not None and isinstance(key, int):
        sharing.loaded.setdefault(key, instance)
