"""Runs layer and optimizer code as a pure function of variable values.

Inside a `StatelessScope`, reading a `Variable` returns the value the scope was
given for it (for example a tracer inside `jax.jit`), and `assign` records the new
value in the scope instead of mutating the variable. This is how the jitted train
step stays a pure function while layers and optimizers are written imperatively.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable

    from kiln._src.backend.variable import Variable

_state = threading.local()


def get_stateless_scope() -> StatelessScope | None:
    stack = getattr(_state, "stack", None)
    return stack[-1] if stack else None


class StatelessScope:
    """Maps variables to values for the code run inside it.

    Args:
        state_mapping: pairs ``(variable, value)`` that reads should see.
        symbolic: the code only computes shapes (under `jax.eval_shape`):
            variables that have not drawn their value yet read as zeros
            instead of running their initializer.
    """

    def __init__(
        self, state_mapping: Iterable[tuple[Variable, Any]] = (), symbolic: bool = False
    ):
        self.symbolic = symbolic
        self._values: dict[int, Any] = {}
        self._updates: dict[int, Any] = {}
        for variable, value in state_mapping:
            self._values[id(variable)] = value

    def get_current_value(self, variable: Variable) -> Any:
        key = id(variable)
        if key in self._updates:
            return self._updates[key]
        return self._values.get(key)

    def add_update(self, variable: Variable, value: Any) -> None:
        self._updates[id(variable)] = value

    def get_update(self, variable: Variable) -> Any:
        """The value assigned inside the scope, or the value it was given."""
        return self.get_current_value(variable)

    def __enter__(self) -> StatelessScope:
        stack = getattr(_state, "stack", None)
        if stack is None:
            stack = _state.stack = []
        stack.append(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        _state.stack.pop()
