"""Ordering a graph of operations the way Keras does (`map_graph`).

The order of `model.layers` decides the names of groups in saved files, so it
must equal Keras's: a depth-first walk from the outputs gives each operation a
traversal index; each node gets a depth (outputs 0, parents deeper); operations
are sorted by depth (deepest first), then traversal index.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import jax

from kiln._src.backend.keras_tensor import KerasTensor
from kiln._src.ops.node import Node
from kiln._src.ops.operation import Operation


def _history(tensor: KerasTensor, role: str) -> tuple[Operation, int, int]:
    history = getattr(tensor, "_keras_history", None)
    if not history:
        raise ValueError(
            f"Every model {role} must come from `keras.Input` or from calling a "
            f"layer on such tensors. Received a tensor without history: {tensor}"
        )
    return history


def map_graph(
    inputs: list[KerasTensor], outputs: list[KerasTensor]
) -> tuple[list[Operation], dict[int, list[Node]]]:
    """Returns ``(operations, nodes_by_depth)`` for the graph from `inputs`
    to `outputs`, validating that it is connected and names are unique."""
    input_ids = {id(t) for t in inputs}
    finished: set[int] = set()
    in_progress: set[int] = set()
    nodes_in_decreasing_depth: list[Node] = []
    operation_index: dict[int, int] = {}
    operations_by_id: dict[int, Operation] = {}

    def enter(tensor: KerasTensor) -> tuple[Node, Any] | None:
        """Starts visiting `tensor`'s node; None if it is already done."""
        operation, node_index, _ = _history(tensor, "output")
        node = operation._inbound_nodes[node_index]
        if id(node) in finished:
            return None
        if id(node) in in_progress:
            raise ValueError(
                f"The graph has a cycle through operation '{operation.name}'."
            )
        if id(operation) not in operation_index:
            operation_index[id(operation)] = len(operation_index)
            operations_by_id[id(operation)] = operation
        in_progress.add(id(node))
        parents = (
            iter(node.input_tensors)
            if not node.is_input and id(tensor) not in input_ids
            else iter(())
        )
        return node, parents

    # A depth-first walk with an explicit stack (a deep graph, such as a
    # 20,000-layer Sequential, must not hit Python's recursion limit), in the
    # same order as the recursive walk Keras does.
    for output in outputs:
        started = enter(output)
        stack = [started] if started is not None else []
        while stack:
            node, parents = stack[-1]
            parent = next(parents, None)
            if parent is not None:
                started = enter(parent)
                if started is not None:
                    stack.append(started)
                continue
            stack.pop()
            finished.add(id(node))
            in_progress.discard(id(node))
            nodes_in_decreasing_depth.append(node)

    node_depth: dict[int, int] = {}
    operation_depth: dict[int, int] = {}
    for node in reversed(nodes_in_decreasing_depth):
        depth = node_depth.setdefault(id(node), 0)
        depth = max(depth, operation_depth.get(id(node.operation), 0))
        operation_depth[id(node.operation)] = depth
        node_depth[id(node)] = depth
        for parent in node.parent_nodes:
            node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))

    for tensor in inputs:
        operation = _history(tensor, "input")[0]
        if id(operation) not in operation_depth:
            operation_depth[id(operation)] = 0
            operation_index[id(operation)] = -1
            operations_by_id[id(operation)] = operation
            node = operation._inbound_nodes[0]
            node_depth[id(node)] = 0
            nodes_in_decreasing_depth.append(node)

    nodes_by_depth: dict[int, list[Node]] = defaultdict(list)
    placed: set[int] = set()  # a set, not list membership: linear in nodes
    for node in nodes_in_decreasing_depth:
        if node_depth.get(id(node)) is not None and id(node) not in placed:
            placed.add(id(node))
            nodes_by_depth[node_depth[id(node)]].append(node)

    operations_by_depth: dict[int, list[Operation]] = defaultdict(list)
    for op_id, depth in operation_depth.items():
        operations_by_depth[depth].append(operations_by_id[op_id])
    operations: list[Operation] = []
    for depth in sorted(operations_by_depth, reverse=True):
        group = sorted(
            operations_by_depth[depth], key=lambda op: operation_index[id(op)]
        )
        operations.extend(group)

    _check_connected(inputs, nodes_by_depth)
    names = Counter(op.name for op in operations)
    for name, count in names.items():
        if count > 1:
            raise ValueError(
                f'The name "{name}" is used {count} times in the model. '
                "All operation names should be unique: rename the layers (the "
                "`name=` argument)."
            )
    return operations, dict(nodes_by_depth)


def _check_connected(
    inputs: list[KerasTensor], nodes_by_depth: dict[int, list[Node]]
) -> None:
    computable = {id(t) for t in inputs}
    for depth in sorted(nodes_by_depth, reverse=True):
        for node in nodes_by_depth[depth]:
            if all(id(t) in computable for t in node.output_tensors) and node.is_input:
                continue
            if node.is_input:
                if not any(id(t) in computable for t in node.output_tensors):
                    raise ValueError(
                        "Graph disconnected: the output depends on input "
                        f"'{node.operation.name}', which is not among the model's "
                        "inputs. Add it to `inputs=` when creating the model."
                    )
                continue
            for tensor in node.input_tensors:
                if id(tensor) not in computable:
                    raise ValueError(
                        f"Graph disconnected: cannot obtain the value of tensor "
                        f"{tensor} (input of '{node.operation.name}') from the "
                        "model's inputs. Make sure every path to the outputs starts "
                        "at one of `inputs=`."
                    )
            for tensor in node.output_tensors:
                computable.add(id(tensor))


def flatten_structure(structure: Any) -> list[Any]:
    return jax.tree_util.tree_leaves(
        structure, is_leaf=lambda x: isinstance(x, KerasTensor)
    )
