"""`Metric`: state variables plus `update_state` / `result` / `reset_state`.

Subclasses are written imperatively (`self.total.assign(...)`); the stateless
methods run that same code inside a `StatelessScope`, so the jitted train step
can update metrics as a pure function of their variables' values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

from kiln._src.api_export import keras_export
from kiln._src.backend.stateless_scope import StatelessScope
from kiln._src.backend.variable import Variable
from kiln._src.losses.loss import resolve_dtype
from kiln._src.utils.naming import auto_name


def _zeros(shape: tuple[int, ...], dtype: Any = None) -> jax.Array:
    return jnp.zeros(shape, dtype=dtype)


def _ones(shape: tuple[int, ...], dtype: Any = None) -> jax.Array:
    return jnp.ones(shape, dtype=dtype)


_BASIC_INITIALIZERS = {"zeros": _zeros, "Zeros": _zeros, "ones": _ones, "Ones": _ones}


def _resolve_initializer(initializer: Any) -> Any:
    """A callable ``(shape, dtype) -> array`` or an array for a `Variable`."""
    if isinstance(initializer, str):
        if initializer in _BASIC_INITIALIZERS:
            return _BASIC_INITIALIZERS[initializer]
        try:
            # Imported here: metrics need no more than "zeros" unless a user
            # asks for another initializer by name.
            from kiln import initializers
        except ImportError as error:
            raise ValueError(
                "Metric variables accept the initializers 'zeros' and 'ones', an "
                "initializer object, a callable `(shape, dtype) -> array` or an "
                f"array. Received: initializer={initializer!r}"
            ) from error
        return initializers.get(initializer)
    if initializer is None:
        return _zeros
    return initializer


@keras_export(["keras.Metric", "keras.metrics.Metric"])
class Metric:
    """The base class of metrics: state variables and the logic to update them.

    Subclasses create their variables in `__init__` with `add_variable`,
    accumulate statistics in `update_state` with `assign`, and compute the
    value in `result`.

    Args:
        dtype: the compute dtype (default: `keras.config.floatx()`).
        name: the metric's name (default: a unique snake-case class name).

    Example:
        >>> class BinaryTruePositives(Metric):
        ...     def __init__(self, name="binary_true_positives", **kwargs):
        ...         super().__init__(name=name, **kwargs)
        ...         self.true_positives = self.add_variable(
        ...             shape=(), initializer="zeros", name="true_positives")
        ...     def update_state(self, y_true, y_pred, sample_weight=None):
        ...         values = jnp.logical_and(jnp.asarray(y_true, bool),
        ...                                  jnp.asarray(y_pred, bool))
        ...         self.true_positives.assign(
        ...             self.true_positives + jnp.sum(values.astype(self.dtype)))
        ...     def result(self):
        ...         return self.true_positives.value
        >>> BinaryTruePositives()([1, 1, 0], [1, 0, 0])
        Array(1., dtype=float32)
    """

    def __init__(self, dtype: Any = None, name: str | None = None):
        self.name = name or auto_name(self.__class__.__name__)
        self._dtype = resolve_dtype(dtype)
        self._metrics: list[Metric] = []
        self._variables: list[Variable] = []

    # Variables and metrics assigned as attributes are tracked, as in Keras.
    def __setattr__(self, name: str, value: Any) -> None:
        if "_variables" in self.__dict__:
            if isinstance(value, Variable):
                if not any(v is value for v in self._variables):
                    self._variables.append(value)
            elif isinstance(value, Metric):
                if not any(m is value for m in self._metrics):
                    self._metrics.append(value)
        super().__setattr__(name, value)

    def _check_super_called(self) -> None:
        if "_variables" not in self.__dict__:
            raise RuntimeError(
                f"{self.__class__.__name__}.__init__() must call "
                "`super().__init__()` before creating variables or being used."
            )

    @property
    def dtype(self) -> str:
        return self._dtype

    @property
    def variables(self) -> list[Variable]:
        """This metric's variables, then those of the metrics it holds."""
        variables = list(self._variables)
        for metric in self._metrics:
            variables.extend(metric.variables)
        return variables

    def add_variable(
        self,
        shape: Sequence[int],
        initializer: Any,
        dtype: Any = None,
        aggregation: str = "sum",
        name: str | None = None,
    ) -> Variable:
        """Creates a non-trainable state variable tracked by this metric.

        Args:
            shape: the variable's shape.
            initializer: ``"zeros"``, ``"ones"``, an initializer object, a
                callable ``(shape, dtype) -> array``, or an array.
            dtype: the variable's dtype (default: floatx()).
            aggregation: how replicas combine it (``"sum"``, ``"mean"``, ...).
            name: the variable's name; its path is ``"<metric name>/<name>"``.

        Returns:
            The new `Variable`.
        """
        self._check_super_called()
        initializer = _resolve_initializer(initializer)
        name = name or "variable"
        scope = self.name.replace("/", ">")
        variable = Variable(
            initializer=initializer,
            shape=tuple(shape),
            dtype=dtype,
            trainable=False,
            aggregation=aggregation,
            synchronization="on_read",
            name=name,
            path=f"{scope}/{name}",
        )
        self._variables.append(variable)
        return variable

    def add_weight(
        self,
        shape: Sequence[int] = (),
        initializer: Any = None,
        dtype: Any = None,
        name: str | None = None,
    ) -> Variable:
        """An alias of `add_variable`, kept for backwards compatibility."""
        return self.add_variable(
            shape=shape, initializer=initializer, dtype=dtype, name=name
        )

    # -- the imperative API ---------------------------------------------------
    def update_state(self, *args: Any, **kwargs: Any) -> None:
        """Accumulates statistics; subclasses implement this."""
        raise NotImplementedError(
            f"{self.__class__.__name__} must implement `update_state()`."
        )

    def result(self) -> Any:
        """Computes the metric's value (a scalar or a dict of scalars)."""
        raise NotImplementedError(
            f"{self.__class__.__name__} must implement `result()`."
        )

    def reset_state(self) -> None:
        """Sets every state variable back to zeros (called between epochs)."""
        for variable in self.variables:
            variable.assign(jnp.zeros(variable.shape, dtype=variable.dtype))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Updates the state with the arguments, then returns `result()`."""
        self._check_super_called()
        self.update_state(*args, **kwargs)
        return self.result()

    # -- the stateless API (for jitted steps) ---------------------------------
    def _check_values(self, metric_variables: Sequence[Any]) -> None:
        expected = len(self.variables)
        if len(metric_variables) != expected:
            raise ValueError(
                "Argument `metric_variables` must be a list of arrays matching "
                f"{self.__class__.__name__}().variables one to one: expected "
                f"{expected} values. Received: a list of length "
                f"{len(metric_variables)}"
            )

    def _values_after(self, scope: StatelessScope) -> list[Any]:
        values = []
        for variable in self.variables:
            value = scope.get_current_value(variable)
            values.append(variable.value if value is None else value)
        return values

    def stateless_update_state(
        self, metric_variables: Sequence[Any], *args: Any, **kwargs: Any
    ) -> list[Any]:
        """`update_state` as a pure function of the variables' values.

        Args:
            metric_variables: the current values, in the order of `variables`.
            *args, **kwargs: the arguments of `update_state`.

        Returns:
            The new values, in the same order; the variables are unchanged.
        """
        self._check_values(metric_variables)
        mapping = list(zip(self.variables, metric_variables))
        with StatelessScope(state_mapping=mapping) as scope:
            self.update_state(*args, **kwargs)
        return self._values_after(scope)

    def stateless_result(self, metric_variables: Sequence[Any]) -> Any:
        """`result()` computed from the given variable values."""
        self._check_values(metric_variables)
        mapping = list(zip(self.variables, metric_variables))
        with StatelessScope(state_mapping=mapping):
            return self.result()

    def stateless_reset_state(self) -> list[Any]:
        """The values `reset_state()` would set, in the order of `variables`."""
        with StatelessScope() as scope:
            self.reset_state()
        return self._values_after(scope)

    # -- config ---------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Metric:
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{self.__class__.__name__} name={self.name}>"

    __str__ = __repr__
