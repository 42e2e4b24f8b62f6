"""`ZeroPadding1D`: adds zeros at both ends of the time axis."""

from __future__ import annotations

from typing import Any

from kiln._src.api_export import keras_export
from kiln._src.layers.input_spec import InputSpec
from kiln._src.layers.layer import Layer
from kiln._src.layers.reshaping import reshaping_args


@keras_export("keras.layers.ZeroPadding1D")
class ZeroPadding1D(Layer):
    """Pads a 3D input with zeros along its steps axis.

    Args:
        padding: an int (the same at both ends) or a pair ``(start, end)``.
        data_format: ``"channels_last"`` (default: the global image data
            format, input ``(batch, steps, features)``) or
            ``"channels_first"`` (input ``(batch, features, steps)``).

    Example:
        >>> keras.layers.ZeroPadding1D(2)(np.ones((2, 3, 4))).shape
        (2, 7, 4)
    """

    def __init__(self, padding: Any = 1, data_format: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.data_format = reshaping_args.standardize_data_format(data_format)
        self.padding = reshaping_args.standardize_tuple(
            padding, 2, "padding", allow_zero=True
        )
        self.input_spec = InputSpec(ndim=3)

    def build(self, input_shape: Any) -> None:
        self.built = True

    def _axes(self) -> tuple[int, ...]:
        return reshaping_args.spatial_axes(1, self.data_format)

    def compute_output_shape(self, input_shape: Any) -> tuple[Any, ...]:
        return reshaping_args.padded_shape(input_shape, (self.padding,), self._axes())

    def call(self, inputs: Any) -> Any:
        return reshaping_args.pad(inputs, (self.padding,), self._axes())

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"padding": self.padding, "data_format": self.data_format})
        return config
