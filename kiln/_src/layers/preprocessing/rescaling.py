"""`Rescaling`: ``inputs * scale + offset``."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from kiln._src.api_export import keras_export
from kiln._src.backend.config import image_data_format
from kiln._src.layers.layer import Layer
from kiln._src.saving.serialization_lib import (
    deserialize_keras_object,
    serialize_keras_object,
)


@keras_export("keras.layers.Rescaling")
class Rescaling(Layer):
    """Rescales inputs (of any dtype) to ``inputs * scale + offset`` in the
    layer's compute dtype, e.g. pixels in [0, 255] to [0, 1] with
    ``scale=1 / 255``.

    Args:
        scale: a float, or an array broadcastable to the inputs (per channel).
            Under the "channels_first" image data format, a per-channel array
            is reshaped to ``(channels, 1, 1)``.
        offset: a float or an array broadcastable to the inputs.

    Example:
        >>> keras.layers.Rescaling(1 / 255)(np.array([0, 255], "uint8"))
        Array([0., 1.], dtype=float32)
    """

    def __init__(self, scale: Any, offset: Any = 0.0, **kwargs: Any):
        super().__init__(**kwargs)
        self.scale = scale
        self.offset = offset
        self.supports_masking = True

    def build(self, input_shape: Any) -> None:
        # Nothing to create; built on first call like Keras (so files record
        # the input shape).
        self.built = True

    def call(self, inputs: Any) -> Any:
        dtype = self.compute_dtype
        scale = jnp.asarray(self.scale, dtype)
        offset = jnp.asarray(self.offset, dtype)
        if scale.ndim > 0 and image_data_format() == "channels_first":
            scale = jnp.reshape(scale, scale.shape + (1,) * (3 - scale.ndim))
        return jnp.asarray(inputs).astype(dtype) * scale + offset

    def compute_output_shape(self, input_shape: Any) -> Any:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "scale": serialize_keras_object(self.scale),
                "offset": serialize_keras_object(self.offset),
            }
        )
        return config

    @classmethod
    def from_config(
        cls, config: dict[str, Any], custom_objects: Any = None
    ) -> Rescaling:
        config = dict(config)
        config["scale"] = deserialize_keras_object(
            config["scale"], custom_objects=custom_objects
        )
        config["offset"] = deserialize_keras_object(
            config["offset"], custom_objects=custom_objects
        )
        return super().from_config(config)
