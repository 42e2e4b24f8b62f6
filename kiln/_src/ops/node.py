"""`Node`: one call of an operation on symbolic tensors, inside a graph."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jax

from kiln._src.backend.keras_tensor import KerasTensor

if TYPE_CHECKING:
    from kiln._src.ops.operation import Operation


class Node:
    """Records ``outputs = operation(*call_args, **call_kwargs)``.

    Attaching the node gives each output a ``_keras_history`` of
    ``(operation, node_index, tensor_index)``.
    """

    def __init__(
        self,
        operation: Operation,
        call_args: tuple[Any, ...] = (),
        call_kwargs: dict[str, Any] | None = None,
        outputs: Any = None,
    ):
        self.operation = operation
        self.arguments_args = tuple(call_args)
        self.arguments_kwargs = dict(call_kwargs or {})
        self.outputs = outputs
        self.input_tensors = [
            x
            for x in jax.tree_util.tree_leaves(
                (self.arguments_args, self.arguments_kwargs)
            )
            if isinstance(x, KerasTensor)
        ]
        self.output_tensors = [
            x for x in jax.tree_util.tree_leaves(outputs) if isinstance(x, KerasTensor)
        ]
        node_index = len(operation._inbound_nodes)
        operation._inbound_nodes.append(self)
        for parent in self.parent_nodes:
            parent.operation._outbound_nodes.append(self)
        for tensor_index, tensor in enumerate(self.output_tensors):
            tensor._keras_history = (operation, node_index, tensor_index)

    @property
    def parent_nodes(self) -> list[Node]:
        parents = []
        for tensor in self.input_tensors:
            history = tensor._keras_history
            if history is not None:
                op, node_index, _ = history
                parents.append(op._inbound_nodes[node_index])
        return parents

    @property
    def is_input(self) -> bool:
        return not self.input_tensors
