"""`UpSampling2D`: enlarges images by repetition or interpolation."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kiln._src.api_export import keras_export
from kiln._src.layers.input_spec import InputSpec
from kiln._src.layers.layer import Layer
from kiln._src.layers.reshaping import reshaping_args

_INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "lanczos3", "lanczos5")


@keras_export("keras.layers.UpSampling2D")
class UpSampling2D(Layer):
    """Scales rows by ``size[0]`` and columns by ``size[1]``.

    With ``interpolation="nearest"`` each pixel is repeated; the other modes
    resize with half-pixel centers (as `keras.ops.image.resize` does).

    Args:
        size: an int or a pair of ints, the factors for rows and columns.
        data_format: ``"channels_last"`` (default: the global image data
            format) or ``"channels_first"``.
        interpolation: one of ``"nearest"``, ``"bilinear"``, ``"bicubic"``,
            ``"lanczos3"``, ``"lanczos5"``.

    Example:
        >>> keras.layers.UpSampling2D((2, 3))(np.ones((1, 2, 2, 1))).shape
        (1, 4, 6, 1)
    """

    def __init__(
        self,
        size: Any = (2, 2),
        data_format: str | None = None,
        interpolation: str = "nearest",
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.data_format = reshaping_args.standardize_data_format(data_format)
        self.size = reshaping_args.standardize_tuple(size, 2, "size")
        if not isinstance(interpolation, str) or (
            interpolation.lower() not in _INTERPOLATIONS
        ):
            raise ValueError(
                f"`interpolation` must be one of {list(_INTERPOLATIONS)}. "
                f"Received: interpolation={interpolation!r}"
            )
        self.interpolation = interpolation.lower()
        self.input_spec = InputSpec(ndim=4)

    def build(self, input_shape: Any) -> None:
        self.built = True

    def compute_output_shape(self, input_shape: Any) -> tuple[Any, ...]:
        shape = list(input_shape)
        for axis, factor in zip(
            reshaping_args.spatial_axes(2, self.data_format), self.size
        ):
            if shape[axis] is not None:
                shape[axis] *= factor
        return tuple(shape)

    def call(self, inputs: Any) -> Any:
        x = inputs
        if self.data_format == "channels_first":
            x = jnp.transpose(x, (0, 2, 3, 1))
        if self.interpolation == "nearest":
            x = jnp.repeat(x, self.size[0], axis=1)
            x = jnp.repeat(x, self.size[1], axis=2)
        else:
            batch, height, width, channels = x.shape
            x = jax.image.resize(
                x,
                (batch, height * self.size[0], width * self.size[1], channels),
                method=self.interpolation,
                antialias=False,
            )
        if self.data_format == "channels_first":
            x = jnp.transpose(x, (0, 3, 1, 2))
        return x

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "size": self.size,
                "data_format": self.data_format,
                "interpolation": self.interpolation,
            }
        )
        return config
