"""`Variable`: a named, mutable holder of one array (a `jax.Array`, maybe sharded).

A variable may be created *lazily*: it keeps its initializer and draws its first
value only when read. Loading a model assigns stored values straight into such
variables, so weights about to be overwritten are never randomly initialized.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kiln._src.api_export import keras_export
from kiln._src.backend import tracking
from kiln._src.backend.dtypes import standardize_dtype
from kiln._src.backend.stateless_scope import get_stateless_scope


def _standardize_shape(shape: Any) -> tuple[int, ...]:
    if shape is None:
        raise ValueError("A variable needs a shape. Received: shape=None")
    shape = tuple(shape)
    for dim in shape:
        if dim is None or not isinstance(dim, int | np.integer) or dim < 0:
            raise ValueError(
                "A variable's shape must contain only non-negative integers "
                f"(no None). Received: shape={shape}"
            )
    return tuple(int(d) for d in shape)


@keras_export(["keras.Variable", "keras.variables.Variable"])
class Variable:
    """A mutable array with a name, a path and a trainable flag.

    Args:
        initializer: an array-like initial value, or a callable
            ``initializer(shape, dtype)`` (then `shape` is required).
        shape: the variable's shape (taken from the value when not given).
        dtype: the dtype name; defaults to the value's dtype or floatx().
        trainable: whether gradients update it in `fit`.
        name: the short name, e.g. ``"kernel"``.
        path: the full path, e.g. ``"dense/kernel"`` (defaults to `name`).

    Example:
        >>> v = Variable(np.ones((2,)), name="v")
        >>> v.assign(v + 1.0)
        >>> v.numpy()
        array([2., 2.], dtype=float32)
    """

    def __init__(
        self,
        initializer: Any,
        shape: Any = None,
        dtype: Any = None,
        trainable: bool = True,
        autocast: bool = True,
        aggregation: str = "none",
        synchronization: str = "auto",
        name: str | None = None,
        path: str | None = None,
    ):
        name = name or "variable"
        if not isinstance(name, str) or "/" in name:
            raise ValueError(
                "A variable's name must be a string without '/'. "
                f"Received: name={name!r}"
            )
        self.name = name
        self.path = path or name
        self._trainable = bool(trainable)
        self.autocast = autocast
        self.aggregation = aggregation
        self.synchronization = synchronization
        self._value: jax.Array | None = None
        self._initializer: Callable[..., Any] | None = None
        if callable(initializer):
            self._shape = _standardize_shape(shape)
            self._dtype = standardize_dtype(dtype)
            self._initializer = initializer
        else:
            value = jnp.asarray(initializer) if dtype is None else None
            self._dtype = standardize_dtype(dtype if dtype is not None else value.dtype)
            value = jnp.asarray(initializer, dtype=self._dtype)
            if shape is not None and tuple(shape) != value.shape:
                raise ValueError(
                    f"Initial value shape {value.shape} does not match the "
                    f"requested shape {tuple(shape)} for variable '{self.path}'."
                )
            self._shape = tuple(value.shape)
            self._value = value

    # -- value access -------------------------------------------------------
    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)
        tracking.bump()

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def dtype(self) -> str:
        return self._dtype

    @property
    def ndim(self) -> int:
        return len(self._shape)

    @property
    def is_initialized(self) -> bool:
        """False while a lazily created variable has not drawn its value."""
        return self._value is not None

    @property
    def value(self) -> jax.Array:
        scope = get_stateless_scope()
        if scope is not None:
            scoped = scope.get_current_value(self)
            if scoped is not None:
                return scoped
            if scope.symbolic and self._value is None:
                # Only shapes are being computed: no need to draw the value.
                return jnp.zeros(self._shape, self._dtype)
        if self._value is None:
            self._materialize()
        return self._value

    def _materialize(self) -> None:
        # Drawn concretely even when first read inside a trace (a symbolic call
        # or a jitted step), so the stored value is never a tracer.
        with jax.ensure_compile_time_eval():
            value = self._initializer(self._shape, self._dtype)
        self._value = self._checked(value)
        self._initializer = None

    def _checked(self, value: Any) -> jax.Array:
        if isinstance(value, Variable):
            value = value.value
        value = jnp.asarray(value, dtype=self._dtype)
        if value.shape != self._shape:
            raise ValueError(
                f"Cannot assign a value of shape {tuple(value.shape)} to variable "
                f"'{self.path}' of shape {self._shape}. Expected shape "
                f"{self._shape}; reshape the value or check which weights you "
                "are loading."
            )
        return value

    def assign(self, value: Any) -> Variable:
        """Sets the value (cast to the variable's dtype; the shape must match)."""
        value = self._checked(value)
        scope = get_stateless_scope()
        if scope is not None:
            scope.add_update(self, value)
            return self
        if self._value is not None and hasattr(self._value, "sharding"):
            sharding = self._value.sharding
            if getattr(value, "sharding", sharding) != sharding:
                value = jax.device_put(value, sharding)
        self._value = value
        self._initializer = None
        return self

    def assign_add(self, value: Any) -> Variable:
        return self.assign(self.value + value)

    def assign_sub(self, value: Any) -> Variable:
        return self.assign(self.value - value)

    def numpy(self) -> np.ndarray:
        return np.asarray(self.value)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        array = np.asarray(self.value)
        return array.astype(dtype) if dtype is not None else array

    def __jax_array__(self) -> jax.Array:
        return self.value

    def __repr__(self) -> str:
        return (
            f"<Variable path={self.path}, shape={self._shape}, dtype={self._dtype}, "
            f"value={np.asarray(self.value) if self.ndim < 2 else '...'}>"
        )

    def __len__(self) -> int:
        return self._shape[0]

    def __bool__(self) -> bool:
        return bool(self.value)

    def __float__(self) -> float:
        return float(self.value)

    def __int__(self) -> int:
        return int(self.value)

    def __hash__(self) -> int:
        return id(self)

    # -- arithmetic: behave like the array they hold ------------------------
    def __getitem__(self, idx):
        return self.value[idx]

    def __neg__(self):
        return -self.value

    def __pos__(self):
        return self.value

    def __abs__(self):
        return jnp.abs(self.value)

    def __add__(self, other):
        return self.value + _unwrap(other)

    def __radd__(self, other):
        return _unwrap(other) + self.value

    def __sub__(self, other):
        return self.value - _unwrap(other)

    def __rsub__(self, other):
        return _unwrap(other) - self.value

    def __mul__(self, other):
        return self.value * _unwrap(other)

    def __rmul__(self, other):
        return _unwrap(other) * self.value

    def __truediv__(self, other):
        return self.value / _unwrap(other)

    def __rtruediv__(self, other):
        return _unwrap(other) / self.value

    def __floordiv__(self, other):
        return self.value // _unwrap(other)

    def __mod__(self, other):
        return self.value % _unwrap(other)

    def __pow__(self, other):
        return self.value ** _unwrap(other)

    def __rpow__(self, other):
        return _unwrap(other) ** self.value

    def __matmul__(self, other):
        return self.value @ _unwrap(other)

    def __rmatmul__(self, other):
        return _unwrap(other) @ self.value

    def __lt__(self, other):
        return self.value < _unwrap(other)

    def __le__(self, other):
        return self.value <= _unwrap(other)

    def __gt__(self, other):
        return self.value > _unwrap(other)

    def __ge__(self, other):
        return self.value >= _unwrap(other)

    # Equality stays identity-based so variables can live in sets and dicts.
    __eq__ = object.__eq__


def _unwrap(x: Any) -> Any:
    return x.value if isinstance(x, Variable) else x


def is_variable(x: Any) -> bool:
    return isinstance(x, Variable)


def convert_to_tensor(x: Any, dtype: Any = None) -> jax.Array:
    """Turns array-likes and variables into a `jax.Array`."""
    if isinstance(x, Variable):
        x = x.value
    if dtype is not None:
        return jnp.asarray(x, dtype=standardize_dtype(dtype))
    return jnp.asarray(x)
