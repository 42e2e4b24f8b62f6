"""`Identity`: returns its input unchanged."""

from __future__ import annotations

from typing import Any

from kiln._src.api_export import keras_export
from kiln._src.layers.layer import Layer


@keras_export("keras.layers.Identity")
class Identity(Layer):
    """Returns its inputs unchanged (a placeholder layer)."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs: Any) -> Any:
        return inputs

    def get_config(self) -> dict[str, Any]:
        return super().get_config()
