"""`AveragePooling1D`: average pooling: the mean over 1D windows."""

from __future__ import annotations

from typing import Any

from kiln._src.api_export import keras_export
from kiln._src.layers.pooling.base_pooling import BasePooling


@keras_export(["keras.layers.AveragePooling1D", "keras.layers.AvgPool1D"])
class AveragePooling1D(BasePooling):
    """Takes the mean over 1D windows.

    Inputs are `(batch, steps, channels)` with channels_last.

    Args:
        pool_size: an int or a 1-tuple, the window size.
        strides: an int, a 1-tuple, or None (default: `pool_size`).
        padding: ``"valid"`` (only whole windows) or ``"same"`` (output length
            ``ceil(n / stride)``), case-insensitive.
            With "same", each window's sum is divided by the number of
            real (not padded) elements it covers.
        data_format: ``"channels_last"`` or ``"channels_first"``; default
            `keras.config.image_data_format()`.

    Returns:
        A 3D tensor with the input's channels.

    Example:
        >>> keras.layers.AveragePooling1D(2)(np.ones((4, 10, 3))).shape
        (4, 5, 3)
    """

    def __init__(
        self,
        pool_size: Any,
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
            pool_mode="average",
            padding=padding,
            data_format=data_format,
            name=name,
            **kwargs,
        )
