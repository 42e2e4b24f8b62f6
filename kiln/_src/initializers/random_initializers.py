"""Initializers that draw random numbers: normal, truncated normal, uniform,
orthogonal, and the seed handling they share."""

from __future__ import annotations

import random as python_random
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kiln._src.api_export import keras_export
from kiln._src.backend import random as kiln_random
from kiln._src.backend.dtypes import is_float_dtype, standardize_dtype
from kiln._src.initializers.initializer import Initializer, standardize_shape
from kiln._src.saving import serialization_lib


def float_dtype(dtype: Any, owner: str) -> str:
    dtype = standardize_dtype(dtype)
    if not is_float_dtype(dtype):
        raise ValueError(
            f"{owner} draws floating-point values: pass a float dtype such as "
            f"'float32' (or None for floatx()). Received: dtype={dtype!r}"
        )
    return dtype


class RandomInitializer(Initializer):
    """Base of the random initializers: keeps the seed and writes it back.

    Args:
        seed: an int, a `keras.random.SeedGenerator`, or None. An int (and
            None, which picks an int once, at construction, from Python's
            `random` module) gives the same values on every call; a
            `SeedGenerator` gives new values on each call.
    """

    def __init__(self, seed: Any = None):
        self._init_seed = seed
        if seed is None:
            seed = python_random.randint(1, int(1e9))
        elif isinstance(seed, dict):
            seed = serialization_lib.deserialize_keras_object(seed)
        if isinstance(seed, bool) or not isinstance(
            seed, int | np.integer | kiln_random.SeedGenerator
        ):
            raise ValueError(
                "`seed` must be an integer, a `keras.random.SeedGenerator`, or "
                f"None. Received: seed={self._init_seed!r}"
            )
        self.seed = int(seed) if isinstance(seed, np.integer) else seed

    def _key(self) -> jax.Array:
        return kiln_random.draw_seed(self.seed)

    def get_config(self) -> dict[str, Any]:
        return {"seed": serialization_lib.serialize_keras_object(self._init_seed)}


@keras_export(["keras.initializers.RandomNormal", "keras.initializers.random_normal"])
class RandomNormal(RandomInitializer):
    """Draws from a normal distribution `N(mean, stddev**2)`.

    Args:
        mean: the mean of the distribution.
        stddev: the standard deviation of the distribution.
        seed: an int, a `keras.random.SeedGenerator`, or None (see
            `RandomInitializer`).

    Example:

    >>> init = keras.initializers.RandomNormal(mean=0.0, stddev=1.0, seed=1)
    >>> values = init(shape=(2, 2))
    """

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: Any = None):
        self.mean = mean
        self.stddev = stddev
        super().__init__(seed=seed)

    def __call__(self, shape: Any, dtype: Any = None) -> jax.Array:
        dtype = float_dtype(dtype, "RandomNormal")
        sample = jax.random.normal(self._key(), standardize_shape(shape), dtype)
        return sample * self.stddev + self.mean

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


@keras_export(
    ["keras.initializers.TruncatedNormal", "keras.initializers.truncated_normal"]
)
class TruncatedNormal(RandomInitializer):
    """Draws from a normal distribution cut at two standard deviations.

    Values are `mean + stddev * z` with `z` a standard normal sample restricted
    to `[-2, 2]` (so the actual standard deviation is about `0.88 * stddev`).

    Args:
        mean: the mean of the distribution.
        stddev: the standard deviation before truncation.
        seed: an int, a `keras.random.SeedGenerator`, or None.

    Example:

    >>> init = keras.initializers.TruncatedNormal(mean=0.0, stddev=1.0, seed=1)
    >>> values = init(shape=(2, 2))
    """

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: Any = None):
        self.mean = mean
        self.stddev = stddev
        super().__init__(seed=seed)

    def __call__(self, shape: Any, dtype: Any = None) -> jax.Array:
        dtype = float_dtype(dtype, "TruncatedNormal")
        sample = jax.random.truncated_normal(
            self._key(), -2.0, 2.0, standardize_shape(shape), dtype
        )
        return sample * self.stddev + self.mean

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


@keras_export(["keras.initializers.RandomUniform", "keras.initializers.random_uniform"])
class RandomUniform(RandomInitializer):
    """Draws uniformly from `[minval, maxval)`.

    Args:
        minval: the lower bound (included).
        maxval: the upper bound (excluded).
        seed: an int, a `keras.random.SeedGenerator`, or None.

    Example:

    >>> init = keras.initializers.RandomUniform(minval=0.0, maxval=1.0, seed=1)
    >>> values = init(shape=(2, 2))
    """

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: Any = None):
        self.minval = minval
        self.maxval = maxval
        super().__init__(seed=seed)

    def __call__(self, shape: Any, dtype: Any = None) -> jax.Array:
        dtype = float_dtype(dtype, "RandomUniform")
        return jax.random.uniform(
            self._key(),
            standardize_shape(shape),
            dtype,
            minval=self.minval,
            maxval=self.maxval,
        )

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "minval": self.minval, "maxval": self.maxval}


@keras_export(
    [
        "keras.initializers.Orthogonal",
        "keras.initializers.orthogonal",
        "keras.initializers.OrthogonalInitializer",
    ]
)
class Orthogonal(RandomInitializer):
    """Makes an orthogonal matrix (times `gain`), from the QR decomposition of a
    standard normal sample.

    A weight of rank > 2 is treated as a matrix of shape
    `(prod(shape[:-1]), shape[-1])`, then reshaped. With fewer rows than columns
    the rows are orthonormal; otherwise the columns are.

    Args:
        gain: a factor applied to the orthogonal matrix.
        seed: an int, a `keras.random.SeedGenerator`, or None.

    Example:

    >>> init = keras.initializers.Orthogonal(seed=1)
    >>> values = init(shape=(3, 3))

    Reference:
        Saxe et al., 2014, https://openreview.net/forum?id=_wzZwKpTDF_9C
    """

    def __init__(self, gain: float = 1.0, seed: Any = None):
        self.gain = gain
        super().__init__(seed=seed)

    def __call__(self, shape: Any, dtype: Any = None) -> jax.Array:
        shape = standardize_shape(shape)
        if len(shape) < 2:
            raise ValueError(
                "The Orthogonal initializer needs a weight of rank 2 or more. "
                f"Received: shape={shape} of rank {len(shape)}."
            )
        dtype = float_dtype(dtype, "Orthogonal")
        num_rows = int(np.prod(shape[:-1]))
        num_cols = shape[-1]
        flat_shape = (max(num_rows, num_cols), min(num_rows, num_cols))
        sample = jax.random.normal(self._key(), flat_shape, dtype) * 1.0 + 0.0
        q, r = jnp.linalg.qr(sample, mode="reduced")
        # Fixing the signs with diag(r) makes the result uniformly distributed.
        q = q * jnp.sign(jnp.diag(r))
        if num_rows < num_cols:
            q = q.T
        return self.gain * jnp.reshape(q, shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "gain": self.gain}
