"""NumPy-like ops (``kiln.ops.add``, ``kiln.ops.matmul``, ...) over jax.numpy.

Each accepts arrays, `Variable`s and, to build Functional graphs, `KerasTensor`s.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from kiln._src.backend.dtypes import standardize_dtype
from kiln._src.ops.op_factory import op


def _dtype(dtype: Any) -> Any:
    return None if dtype is None else standardize_dtype(dtype)


@op("Add", "numpy")
def add(x1, x2):
    return jnp.add(x1, x2)


@op("Subtract", "numpy")
def subtract(x1, x2):
    return jnp.subtract(x1, x2)


@op("Multiply", "numpy")
def multiply(x1, x2):
    return jnp.multiply(x1, x2)


@op("Divide", "numpy")
def divide(x1, x2):
    return jnp.true_divide(x1, x2)


@op("TrueDivide", "numpy")
def true_divide(x1, x2):
    return jnp.true_divide(x1, x2)


@op("FloorDivide", "numpy")
def floor_divide(x1, x2):
    return jnp.floor_divide(x1, x2)


@op("Mod", "numpy")
def mod(x1, x2):
    return jnp.mod(x1, x2)


@op("Power", "numpy")
def power(x1, x2):
    return jnp.power(x1, x2)


@op("Negative", "numpy")
def negative(x):
    return jnp.negative(x)


@op("Matmul", "numpy")
def matmul(x1, x2):
    return jnp.matmul(x1, x2)


@op("Dot", "numpy")
def dot(x1, x2):
    return jnp.dot(x1, x2)


@op("Tensordot", "numpy")
def tensordot(x1, x2, axes=2):
    return jnp.tensordot(x1, x2, axes=axes)


@op("Einsum", "numpy")
def einsum(subscripts, *operands):
    return jnp.einsum(subscripts, *operands)


@op("Abs", "numpy")
def abs(x):  # noqa: A001 - Keras's name
    return jnp.abs(x)


absolute = abs


@op("Sign", "numpy")
def sign(x):
    return jnp.sign(x)


@op("Sqrt", "numpy")
def sqrt(x):
    return jnp.sqrt(x)


@op("Square", "numpy")
def square(x):
    return jnp.square(x)


@op("Exp", "numpy")
def exp(x):
    return jnp.exp(x)


@op("Log", "numpy")
def log(x):
    return jnp.log(x)


@op("Log1p", "numpy")
def log1p(x):
    return jnp.log1p(x)


@op("Expm1", "numpy")
def expm1(x):
    return jnp.expm1(x)


@op("Tanh", "numpy")
def tanh(x):
    return jnp.tanh(x)


@op("Sin", "numpy")
def sin(x):
    return jnp.sin(x)


@op("Cos", "numpy")
def cos(x):
    return jnp.cos(x)


@op("Floor", "numpy")
def floor(x):
    return jnp.floor(x)


@op("Ceil", "numpy")
def ceil(x):
    return jnp.ceil(x)


@op("Round", "numpy")
def round(x, decimals=0):  # noqa: A001 - Keras's name
    return jnp.round(x, decimals)


@op("Maximum", "numpy")
def maximum(x1, x2):
    return jnp.maximum(x1, x2)


@op("Minimum", "numpy")
def minimum(x1, x2):
    return jnp.minimum(x1, x2)


@op("Clip", "numpy")
def clip(x, x_min, x_max):
    return jnp.clip(x, x_min, x_max)


@op("Sum", "numpy")
def sum(x, axis=None, keepdims=False):  # noqa: A001 - Keras's name
    return jnp.sum(x, axis=_axis(axis), keepdims=keepdims)


@op("Mean", "numpy")
def mean(x, axis=None, keepdims=False):
    return jnp.mean(x, axis=_axis(axis), keepdims=keepdims)


@op("Max", "numpy")
def max(x, axis=None, keepdims=False, initial=None):  # noqa: A001 - Keras's name
    return jnp.max(x, axis=_axis(axis), keepdims=keepdims, initial=initial)


@op("Min", "numpy")
def min(x, axis=None, keepdims=False, initial=None):  # noqa: A001 - Keras's name
    return jnp.min(x, axis=_axis(axis), keepdims=keepdims, initial=initial)


@op("Prod", "numpy")
def prod(x, axis=None, keepdims=False, dtype=None):
    return jnp.prod(x, axis=_axis(axis), keepdims=keepdims, dtype=_dtype(dtype))


@op("Std", "numpy")
def std(x, axis=None, keepdims=False):
    return jnp.std(x, axis=_axis(axis), keepdims=keepdims)


@op("Var", "numpy")
def var(x, axis=None, keepdims=False):
    return jnp.var(x, axis=_axis(axis), keepdims=keepdims)


@op("All", "numpy")
def all(x, axis=None, keepdims=False):  # noqa: A001 - Keras's name
    return jnp.all(x, axis=_axis(axis), keepdims=keepdims)


@op("Any", "numpy")
def any(x, axis=None, keepdims=False):  # noqa: A001 - Keras's name
    return jnp.any(x, axis=_axis(axis), keepdims=keepdims)


@op("Argmax", "numpy")
def argmax(x, axis=None, keepdims=False):
    return jnp.argmax(x, axis=axis, keepdims=keepdims)


@op("Argmin", "numpy")
def argmin(x, axis=None, keepdims=False):
    return jnp.argmin(x, axis=axis, keepdims=keepdims)


@op("Cumsum", "numpy")
def cumsum(x, axis=None, dtype=None):
    return jnp.cumsum(x, axis=axis, dtype=_dtype(dtype))


@op("Equal", "numpy")
def equal(x1, x2):
    return jnp.equal(x1, x2)


@op("NotEqual", "numpy")
def not_equal(x1, x2):
    return jnp.not_equal(x1, x2)


@op("Greater", "numpy")
def greater(x1, x2):
    return jnp.greater(x1, x2)


@op("GreaterEqual", "numpy")
def greater_equal(x1, x2):
    return jnp.greater_equal(x1, x2)


@op("Less", "numpy")
def less(x1, x2):
    return jnp.less(x1, x2)


@op("LessEqual", "numpy")
def less_equal(x1, x2):
    return jnp.less_equal(x1, x2)


@op("LogicalAnd", "numpy")
def logical_and(x1, x2):
    return jnp.logical_and(x1, x2)


@op("LogicalOr", "numpy")
def logical_or(x1, x2):
    return jnp.logical_or(x1, x2)


@op("LogicalNot", "numpy")
def logical_not(x):
    return jnp.logical_not(x)


@op("Where", "numpy")
def where(condition, x1=None, x2=None):
    if x1 is None and x2 is None:
        return jnp.nonzero(condition)
    return jnp.where(condition, x1, x2)


@op("Reshape", "numpy")
def reshape(x, newshape):
    return jnp.reshape(x, newshape)


@op("Transpose", "numpy")
def transpose(x, axes=None):
    return jnp.transpose(x, axes)


@op("ExpandDims", "numpy")
def expand_dims(x, axis):
    return jnp.expand_dims(x, axis)


@op("Squeeze", "numpy")
def squeeze(x, axis=None):
    return jnp.squeeze(x, axis=axis)


@op("Concatenate", "numpy")
def concatenate(xs, axis=0):
    return jnp.concatenate(xs, axis=axis)


@op("Stack", "numpy")
def stack(x, axis=0):
    return jnp.stack(x, axis=axis)


@op("Split", "numpy")
def split(x, indices_or_sections, axis=0):
    return jnp.split(x, indices_or_sections, axis=axis)


@op("Tile", "numpy")
def tile(x, repeats):
    return jnp.tile(x, repeats)


@op("Repeat", "numpy")
def repeat(x, repeats, axis=None):
    return jnp.repeat(x, repeats, axis=axis)


@op("Take", "numpy")
def take(x, indices, axis=None):
    return jnp.take(x, indices, axis=axis)


@op("TakeAlongAxis", "numpy")
def take_along_axis(x, indices, axis=None):
    return jnp.take_along_axis(x, indices, axis=axis)


@op("Flip", "numpy")
def flip(x, axis=None):
    return jnp.flip(x, axis=axis)


@op("Pad", "numpy")
def pad(x, pad_width, mode="constant", constant_values=None):
    if constant_values is None:
        return jnp.pad(x, pad_width, mode=mode)
    return jnp.pad(x, pad_width, mode=mode, constant_values=constant_values)


@op("Norm", "numpy")
def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002 - Keras's name
    return jnp.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)


@op("Outer", "numpy")
def outer(x1, x2):
    return jnp.outer(x1, x2)


@op("Diag", "numpy")
def diag(x, k=0):
    return jnp.diag(x, k=k)


@op("Eye", "numpy")
def eye(N, M=None, k=0, dtype=None):  # noqa: N803 - Keras's name
    return jnp.eye(N, M, k=k, dtype=_dtype(dtype))


@op("Arange", "numpy")
def arange(start, stop=None, step=1, dtype=None):
    return jnp.arange(start, stop, step, dtype=_dtype(dtype) if dtype else None)


def zeros(shape, dtype=None):
    return jnp.zeros(shape, dtype=_dtype(dtype))


def ones(shape, dtype=None):
    return jnp.ones(shape, dtype=_dtype(dtype))


def full(shape, fill_value, dtype=None):
    return jnp.full(shape, fill_value, dtype=_dtype(dtype))


@op("ZerosLike", "numpy")
def zeros_like(x, dtype=None):
    return jnp.zeros_like(x, dtype=_dtype(dtype))


@op("OnesLike", "numpy")
def ones_like(x, dtype=None):
    return jnp.ones_like(x, dtype=_dtype(dtype))


@op("Isnan", "numpy")
def isnan(x):
    return jnp.isnan(x)


@op("Isfinite", "numpy")
def isfinite(x):
    return jnp.isfinite(x)


@op("Reciprocal", "numpy")
def reciprocal(x):
    return jnp.reciprocal(x)


@op("Sort", "numpy")
def sort(x, axis=-1):
    return jnp.sort(x, axis=axis)


@op("Argsort", "numpy")
def argsort(x, axis=-1):
    return jnp.argsort(x, axis=axis)


def array(x, dtype=None):
    return jnp.array(x, dtype=_dtype(dtype))


def size(x):
    return jnp.size(x)


def ndim(x):
    return jnp.ndim(x)


def _axis(axis: Any) -> Any:
    return tuple(axis) if isinstance(axis, list) else axis


__all__ = [
    "abs",
    "absolute",
    "add",
    "all",
    "any",
    "arange",
    "argmax",
    "argmin",
    "argsort",
    "array",
    "ceil",
    "clip",
    "concatenate",
    "cos",
    "cumsum",
    "diag",
    "divide",
    "dot",
    "einsum",
    "equal",
    "exp",
    "expand_dims",
    "expm1",
    "eye",
    "flip",
    "floor",
    "floor_divide",
    "full",
    "greater",
    "greater_equal",
    "isfinite",
    "isnan",
    "less",
    "less_equal",
    "log",
    "log1p",
    "logical_and",
    "logical_not",
    "logical_or",
    "matmul",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "mod",
    "multiply",
    "ndim",
    "negative",
    "norm",
    "not_equal",
    "ones",
    "ones_like",
    "outer",
    "pad",
    "power",
    "prod",
    "reciprocal",
    "repeat",
    "reshape",
    "round",
    "sign",
    "sin",
    "size",
    "sort",
    "split",
    "sqrt",
    "square",
    "squeeze",
    "stack",
    "std",
    "subtract",
    "sum",
    "take",
    "take_along_axis",
    "tanh",
    "tensordot",
    "tile",
    "transpose",
    "true_divide",
    "var",
    "where",
    "zeros",
    "zeros_like",
]
