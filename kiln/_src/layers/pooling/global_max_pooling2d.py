"""`GlobalMaxPooling2D`: max pooling: the maximum over all spatial axes."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from kiln._src.api_export import keras_export
from kiln._src.layers.pooling.base_global_pooling import BaseGlobalPooling


@keras_export(["keras.layers.GlobalMaxPooling2D", "keras.layers.GlobalMaxPool2D"])
class GlobalMaxPooling2D(BaseGlobalPooling):
    """Takes the maximum over all spatial axes.

    Inputs are `(batch, height, width, channels)` with channels_last.

    Args:
        data_format: ``"channels_last"`` or ``"channels_first"``; default
            `keras.config.image_data_format()`.
        keepdims: keep the pooled axes with length 1.

    Returns:
        `(batch, channels)`, or with `keepdims` the input's rank with the
        pooled axes of length 1.

    Example:
        >>> keras.layers.GlobalMaxPooling2D()(np.ones((4, 10, 10, 3))).shape
        (4, 3)
    """

    def __init__(
        self, data_format: str | None = None, keepdims: bool = False, **kwargs: Any
    ):
        super().__init__(
            pool_dimensions=2, data_format=data_format, keepdims=keepdims, **kwargs
        )

    def call(self, inputs: Any) -> Any:
        return jnp.max(inputs, axis=self.spatial_axes(), keepdims=self.keepdims)
