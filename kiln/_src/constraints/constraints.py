"""Constraints: projections applied to a weight after each optimizer step."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kiln._src.api_export import keras_export
from kiln._src.backend import config as backend_config
from kiln._src.backend.variable import convert_to_tensor

Axis = int | tuple[int, ...] | list[int]


def _norms(w: jax.Array, axis: Axis) -> jax.Array:
    axis = tuple(axis) if isinstance(axis, list) else axis
    return jnp.sqrt(jnp.sum(jnp.square(w), axis=axis, keepdims=True))


@keras_export("keras.constraints.Constraint")
class Constraint:
    """Base class of weight constraints.

    A constraint maps a weight to its projected value (clipped, normalized, ...);
    layers take them as `kernel_constraint=` / `bias_constraint=` and apply them
    after each optimizer update. Subclasses implement `__call__(w)` and, when
    they take arguments, `get_config()`.

    Example:

    ```python
    class NonNegative(keras.constraints.Constraint):
        def __call__(self, w):
            return w * keras.ops.cast(keras.ops.greater_equal(w, 0.0), w.dtype)
    ```
    """

    def __call__(self, w: Any) -> Any:
        """Returns the projected weight (the base class returns `w` unchanged).

        Args:
            w: the weight's value.
        """
        return w

    def get_config(self) -> dict[str, Any]:
        """Returns the constructor arguments as a JSON-ready dict."""
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Constraint:
        """Rebuilds a constraint from the output of `get_config()`.

        Args:
            config: a dict, the output of `get_config()`.

        Returns:
            A constraint instance.
        """
        return cls(**config)


@keras_export(["keras.constraints.MaxNorm", "keras.constraints.max_norm"])
class MaxNorm(Constraint):
    """Rescales each weight vector whose L2 norm exceeds `max_value` down to it.

    Args:
        max_value: the largest allowed norm.
        axis: the axis (or axes) along which norms are taken: 0 for a Dense
            kernel `(input_dim, units)` (one vector per unit); `[0, 1, 2]` for a
            Conv2D kernel `(rows, cols, in, out)` (one tensor per filter).

    Example:

    >>> keras.constraints.MaxNorm(1.0)(np.array([[3.0], [4.0]]))  # norm 5
    """

    def __init__(self, max_value: float = 2, axis: Axis = 0):
        self.max_value = max_value
        self.axis = axis

    def __call__(self, w: Any) -> jax.Array:
        w = convert_to_tensor(w)
        norms = _norms(w, self.axis)
        desired = jnp.clip(norms, 0, self.max_value)
        return w.astype(norms.dtype) * (desired / (backend_config.epsilon() + norms))

    def get_config(self) -> dict[str, Any]:
        return {"max_value": self.max_value, "axis": self.axis}


@keras_export(["keras.constraints.NonNeg", "keras.constraints.non_neg"])
class NonNeg(Constraint):
    """Sets negative weights to 0.

    Example:

    >>> keras.constraints.NonNeg()(np.array([-1.0, 2.0]))
    """

    def __call__(self, w: Any) -> jax.Array:
        return jnp.maximum(convert_to_tensor(w), 0)


@keras_export(["keras.constraints.UnitNorm", "keras.constraints.unit_norm"])
class UnitNorm(Constraint):
    """Rescales each weight vector to L2 norm 1.

    Args:
        axis: the axis (or axes) along which norms are taken (see `MaxNorm`).

    Example:

    >>> keras.constraints.UnitNorm()(np.array([[3.0], [4.0]]))
    """

    def __init__(self, axis: Axis = 0):
        self.axis = axis

    def __call__(self, w: Any) -> jax.Array:
        w = convert_to_tensor(w)
        norms = _norms(w, self.axis)
        return w.astype(norms.dtype) / (backend_config.epsilon() + norms)

    def get_config(self) -> dict[str, Any]:
        return {"axis": self.axis}


@keras_export(["keras.constraints.MinMaxNorm", "keras.constraints.min_max_norm"])
class MinMaxNorm(Constraint):
    """Rescales each weight vector so that its L2 norm lies in
    `[min_value, max_value]`.

    With `rate < 1` the norm only moves part of the way at each step: the new
    norm is `rate * clip(norm, min_value, max_value) + (1 - rate) * norm`.

    Args:
        min_value: the smallest allowed norm.
        max_value: the largest allowed norm.
        rate: how strictly to enforce the bounds (1.0: exactly).
        axis: the axis (or axes) along which norms are taken (see `MaxNorm`).

    Example:

    >>> keras.constraints.MinMaxNorm(1.0, 2.0)(np.array([[0.3], [0.4]]))
    """

    def __init__(
        self,
        min_value: float = 0.0,
        max_value: float = 1.0,
        rate: float = 1.0,
        axis: Axis = 0,
    ):
        self.min_value = min_value
        self.max_value = max_value
        self.rate = rate
        self.axis = axis

    def __call__(self, w: Any) -> jax.Array:
        w = convert_to_tensor(w)
        norms = _norms(w, self.axis)
        desired = (
            self.rate * jnp.clip(norms, self.min_value, self.max_value)
            + (1 - self.rate) * norms
        )
        return w.astype(norms.dtype) * (desired / (backend_config.epsilon() + norms))

    def get_config(self) -> dict[str, Any]:
        return {
            "min_value": self.min_value,
            "max_value": self.max_value,
            "rate": self.rate,
            "axis": self.axis,
        }
