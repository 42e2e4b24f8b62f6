"""Regularizers: penalties on weights (or activations) added to the loss."""

from __future__ import annotations

import math
import numbers
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kiln._src.api_export import keras_export
from kiln._src.backend import config as backend_config
from kiln._src.backend.variable import convert_to_tensor


def validate_float_arg(value: Any, name: str) -> float:
    """Returns `value` as a float; raises ValueError unless finite and >= 0."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or math.isinf(value)
        or math.isnan(value)
        or value < 0
    ):
        raise ValueError(
            f"Invalid value for argument {name}: expected a non-negative, finite "
            f"float. Received: {name}={value!r}"
        )
    return float(value)


def _as_float32(value: float) -> float:
    # Keras keeps this factor as a float32 tensor and writes it back with
    # float(): a config holds the float32-rounded value.
    return float(np.float32(value))


@keras_export(["keras.Regularizer", "keras.regularizers.Regularizer"])
class Regularizer:
    """Base class of regularizers.

    A regularizer maps a tensor (a weight, or a layer's output for an activity
    regularizer) to a scalar penalty that is added to the loss. Subclasses
    implement `__call__(x)` and, to be saved, `get_config()`.

    Example:

    ```python
    class L2Sum(keras.regularizers.Regularizer):
        def __init__(self, l2=0.01):
            self.l2 = l2

        def __call__(self, x):
            return self.l2 * keras.ops.sum(keras.ops.square(x))

        def get_config(self):
            return {"l2": float(self.l2)}
    ```
    """

    def __call__(self, x: Any) -> Any:
        """Returns the scalar penalty for `x` (0.0 for the base class)."""
        return 0.0

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Regularizer:
        """Rebuilds a regularizer from the output of `get_config()`.

        Args:
            config: a dict, the output of `get_config()`.

        Returns:
            A regularizer instance.
        """
        return cls(**config)

    def get_config(self) -> dict[str, Any]:
        """Returns the constructor arguments as a JSON-ready dict."""
        raise NotImplementedError(
            f"{type(self).__name__} does not implement get_config(): return its "
            "constructor arguments from `get_config()` so it can be saved."
        )


@keras_export(["keras.regularizers.L1L2", "keras.regularizers.l1_l2"])
class L1L2(Regularizer):
    """Penalty `l1 * sum(|x|) + l2 * sum(x**2)`.

    Args:
        l1: the L1 factor (None means 0).
        l2: the L2 factor (None means 0).

    Example:

    >>> keras.regularizers.L1L2(l1=0.1, l2=0.5)(np.array([1.0, -2.0]))
    2.8
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1 = validate_float_arg(0.0 if l1 is None else l1, name="l1")
        self.l2 = validate_float_arg(0.0 if l2 is None else l2, name="l2")

    def __call__(self, x: Any) -> jax.Array:
        x = convert_to_tensor(x)
        penalty = jnp.asarray(0.0, dtype=x.dtype)
        if self.l1 != 0.0:
            penalty += jnp.asarray(self.l1, dtype=x.dtype) * jnp.sum(jnp.abs(x))
        if self.l2 != 0.0:
            penalty += jnp.asarray(self.l2, dtype=x.dtype) * jnp.sum(jnp.square(x))
        return penalty

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1, "l2": self.l2}


@keras_export(["keras.regularizers.L1", "keras.regularizers.l1"])
class L1(Regularizer):
    """Penalty `l1 * sum(|x|)`.

    Args:
        l1: the L1 factor (None means 0.01). It is kept as a float32, as in
            Keras, so `get_config()` returns the float32-rounded value.

    Example:

    >>> keras.regularizers.L1(0.5)(np.array([1.0, -2.0]))
    1.5
    """

    def __init__(self, l1: float = 0.01):
        self.l1 = _as_float32(validate_float_arg(0.01 if l1 is None else l1, "l1"))

    def __call__(self, x: Any) -> jax.Array:
        x = convert_to_tensor(x)
        return jnp.asarray(self.l1, dtype=x.dtype) * jnp.sum(jnp.abs(x))

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1}


@keras_export(["keras.regularizers.L2", "keras.regularizers.l2"])
class L2(Regularizer):
    """Penalty `l2 * sum(x**2)`.

    Args:
        l2: the L2 factor (None means 0.01).

    Example:

    >>> keras.regularizers.L2(0.5)(np.array([1.0, -2.0]))
    2.5
    """

    def __init__(self, l2: float = 0.01):
        self.l2 = validate_float_arg(0.01 if l2 is None else l2, name="l2")

    def __call__(self, x: Any) -> jax.Array:
        x = convert_to_tensor(x)
        return jnp.asarray(self.l2, dtype=x.dtype) * jnp.sum(jnp.square(x))

    def get_config(self) -> dict[str, Any]:
        return {"l2": self.l2}


@keras_export(
    [
        "keras.regularizers.OrthogonalRegularizer",
        "keras.regularizers.orthogonal_regularizer",
    ]
)
class OrthogonalRegularizer(Regularizer):
    """Pushes the rows (or columns) of a 2D weight towards being orthogonal.

    The rows (`mode="rows"`) or columns (`mode="columns"`) are L2-normalized;
    the penalty is `factor * 0.5 * sum(|u_i . u_j|) / (n * (n - 1) / 2)` over
    the `n * (n - 1)` ordered pairs `i != j`, i.e. `factor` times the mean
    absolute cosine between distinct vectors.

    Args:
        factor: the regularization factor (kept as a float32, as in Keras).
        mode: `"rows"` or `"columns"`.

    Example:

    >>> keras.regularizers.OrthogonalRegularizer(1.0)(np.eye(3))
    0.0
    """

    def __init__(self, factor: float = 0.01, mode: str = "rows"):
        self.factor = _as_float32(validate_float_arg(factor, name="factor"))
        if mode not in ("rows", "columns"):
            raise ValueError(
                "Invalid value for argument `mode`: expected one of "
                f"{{'rows', 'columns'}}. Received: mode={mode!r}"
            )
        self.mode = mode

    def __call__(self, inputs: Any) -> jax.Array:
        x = convert_to_tensor(inputs)
        if x.ndim != 2:
            raise ValueError(
                "OrthogonalRegularizer applies to 2D weights (such as a Dense "
                f"kernel). Received: inputs.shape={tuple(x.shape)}"
            )
        axis = 1 if self.mode == "rows" else 0
        # L2 normalization as Keras computes it: x * min(rsqrt(sum x^2), 1/eps).
        inv_norm = jax.lax.rsqrt(jnp.sum(jnp.square(x), axis=axis, keepdims=True))
        x = x * jnp.minimum(inv_norm, 1.0 / backend_config.epsilon())
        product = x @ x.T if self.mode == "rows" else x.T @ x
        size = product.shape[0]
        off_diagonal = product * (1.0 - jnp.eye(size, dtype=x.dtype))
        num_pairs = size * (size - 1.0) / 2.0
        return self.factor * 0.5 * jnp.sum(jnp.abs(off_diagonal)) / num_pairs

    def get_config(self) -> dict[str, Any]:
        return {"factor": self.factor, "mode": self.mode}
