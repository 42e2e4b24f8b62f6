"""`UnitNormalization`: scales each sample to unit L2 norm."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kiln._src.api_export import keras_export
from kiln._src.layers.layer import Layer
from kiln._src.layers.normalization.axes import check_axes, standardize_axis

# The norm's lower bound: inputs with a smaller norm are scaled by 1 / 1e-12.
_MIN_NORM = 1e-12


@keras_export("keras.layers.UnitNormalization")
class UnitNormalization(Layer):
    """Divides each sample by its L2 norm over `axis`, so that
    ``sum(x ** 2) == 1`` along those axes.

    Args:
        axis: the axis or list of axes to normalize over (default: the last).

    Example:
        >>> layer = keras.layers.UnitNormalization()
        >>> layer(np.array([[3.0, 4.0]]))
        Array([[0.6, 0.8]], dtype=float32)
    """

    def __init__(self, axis: int | list[int] = -1, **kwargs: Any):
        super().__init__(**kwargs)
        self.axis = standardize_axis(axis, "UnitNormalization")
        self.supports_masking = True

    def call(self, inputs: Any) -> Any:
        x = jnp.asarray(inputs)
        if x.ndim == 0:
            x = jnp.expand_dims(x, 0)
        axis = tuple(self.axis) if isinstance(self.axis, list) else self.axis
        squares = jnp.sum(jnp.square(x), axis=axis, keepdims=True)
        inv_norm = jnp.minimum(jax.lax.rsqrt(squares), 1.0 / _MIN_NORM)
        return x * inv_norm

    def compute_output_shape(self, input_shape: Any) -> Any:
        check_axes(self.axis, input_shape, "UnitNormalization")
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["axis"] = self.axis
        return config
