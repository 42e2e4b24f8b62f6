"""`Operation`: anything that can be called on symbolic tensors to build a graph.

`Layer` and the ops of `kiln.ops` used on `KerasTensor`s are Operations. Calling
one on symbolic inputs computes the output shapes with `jax.eval_shape` (so any
JAX-traceable `call` gets shape inference for free) and records a `Node`.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from kiln._src.backend.keras_tensor import KerasTensor, any_symbolic
from kiln._src.backend.stateless_scope import StatelessScope
from kiln._src.ops.node import Node
from kiln._src.utils import naming

# Two different stand-ins for unknown (None) dimensions: a dimension whose
# output size differs between the two traces is unknown in the output too.
_FILL_A, _FILL_B = 83, 89


class Operation:
    def __init__(self, name: str | None = None):
        if name is None:
            name = naming.auto_name(self.__class__.__name__)
        if not isinstance(name, str) or "/" in name:
            raise ValueError(
                "An operation's name must be a string without '/'. "
                f"Received: name={name!r}"
            )
        self.name = name
        self._inbound_nodes: list[Node] = []
        self._outbound_nodes: list[Node] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if any_symbolic((args, kwargs)):
            return self.symbolic_call(*args, **kwargs)
        return self.call(*args, **kwargs)

    def call(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement `call`.")

    def symbolic_call(self, *args: Any, **kwargs: Any) -> Any:
        outputs = self.compute_output_spec(*args, **kwargs)
        Node(self, call_args=args, call_kwargs=kwargs, outputs=outputs)
        return outputs

    def compute_output_spec(self, *args: Any, **kwargs: Any) -> Any:
        return compute_output_spec(self.call, *args, **kwargs)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Operation:
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"


def compute_output_spec(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Output `KerasTensor`s of ``fn(*args, **kwargs)`` without computing."""

    def with_fill(fill: int) -> Any:
        def to_concrete(x: Any) -> Any:
            return x.to_shape_dtype(fill) if isinstance(x, KerasTensor) else x

        concrete_args, concrete_kwargs = jax.tree_util.tree_map(
            to_concrete, (args, kwargs), is_leaf=lambda x: isinstance(x, KerasTensor)
        )
        leaves, treedef = jax.tree_util.tree_flatten((concrete_args, concrete_kwargs))
        dynamic = [
            i for i, x in enumerate(leaves) if isinstance(x, jax.ShapeDtypeStruct)
        ]

        def run(*dynamic_leaves: Any) -> Any:
            filled = list(leaves)
            for i, value in zip(dynamic, dynamic_leaves):
                filled[i] = value
            call_args, call_kwargs = jax.tree_util.tree_unflatten(treedef, filled)
            # Assignments made while tracing (a seed advancing, a moving
            # average) land in this throw-away scope, never in the variables.
            with StatelessScope():
                return fn(*call_args, **call_kwargs)

        return jax.eval_shape(run, *[leaves[i] for i in dynamic])

    has_unknown = any(
        isinstance(x, KerasTensor) and None in x.shape
        for x in jax.tree_util.tree_leaves((args, kwargs))
    )
    spec_a = with_fill(_FILL_A)
    spec_b = with_fill(_FILL_B) if has_unknown else spec_a

    def merge(a: Any, b: Any) -> KerasTensor:
        shape = tuple(da if da == db else None for da, db in zip(a.shape, b.shape))
        return KerasTensor(shape, dtype=np.dtype(a.dtype).name)

    return jax.tree_util.tree_map(merge, spec_a, spec_b)
