"""`BaseGlobalPooling`: reduces every spatial axis at once."""

from __future__ import annotations

from typing import Any

from kiln._src.layers.convolutional import conv_utils
from kiln._src.layers.input_spec import InputSpec
from kiln._src.layers.layer import Layer


class BaseGlobalPooling(Layer):
    """Pools over all `pool_dimensions` spatial axes.

    Args:
        pool_dimensions: 1, 2 or 3.
        data_format: ``"channels_last"`` or ``"channels_first"``.
        keepdims: keep the pooled axes with length 1.
    """

    def __init__(
        self,
        pool_dimensions: int,
        data_format: str | None = None,
        keepdims: bool = False,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.data_format = conv_utils.normalize_data_format(data_format)
        self.keepdims = keepdims
        self.pool_dimensions = pool_dimensions
        self.input_spec = InputSpec(ndim=pool_dimensions + 2)

    def spatial_axes(self) -> tuple[int, ...]:
        first = 1 if self.data_format == "channels_last" else 2
        return tuple(range(first, first + self.pool_dimensions))

    def compute_output_shape(self, input_shape: Any) -> tuple[Any, ...]:
        shape = tuple(input_shape)
        channels = shape[conv_utils.channel_axis(self.data_format)]
        if not self.keepdims:
            return (shape[0], channels)
        ones = (1,) * (len(shape) - 2)
        return conv_utils.with_spatial(shape, ones, channels, self.data_format)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"data_format": self.data_format, "keepdims": self.keepdims})
        return config
