"""Dtype names as Keras writes them ("float32", "int32", ...)."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from kiln._src.backend import config

_ALIASES = {
    "float": None,  # resolved to floatx() at call time
    "int": "int32",
    "double": "float64",
    "half": "float16",
    "bool_": "bool",
}


def standardize_dtype(dtype: Any) -> str:
    """Returns the canonical string name of ``dtype``; None means floatx()."""
    if dtype is None:
        return config.floatx()
    if hasattr(dtype, "name") and isinstance(dtype.name, str):
        name = dtype.name
    elif isinstance(dtype, str):
        name = dtype
    else:
        try:
            name = np.dtype(dtype).name
        except TypeError:
            name = jnp.dtype(dtype).name
    if name in _ALIASES:
        alias = _ALIASES[name]
        return config.floatx() if alias is None else alias
    try:
        jnp.dtype(name)
    except TypeError as error:
        raise ValueError(
            f"Invalid dtype: expected a NumPy/JAX dtype name such as 'float32'. "
            f"Received: dtype={dtype!r}"
        ) from error
    return name


def is_float_dtype(dtype: Any) -> bool:
    return jnp.issubdtype(jnp.dtype(standardize_dtype(dtype)), jnp.floating)
