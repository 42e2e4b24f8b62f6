"""Records the Keras 3 public name of each kiln built-in.

A kiln class decorated with ``@keras_export("keras.layers.Dense")`` is written to
files with ``module="keras.layers"``, exactly as Keras 3 writes its own built-in,
and a file naming ``keras.layers.Dense`` resolves to it on load. The table below is
the *only* way a name in a file reaches a built-in class: loading never imports a
module named by a file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

# "keras.layers.Dense" -> class or function (every alias).
_OBJECTS_BY_NAME: dict[str, Any] = {}
# class or function -> its canonical (first) public name.
_CANONICAL_NAME: dict[Any, str] = {}


def keras_export(names: str | list[str]) -> Callable[[T], T]:
    """Registers a built-in under its Keras 3 public name(s); the first is canonical."""
    if isinstance(names, str):
        names = [names]

    def decorator(obj: T) -> T:
        for name in names:
            _OBJECTS_BY_NAME[name] = obj
        _CANONICAL_NAME.setdefault(obj, names[0])
        return obj

    return decorator


def get_canonical_name(obj: Any) -> str | None:
    """Returns e.g. ``"keras.layers.Dense"`` for kiln's Dense, or None."""
    return _CANONICAL_NAME.get(obj)


def get_exported_object(name: str) -> Any | None:
    """Looks up a public Keras name such as ``"keras.layers.Dense"``."""
    return _OBJECTS_BY_NAME.get(name)


def exported_names() -> list[str]:
    return sorted(_OBJECTS_BY_NAME)
