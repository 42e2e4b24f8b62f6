"""`GlobalAveragePooling1D`: average pooling: the mean over all steps."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from kiln._src.api_export import keras_export
from kiln._src.layers.pooling.base_global_pooling import BaseGlobalPooling


@keras_export(["keras.layers.GlobalAveragePooling1D", "keras.layers.GlobalAvgPool1D"])
class GlobalAveragePooling1D(BaseGlobalPooling):
    """Takes the mean over all steps.

    Inputs are `(batch, steps, channels)` with channels_last.

    Args:
        data_format: ``"channels_last"`` or ``"channels_first"``; default
            `keras.config.image_data_format()`.
        keepdims: keep the pooled axes with length 1.

    Call arguments:
        mask: optional `(batch, steps)` booleans; masked steps are left
            out of the mean (the output carries no mask).

    Returns:
        `(batch, channels)`, or with `keepdims` the input's rank with the
        pooled axes of length 1.

    Example:
        >>> keras.layers.GlobalAveragePooling1D()(np.ones((4, 10, 3))).shape
        (4, 3)
    """

    def __init__(
        self, data_format: str | None = None, keepdims: bool = False, **kwargs: Any
    ):
        super().__init__(
            pool_dimensions=1, data_format=data_format, keepdims=keepdims, **kwargs
        )
        self.supports_masking = True

    def call(self, inputs: Any, mask: Any = None) -> Any:
        axis = self.spatial_axes()
        if mask is None:
            return jnp.mean(inputs, axis=axis, keepdims=self.keepdims)
        # mask: (batch, steps); masked steps count neither in sum nor divisor.
        channel_axis = 2 if self.data_format == "channels_last" else 1
        mask = jnp.expand_dims(jnp.asarray(mask).astype(bool), channel_axis)
        total = jnp.sum(jnp.where(mask, inputs, 0), axis=axis, keepdims=self.keepdims)
        count = jnp.sum(mask.astype(inputs.dtype), axis=axis, keepdims=self.keepdims)
        return total / count

    def compute_mask(self, inputs: Any, previous_mask: Any = None) -> Any:
        return None
