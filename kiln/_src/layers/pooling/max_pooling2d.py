"""`MaxPooling2D`: max pooling: the maximum over 2D windows."""

from __future__ import annotations

from typing import Any

from kiln._src.api_export import keras_export
from kiln._src.layers.pooling.base_pooling import BasePooling


@keras_export(["keras.layers.MaxPooling2D", "keras.layers.MaxPool2D"])
class MaxPooling2D(BasePooling):
    """Takes the maximum over 2D windows.

    Inputs are `(batch, height, width, channels)` with channels_last.

    Args:
        pool_size: an int or a 2-tuple, the window size (default (2, 2)).
        strides: an int, a 2-tuple, or None (default: `pool_size`).
        padding: ``"valid"`` (only whole windows) or ``"same"`` (output length
            ``ceil(n / stride)``), case-insensitive.
        data_format: ``"channels_last"`` or ``"channels_first"``; default
            `keras.config.image_data_format()`.

    Returns:
        A 4D tensor with the input's channels.

    Example:
        >>> keras.layers.MaxPooling2D()(np.ones((4, 10, 10, 3))).shape
        (4, 5, 5, 3)
    """

    def __init__(
        self,
        pool_size: Any = (2, 2),
        strides: Any = None,
        padding: str = "valid",
        data_format: str | None = None,
        name: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(
            pool_size,
            strides,
            pool_dimensions=2,
            pool_mode="max",
            padding=padding,
            data_format=data_format,
            name=name,
            **kwargs,
        )
