"""`ZeroPadding3D`: adds rows of zeros around the three spatial axes."""

from __future__ import annotations

from typing import Any

from kiln._src.api_export import keras_export
from kiln._src.layers.input_spec import InputSpec
from kiln._src.layers.layer import Layer
from kiln._src.layers.reshaping import reshaping_args


@keras_export("keras.layers.ZeroPadding3D")
class ZeroPadding3D(Layer):
    """Pads the three spatial axes of a 5D input with zeros.

    Args:
        padding: an int (the same on every side), a tuple of 3 ints
            (symmetric amounts per spatial axis), or a tuple of 3 pairs
            ``(before, after)`` per spatial axis.
        data_format: ``"channels_last"`` (default: the global image data
            format) or ``"channels_first"``.

    Example:
        >>> keras.layers.ZeroPadding3D(1)(np.ones((2, 3, 3, 3, 1))).shape
        (2, 5, 5, 5, 1)
    """

    def __init__(
        self,
        padding: Any = ((1, 1), (1, 1), (1, 1)),
        data_format: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.data_format = reshaping_args.standardize_data_format(data_format)
        self.padding = reshaping_args.standardize_pairs(padding, 3, "padding")
        self.input_spec = InputSpec(ndim=5)

    def build(self, input_shape: Any) -> None:
        self.built = True

    def _axes(self) -> tuple[int, ...]:
        return reshaping_args.spatial_axes(3, self.data_format)

    def compute_output_shape(self, input_shape: Any) -> tuple[Any, ...]:
        return reshaping_args.padded_shape(input_shape, self.padding, self._axes())

    def call(self, inputs: Any) -> Any:
        return reshaping_args.pad(inputs, self.padding, self._axes())

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"padding": self.padding, "data_format": self.data_format})
        return config
