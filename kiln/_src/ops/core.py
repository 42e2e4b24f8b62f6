"""Core ops: conversion, casting, shapes, control flow."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kiln._src.backend.dtypes import standardize_dtype
from kiln._src.backend.keras_tensor import KerasTensor
from kiln._src.backend.variable import Variable
from kiln._src.ops.op_factory import op


def convert_to_tensor(x: Any, dtype: Any = None, sparse: Any = None) -> jax.Array:
    if isinstance(x, Variable):
        x = x.value
    return jnp.asarray(x, dtype=None if dtype is None else standardize_dtype(dtype))


def convert_to_numpy(x: Any) -> np.ndarray:
    return np.asarray(x)


@op("Cast", "core")
def cast(x, dtype):
    return jnp.asarray(x).astype(standardize_dtype(dtype))


def shape(x: Any) -> tuple[Any, ...]:
    if isinstance(x, KerasTensor | Variable):
        return x.shape
    return tuple(jnp.shape(x))


def dtype(x: Any) -> str:
    return standardize_dtype(x.dtype)


def is_tensor(x: Any) -> bool:
    return isinstance(x, jax.Array)


@op("StopGradient", "core")
def stop_gradient(x):
    return jax.lax.stop_gradient(x)


def cond(pred, true_fn, false_fn):
    return jax.lax.cond(pred, true_fn, false_fn)


def while_loop(cond, body, loop_vars, maximum_iterations=None):
    is_tuple = isinstance(loop_vars, list | tuple)
    state = tuple(loop_vars) if is_tuple else (loop_vars,)
    if maximum_iterations is not None:
        state = (0, state)

        def _cond(s):
            return jnp.logical_and(s[0] < maximum_iterations, cond(*s[1]))

        def _body(s):
            out = body(*s[1])
            return s[0] + 1, tuple(out) if is_tuple else (out,)

        result = jax.lax.while_loop(_cond, _body, state)[1]
    else:
        result = jax.lax.while_loop(
            lambda s: cond(*s),
            lambda s: tuple(body(*s)) if is_tuple else (body(*s),),
            state,
        )
    return result if is_tuple else result[0]


def fori_loop(lower, upper, body_fun, init_val):
    return jax.lax.fori_loop(lower, upper, body_fun, init_val)


@op("Slice", "core")
def slice(inputs, start_indices, shape):  # noqa: A001 - Keras's name
    return jax.lax.dynamic_slice(inputs, start_indices, shape)


def vectorized_map(function, elements):
    return jax.vmap(function)(elements)


__all__ = [
    "cast",
    "cond",
    "convert_to_numpy",
    "convert_to_tensor",
    "dtype",
    "fori_loop",
    "is_tensor",
    "shape",
    "slice",
    "stop_gradient",
    "vectorized_map",
    "while_loop",
]
