"""`UpSampling3D`: repeats voxels along the three spatial axes."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from kiln._src.api_export import keras_export
from kiln._src.layers.input_spec import InputSpec
from kiln._src.layers.layer import Layer
from kiln._src.layers.reshaping import reshaping_args


@keras_export("keras.layers.UpSampling3D")
class UpSampling3D(Layer):
    """Repeats each voxel ``size[0]``, ``size[1]``, ``size[2]`` times along the
    three spatial axes.

    Args:
        size: an int or a tuple of 3 ints, the upsampling factors.
        data_format: ``"channels_last"`` (default: the global image data
            format) or ``"channels_first"``.

    Example:
        >>> keras.layers.UpSampling3D(2)(np.ones((1, 2, 2, 2, 3))).shape
        (1, 4, 4, 4, 3)
    """

    def __init__(
        self, size: Any = (2, 2, 2), data_format: str | None = None, **kwargs: Any
    ):
        super().__init__(**kwargs)
        self.data_format = reshaping_args.standardize_data_format(data_format)
        self.size = reshaping_args.standardize_tuple(size, 3, "size")
        self.input_spec = InputSpec(ndim=5)

    def build(self, input_shape: Any) -> None:
        self.built = True

    def compute_output_shape(self, input_shape: Any) -> tuple[Any, ...]:
        shape = list(input_shape)
        for axis, factor in zip(
            reshaping_args.spatial_axes(3, self.data_format), self.size
        ):
            if shape[axis] is not None:
                shape[axis] *= factor
        return tuple(shape)

    def call(self, inputs: Any) -> Any:
        x = inputs
        for axis, factor in zip(
            reshaping_args.spatial_axes(3, self.data_format), self.size
        ):
            x = jnp.repeat(x, factor, axis=axis)
        return x

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"size": self.size, "data_format": self.data_format})
        return config
