"""`Masking`: marks timesteps whose features all equal `mask_value` as padding."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from kiln._src.api_export import keras_export
from kiln._src.layers.layer import Layer
from kiln._src.saving.serialization_lib import deserialize_keras_object


@keras_export("keras.layers.Masking")
class Masking(Layer):
    """Masks timesteps in which every feature equals `mask_value`.

    For an input of shape ``(batch, timesteps, features)``, timestep ``t`` of
    sample ``b`` is skipped by the layers after this one (those that support
    masking, such as `LSTM`) when ``inputs[b, t, :] == mask_value`` everywhere.
    The layer outputs its input with those timesteps set to zero.

    Args:
        mask_value: the padding value (default 0.0).

    Example:
        >>> inputs = np.array([[[1.0], [0.0], [2.0]]])
        >>> keras.layers.Masking()(inputs)[0, :, 0]
        Array([1., 0., 2.], dtype=float32)
    """

    def __init__(self, mask_value: Any = 0.0, **kwargs: Any):
        super().__init__(**kwargs)
        # A serialized tensor (Keras writes arrays as {"class_name": ...}).
        if isinstance(mask_value, dict) and mask_value.get("config", None):
            mask_value = deserialize_keras_object(mask_value)
        self.mask_value = mask_value
        self.supports_masking = True

    def compute_mask(self, inputs: Any, previous_mask: Any = None) -> Any:
        return jnp.any(jnp.not_equal(inputs, self.mask_value), axis=-1)

    def call(self, inputs: Any) -> Any:
        keep = jnp.any(jnp.not_equal(inputs, self.mask_value), axis=-1, keepdims=True)
        return jnp.where(keep, inputs, jnp.zeros((), dtype=inputs.dtype))

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["mask_value"] = self.mask_value
        return config
