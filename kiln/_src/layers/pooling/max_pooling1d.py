"""`MaxPooling1D`: max pooling: the maximum over 1D windows."""

from __future__ import annotations

from typing import Any

from kiln._src.api_export import keras_export
from kiln._src.layers.pooling.base_pooling import BasePooling


@keras_export(["keras.layers.MaxPooling1D", "keras.layers.MaxPool1D"])
class MaxPooling1D(BasePooling):
    """Takes the maximum over 1D windows.

    Inputs are `(batch, steps, channels)` with channels_last.

    Args:
        pool_size: an int or a 1-tuple, the window size (default 2).
        strides: an int, a 1-tuple, or None (default: `pool_size`).
        padding: ``"valid"`` (only whole windows) or ``"same"`` (output length
            ``ceil(n / stride)``), case-insensitive.
        data_format: ``"channels_last"`` or ``"channels_first"``; default
            `keras.config.image_data_format()`.

    Returns:
        A 3D tensor with the input's channels.

    Example:
        >>> keras.layers.MaxPooling1D()(np.ones((4, 10, 3))).shape
        (4, 5, 3)
    """

    def __init__(
        self,
        pool_size: Any = 2,
        strides: Any = None,
        padding: str = "valid",
        data_format: str | None = None,
        name: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(
            pool_size,
            strides,
            pool_dimensions=1,
            pool_mode="max",
            padding=padding,
            data_format=data_format,
            name=name,
            **kwargs,
        )
