"""Initializers that do not draw random numbers: Zeros, Ones, Constant, Identity."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kiln._src.api_export import keras_export
from kiln._src.backend.dtypes import standardize_dtype
from kiln._src.backend.variable import convert_to_tensor
from kiln._src.initializers.initializer import Initializer, standardize_shape
from kiln._src.saving import serialization_lib


@keras_export(["keras.initializers.Zeros", "keras.initializers.zeros"])
class Zeros(Initializer):
    """Fills the array with 0.

    Example:

    >>> keras.initializers.Zeros()(shape=(2, 2))
    """

    def __call__(self, shape: Any, dtype: Any = None) -> jax.Array:
        return jnp.zeros(standardize_shape(shape), dtype=standardize_dtype(dtype))


@keras_export(["keras.initializers.Ones", "keras.initializers.ones"])
class Ones(Initializer):
    """Fills the array with 1.

    Example:

    >>> keras.initializers.Ones()(shape=(2, 2))
    """

    def __call__(self, shape: Any, dtype: Any = None) -> jax.Array:
        return jnp.ones(standardize_shape(shape), dtype=standardize_dtype(dtype))


@keras_export(["keras.initializers.Constant", "keras.initializers.constant"])
class Constant(Initializer):
    """Fills the array with `value`.

    Args:
        value: a Python scalar (or an array that broadcasts to the shape).

    Example:

    >>> keras.initializers.Constant(3.0)(shape=(2, 2))
    """

    def __init__(self, value: Any = 0.0):
        self.value = value

    def __call__(self, shape: Any, dtype: Any = None) -> jax.Array:
        dtype = standardize_dtype(dtype)
        value = convert_to_tensor(self.value).astype(dtype)
        return value * jnp.ones(standardize_shape(shape), dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return {"value": serialization_lib.serialize_keras_object(self.value)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Constant:
        config = dict(config)
        value = serialization_lib.deserialize_keras_object(config.pop("value", 0.0))
        return cls(value, **config)


@keras_export(
    [
        "keras.initializers.Identity",
        "keras.initializers.identity",
        "keras.initializers.IdentityInitializer",
    ]
)
class Identity(Initializer):
    """Fills a 2D array with the identity matrix (ones on the main diagonal).

    Args:
        gain: a factor applied to the identity matrix.

    Example:

    >>> keras.initializers.Identity()(shape=(2, 3))
    """

    def __init__(self, gain: float = 1.0):
        self.gain = gain

    def __call__(self, shape: Any, dtype: Any = None) -> jax.Array:
        shape = standardize_shape(shape)
        if len(shape) != 2:
            raise ValueError(
                "The Identity initializer only makes 2D matrices: use it for a "
                "weight of rank 2 (such as a Dense kernel). "
                f"Received: shape={shape} of rank {len(shape)}."
            )
        dtype = standardize_dtype(dtype)
        return self.gain * jnp.eye(*shape, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        # Keras writes `{}` (it drops `gain`); kiln writes the same for the
        # default gain and keeps any other gain so that it survives a reload.
        if self.gain == 1.0:
            return {}
        return {"gain": self.gain}
