"""The custom-object registry: `register_keras_serializable` and its scopes.

Names in a file reach user classes only through this registry, a
`custom_objects` dict or a `custom_object_scope` -- never through an import.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from typing import Any

GLOBAL_CUSTOM_OBJECTS: dict[str, Any] = {}
GLOBAL_CUSTOM_NAMES: dict[Any, str] = {}

_scopes = threading.local()


def _scope_stack() -> list[dict[str, Any]]:
    stack = getattr(_scopes, "stack", None)
    if stack is None:
        stack = _scopes.stack = []
    return stack


class CustomObjectScope:
    """Makes custom objects resolvable by name inside a ``with`` block.

    Args:
        custom_objects: a dict ``{name: class_or_function}`` (several dicts may
            be given; later ones win).

    Example:
        >>> with custom_object_scope({"MyLayer": MyLayer}):
        ...     model = load_model("model.keras")
    """

    def __init__(self, *custom_objects: dict[str, Any] | None):
        merged: dict[str, Any] = {}
        for objects in custom_objects:
            if objects is None:
                continue
            if not isinstance(objects, dict):
                raise TypeError(
                    "custom_object_scope expects dicts mapping names to classes or "
                    f"functions. Received: {objects!r}"
                )
            merged.update(objects)
        self.custom_objects = merged

    def __enter__(self) -> CustomObjectScope:
        _scope_stack().append(self.custom_objects)
        return self

    def __exit__(self, *exc_info: object) -> None:
        _scope_stack().pop()


custom_object_scope = CustomObjectScope


def scoped_custom_objects() -> dict[str, Any]:
    """Every active scope's objects merged, innermost last."""
    merged: dict[str, Any] = {}
    for objects in _scope_stack():
        merged.update(objects)
    return merged


def get_custom_objects() -> dict[str, Any]:
    """The live global registry (``get_custom_objects().clear()`` empties it)."""
    return GLOBAL_CUSTOM_OBJECTS


def register_keras_serializable(
    package: str = "Custom", name: str | None = None
) -> Callable[[Any], Any]:
    """Registers a class or function under ``"package>name"``.

    Args:
        package: a namespace for the name (default ``"Custom"``).
        name: the name in the file (default: the class or function name).
    """
    if not isinstance(package, str) or ">" in package:
        raise ValueError(
            f"`package` must be a string without '>'. Received: package={package!r}"
        )

    def decorator(obj: Any) -> Any:
        registered_name = f"{package}>{name or obj.__name__}"
        if inspect.isclass(obj) and not hasattr(obj, "get_config"):
            raise ValueError(
                f"Cannot register {obj.__name__}: a serializable class must "
                "implement `get_config()` so it can be saved."
            )
        GLOBAL_CUSTOM_OBJECTS[registered_name] = obj
        GLOBAL_CUSTOM_NAMES[obj] = registered_name
        return obj

    return decorator


def get_registered_name(obj: Any) -> str:
    """The name `obj` was registered under, else its ``__name__``."""
    if obj in GLOBAL_CUSTOM_NAMES:
        return GLOBAL_CUSTOM_NAMES[obj]
    return obj.__name__


def get_registered_object(
    name: str,
    custom_objects: dict[str, Any] | None = None,
    module_objects: dict[str, Any] | None = None,
) -> Any | None:
    """Finds `name` in the scopes, the registry, `custom_objects`, then
    `module_objects` (Keras's order)."""
    scoped = scoped_custom_objects()
    if name in scoped:
        return scoped[name]
    if name in GLOBAL_CUSTOM_OBJECTS:
        return GLOBAL_CUSTOM_OBJECTS[name]
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if module_objects and name in module_objects:
        return module_objects[name]
    return None
