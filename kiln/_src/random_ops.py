"""`kiln.random`: random draws with Keras's signatures (seed: int, None or a
`SeedGenerator`)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kiln._src.backend.dtypes import standardize_dtype
from kiln._src.backend.random import draw_seed


def normal(
    shape: Any,
    mean: float = 0.0,
    stddev: float = 1.0,
    dtype: Any = None,
    seed: Any = None,
) -> jax.Array:
    sample = jax.random.normal(draw_seed(seed), tuple(shape), standardize_dtype(dtype))
    return sample * stddev + mean


def uniform(
    shape: Any,
    minval: float = 0.0,
    maxval: float = 1.0,
    dtype: Any = None,
    seed: Any = None,
) -> jax.Array:
    return jax.random.uniform(
        draw_seed(seed), tuple(shape), standardize_dtype(dtype), minval, maxval
    )


def truncated_normal(
    shape: Any,
    mean: float = 0.0,
    stddev: float = 1.0,
    dtype: Any = None,
    seed: Any = None,
) -> jax.Array:
    sample = jax.random.truncated_normal(
        draw_seed(seed), -2.0, 2.0, tuple(shape), standardize_dtype(dtype)
    )
    return sample * stddev + mean


def randint(
    shape: Any, minval: int, maxval: int, dtype: Any = "int32", seed: Any = None
) -> jax.Array:
    return jax.random.randint(
        draw_seed(seed), tuple(shape), minval, maxval, standardize_dtype(dtype)
    )


def dropout(
    inputs: Any, rate: float, noise_shape: Any = None, seed: Any = None
) -> jax.Array:
    inputs = jnp.asarray(inputs)
    shape = inputs.shape if noise_shape is None else tuple(noise_shape)
    keep = jax.random.bernoulli(draw_seed(seed), 1.0 - rate, shape)
    return jnp.where(keep, inputs / (1.0 - rate), 0.0)


def shuffle(x: Any, axis: int = 0, seed: Any = None) -> jax.Array:
    return jax.random.permutation(
        draw_seed(seed), jnp.asarray(x), axis=axis, independent=False
    )


def categorical(
    logits: Any, num_samples: int, dtype: Any = "int32", seed: Any = None
) -> jax.Array:
    logits = jnp.asarray(logits)
    samples = jax.random.categorical(
        draw_seed(seed),
        logits[..., None, :],
        axis=-1,
        shape=(*logits.shape[:-1], num_samples),
    )
    return samples.astype(standardize_dtype(dtype))
