"""`Cropping1D`: removes entries at both ends of the time axis."""

from __future__ import annotations

from typing import Any

from kiln._src.api_export import keras_export
from kiln._src.layers.input_spec import InputSpec
from kiln._src.layers.layer import Layer
from kiln._src.layers.reshaping import reshaping_args


@keras_export("keras.layers.Cropping1D")
class Cropping1D(Layer):
    """Crops a 3D input ``(batch, axis_to_crop, features)`` along axis 1.

    Args:
        cropping: an int (the same at both ends) or a pair ``(start, end)``:
            how many entries to remove at each end.

    Example:
        >>> keras.layers.Cropping1D((1, 2))(np.zeros((2, 6, 3))).shape
        (2, 3, 3)
    """

    def __init__(self, cropping: Any = (1, 1), **kwargs: Any):
        super().__init__(**kwargs)
        self.cropping = reshaping_args.standardize_tuple(
            cropping, 2, "cropping", allow_zero=True
        )
        self.input_spec = InputSpec(ndim=3)

    def build(self, input_shape: Any) -> None:
        self.built = True

    def compute_output_shape(self, input_shape: Any) -> tuple[Any, ...]:
        return reshaping_args.cropped_shape(
            input_shape, (self.cropping,), (1,), self.name
        )

    def call(self, inputs: Any) -> Any:
        return reshaping_args.crop(inputs, (self.cropping,), (1,), self.name)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["cropping"] = self.cropping
        return config
