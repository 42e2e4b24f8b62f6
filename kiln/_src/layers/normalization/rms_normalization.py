"""`RMSNormalization`: divides each sample by its root mean square."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kiln._src.api_export import keras_export
from kiln._src.layers.layer import Layer
from kiln._src.layers.normalization.axes import (
    check_axes,
    check_known,
    standardize_axis,
)


@keras_export("keras.layers.RMSNormalization")
class RMSNormalization(Layer):
    """``x / sqrt(mean(x ** 2) + epsilon) * scale`` over `axis`, with a learned
    per-feature `scale` (initialized to ones).

    Args:
        axis: the axis or list of axes to normalize over (default: the last).
        epsilon: small float added to the mean square.

    Example:
        >>> layer = keras.layers.RMSNormalization()
        >>> layer(np.array([[1.0, 1.0]]))
        Array([[0.9999995, 0.9999995]], dtype=float32)
    """

    def __init__(
        self, axis: int | list[int] = -1, epsilon: float = 1e-6, **kwargs: Any
    ):
        super().__init__(**kwargs)
        self.axis = standardize_axis(axis, "RMSNormalization")
        self.epsilon = epsilon

    def build(self, input_shape: Any) -> None:
        check_axes(self.axis, input_shape, "RMSNormalization")
        self.axis = sorted(self.axis) if isinstance(self.axis, list) else [self.axis]
        check_known(self.axis, input_shape, "RMSNormalization")
        shape = tuple(input_shape[a] for a in self.axis)
        self.scale = self.add_weight(name="scale", shape=shape, initializer="ones")
        self.built = True

    def call(self, inputs: Any) -> Any:
        input_dtype = inputs.dtype
        x = inputs.astype(jnp.promote_types(input_dtype, jnp.float32))
        if x.ndim == 0:
            x = jnp.expand_dims(x, 0)
        mean_square = jnp.mean(jnp.square(x), axis=tuple(self.axis), keepdims=True)
        outputs = x * jax.lax.rsqrt(mean_square + self.epsilon)
        outputs = outputs * jnp.asarray(self.scale.value, x.dtype)
        return outputs.astype(input_dtype)

    def compute_output_shape(self, input_shape: Any) -> Any:
        check_axes(self.axis, input_shape, "RMSNormalization")
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"axis": self.axis, "epsilon": self.epsilon})
        return config
