"""`Cropping3D`: removes borders of the three spatial axes."""

from __future__ import annotations

from typing import Any

from kiln._src.api_export import keras_export
from kiln._src.layers.input_spec import InputSpec
from kiln._src.layers.layer import Layer
from kiln._src.layers.reshaping import reshaping_args


@keras_export("keras.layers.Cropping3D")
class Cropping3D(Layer):
    """Crops the three spatial axes of a 5D input.

    Args:
        cropping: an int (the same on every side), a tuple of 3 ints
            (symmetric amounts per spatial axis), or a tuple of 3 pairs
            ``(before, after)`` per spatial axis.
        data_format: ``"channels_last"`` (default: the global image data
            format) or ``"channels_first"``.

    Example:
        >>> keras.layers.Cropping3D(1)(np.zeros((2, 6, 6, 6, 3))).shape
        (2, 4, 4, 4, 3)
    """

    def __init__(
        self,
        cropping: Any = ((1, 1), (1, 1), (1, 1)),
        data_format: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.data_format = reshaping_args.standardize_data_format(data_format)
        self.cropping = reshaping_args.standardize_pairs(cropping, 3, "cropping")
        self.input_spec = InputSpec(ndim=5)

    def build(self, input_shape: Any) -> None:
        self.built = True

    def _axes(self) -> tuple[int, ...]:
        return reshaping_args.spatial_axes(3, self.data_format)

    def compute_output_shape(self, input_shape: Any) -> tuple[Any, ...]:
        return reshaping_args.cropped_shape(
            input_shape, self.cropping, self._axes(), self.name
        )

    def call(self, inputs: Any) -> Any:
        return reshaping_args.crop(inputs, self.cropping, self._axes(), self.name)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"cropping": self.cropping, "data_format": self.data_format})
        return config
