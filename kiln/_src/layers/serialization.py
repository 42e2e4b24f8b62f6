"""`keras.layers.serialize` / `deserialize`."""

from __future__ import annotations

from typing import Any

from kiln._src import api_export
from kiln._src.saving.serialization_lib import (
    deserialize_keras_object,
    serialize_keras_object,
)


def _layer_objects() -> dict[str, Any]:
    from kiln._src.layers.registry import public_layer_objects

    return public_layer_objects()


@api_export.keras_export("keras.layers.serialize")
def serialize(layer: Any) -> Any:
    """A layer's envelope: ``{"module", "class_name", "config", ...}``."""
    return serialize_keras_object(layer)


@api_export.keras_export("keras.layers.deserialize")
def deserialize(config: Any, custom_objects: dict[str, Any] | None = None) -> Any:
    """Rebuilds a layer from `serialize`'s output (or a bare
    ``{"class_name", "config"}`` dict naming a built-in layer)."""
    return deserialize_keras_object(
        config, custom_objects=custom_objects, module_objects=_layer_objects()
    )
