"""Turns a plain array function into an op usable on symbolic tensors too.

``@op("Add", "numpy")`` makes ``add(kt_a, kt_b)`` on `KerasTensor`s record a node
of an `Operation` class named ``Add``, written to files as Keras writes its own
(``module="keras.src.ops.numpy"``), and makes every op accept `Variable`s.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax

from kiln._src.api_export import keras_export
from kiln._src.backend.keras_tensor import any_symbolic
from kiln._src.backend.variable import Variable
from kiln._src.ops.operation import Operation


def _unwrap_variables(tree: Any) -> Any:
    return jax.tree_util.tree_map(
        lambda x: x.value if isinstance(x, Variable) else x, tree
    )


def op(
    class_name: str, family: str
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        def call(self: Operation, *args: Any, **kwargs: Any) -> Any:
            return fn(*_unwrap_variables(args), **_unwrap_variables(kwargs))

        op_class = type(
            class_name,
            (Operation,),
            {"call": call, "__doc__": fn.__doc__, "__module__": __name__},
        )
        keras_export(f"keras.src.ops.{family}.{class_name}")(op_class)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if any_symbolic((args, kwargs)):
                return op_class()(*args, **kwargs)
            return fn(*_unwrap_variables(args), **_unwrap_variables(kwargs))

        wrapper.op_class = op_class  # type: ignore[attr-defined]
        return wrapper

    return decorator
