"""`print_summary`: the table printed by ``model.summary()``.

The table is drawn with the same box characters, column widths, wrapping and
truncation as Keras 3 (which renders it with `rich`), as plain text.

What it reads from the model: ``model.name``, ``model.layers``,
``model.trainable_weights``, ``model.non_trainable_weights`` (each weight has
``.shape`` and a ``.dtype`` name), ``model.optimizer`` (its ``.variables`` once
``.built``). From each layer: ``name``, ``built``, ``count_params()``,
``weights``, ``trainable``, ``output_shape_for_summary`` (a shape tuple, a
structure of them, or None for "?"), ``layers`` (nested models) and
``_inbound_nodes``. A graph (Functional) model exposes its nodes through
``_nodes_by_depth`` (with ``_operations``) or through ``outputs``: when they do
not form a simple chain, a "Connected to" column is added.
"""

from __future__ import annotations

import math
import re
import shutil
import sys
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from kiln._src.backend.dtypes import standardize_dtype

# Bits per element, as Keras counts them (a bool takes one bit).
_DTYPE_BITS = {
    **{f"float{i}": i for i in (16, 32, 64)},
    **{f"int{i}": i for i in (8, 16, 32, 64)},
    **{f"uint{i}": i for i in (8, 16, 32, 64)},
    "bfloat16": 16,
    "bool": 1,
}

# (left, horizontal, cross, right) of each kind of line: rich's HEAVY_HEAD box.
_TOP = ("┏", "━", "┳", "┓")
_HEAD_SEPARATOR = ("┡", "━", "╇", "┩")
_ROW_SEPARATOR = ("├", "─", "┼", "┤")
_BOTTOM = ("└", "─", "┴", "┘")
_HEAD_EDGE = "┃"
_ROW_EDGE = "│"


# -- parameter counts and sizes ------------------------------------------------
def count_params(weights: Iterable[Any]) -> int:
    """Total number of scalars in `weights`."""
    return int(sum(math.prod(w.shape) for w in weights))


def _dtype_bits(dtype: Any) -> int:
    dtype = standardize_dtype(dtype)
    if dtype in _DTYPE_BITS:
        return _DTYPE_BITS[dtype]
    return np.dtype(dtype).itemsize * 8


def weight_memory_size(weights: Iterable[Any]) -> float:
    """Memory taken by `weights` in bytes (each weight counted once)."""
    unique = {id(w): w for w in weights}.values()
    return sum(math.prod(w.shape) * _dtype_bits(w.dtype) for w in unique) / 8


def readable_memory_size(weight_memory_size: float) -> str:
    """``219700`` -> ``"214.55 KB"``: 1024-based units, two decimals."""
    units = ["B", "KB", "MB", "GB", "TB", "PB"]
    for unit in units:
        if weight_memory_size / 1024 < 1:
            return f"{weight_memory_size:.2f} {unit}"
        weight_memory_size /= 1024
    return f"{weight_memory_size:.2f} {units[-1]}"


# -- cell contents -------------------------------------------------------------
def _is_shape(value: Any) -> bool:
    return isinstance(value, tuple | list) and all(
        d is None or isinstance(d, int | np.integer) for d in value
    )


def _format_shapes(value: Any) -> tuple[Any, list[str]]:
    """Returns the structure with each shape as text, and the texts in order."""
    if _is_shape(value):
        text = "(" + ", ".join(str(d) for d in value) + ")"
        return text, [text]
    if isinstance(value, dict):
        pairs = [(key, _format_shapes(item)) for key, item in value.items()]
        return {key: item[0] for key, item in pairs}, [
            t for _, item in pairs for t in item[1]
        ]
    if isinstance(value, list | tuple):
        items = [_format_shapes(item) for item in value]
        return type(value)(item[0] for item in items), [t for i in items for t in i[1]]
    return str(value), [str(value)]


def format_layer_shape(layer: Any) -> str:
    """``"(None, 64)"``, ``"[(None, 4), (None, 4)]"`` or ``"?"`` if unknown."""
    shapes = getattr(layer, "output_shape_for_summary", None)
    if shapes is None:
        return "?"
    structure, texts = _format_shapes(shapes)
    if len(texts) == 1:
        return texts[0]
    return str(structure).replace("'", "")


def _history(tensor: Any) -> tuple[Any, int, int]:
    history = tensor._keras_history
    if hasattr(history, "operation"):
        return history.operation, history.node_index, history.tensor_index
    return tuple(history)


def _graph_nodes(model: Any) -> list[list[Any]] | None:
    """The model's nodes grouped by depth, or None if it is not a graph model."""
    by_depth = getattr(model, "_nodes_by_depth", None)
    if isinstance(by_depth, dict):
        return list(by_depth.values())
    try:
        outputs = model.outputs
    except Exception:  # Subclassed models have no graph.
        return None
    if not isinstance(outputs, list | tuple | dict):
        outputs = [outputs]
    elif isinstance(outputs, dict):
        outputs = list(outputs.values())
    depth: dict[int, int] = {}
    node_of: dict[int, Any] = {}
    pending = []
    for tensor in outputs:
        if getattr(tensor, "_keras_history", None) is None:
            return None
        op, node_index, _ = _history(tensor)
        pending.append((op._inbound_nodes[node_index], 0))
    while pending:
        node, level = pending.pop()
        if depth.get(id(node), -1) >= level:
            continue
        depth[id(node)] = level
        node_of[id(node)] = node
        pending.extend((parent, level + 1) for parent in node.parent_nodes)
    grouped: dict[int, list[Any]] = {}
    for key, level in depth.items():
        grouped.setdefault(level, []).append(node_of[key])
    return [grouped[level] for level in sorted(grouped, reverse=True)]


def _is_chain(model: Any, nodes_by_depth: list[list[Any]]) -> bool:
    nodes = []
    for group in nodes_by_depth:
        if len(group) > 1 or (len(group) == 1 and len(group[0].input_tensors) > 1):
            return False
        nodes += group
    # A layer called twice in the graph (shared) breaks the chain too.
    node_ids = {id(node) for node in nodes}
    for layer in model.layers:
        if sum(id(node) in node_ids for node in layer._inbound_nodes) > 1:
            return False
    return True


# -- table layout (the rules rich applies to a fixed-width table) ------------
def _reduce(excess: int, widths: list[int]) -> list[int]:
    """Takes `excess` cells off the columns, evenly (rounding half to even)."""
    result = []
    remaining, columns_left = excess, sum(1 for w in widths if w)
    for width in widths:
        if width:
            taken = min(width, round(remaining / columns_left))
            result.append(width - taken)
            remaining -= taken
            columns_left -= 1
        else:
            result.append(width)
    return result


def _distribute(total: int, widths: list[int]) -> list[int]:
    """Splits `total` extra cells over the columns in proportion to their widths."""
    shares = []
    remaining, ratio_left = total, sum(widths)
    for width in widths:
        share = (
            math.ceil(width * remaining / ratio_left) if ratio_left > 0 else remaining
        )
        shares.append(share)
        ratio_left -= width
        remaining -= share
    return [w + s for w, s in zip(widths, shares)]


def _column_widths(requested: list[int], line_length: int) -> list[int]:
    """Widths of the columns with their padding, borders excluded."""
    available = line_length - (len(requested) + 1)
    widths = [min(w + 2, available) or 1 for w in requested]
    if sum(widths) > available:
        widths = _reduce(sum(widths) - available, widths)
        widths = [max(0, min(w, r + 2)) for w, r in zip(widths, requested)]
    if 0 < sum(widths) < available:
        widths = _distribute(available - sum(widths), widths)
    return widths


def _truncate(line: str, width: int) -> str:
    return line if len(line) <= width else line[: max(width - 1, 0)] + "…"


def _wrap(text: str, width: int) -> list[str]:
    """Word-wraps; a word longer than the width is cut with an ellipsis."""
    lines = []
    for paragraph in text.split("\n"):
        current, used = "", 0
        for word in re.findall(r"\s*\S+\s*", paragraph) or [paragraph]:
            size = len(word.rstrip())
            if width - used < size and used:
                lines.append(current)
                current, used = "", 0
            current += word
            used += len(word)
        lines.append(current)
    return [_truncate(line.rstrip(), width) for line in lines]


def _justify(line: str, width: int, alignment: str) -> str:
    if alignment == "right":
        return line.rjust(width)
    if alignment == "center":
        left = (width - len(line)) // 2
        return (" " * left + line).ljust(width)
    return line.ljust(width)


def _rule(parts: tuple[str, str, str, str], widths: list[int]) -> str:
    left, horizontal, cross, right = parts
    return left + cross.join(horizontal * w for w in widths) + right


def _row_lines(
    cells: list[str],
    widths: list[int],
    alignments: list[str],
    edge: str,
    bottom: bool = False,
) -> list[str]:
    """The lines of one row; cells sit at the top (at the bottom if `bottom`)."""
    wrapped = [_wrap(cell, max(w - 2, 0)) for cell, w in zip(cells, widths)]
    height = max(len(lines) for lines in wrapped)
    if bottom:
        wrapped = [[""] * (height - len(lines)) + lines for lines in wrapped]
    out = []
    for i in range(height):
        parts = []
        for lines, width, alignment in zip(wrapped, widths, alignments):
            content = lines[i] if i < len(lines) else ""
            content = _justify(content, max(width - 2, 0), alignment)
            parts.append((" " + content + " ")[:width] if width else "")
        out.append(edge + edge.join(parts) + edge)
    return out


def _render_table(
    header: list[str], rows: list[list[str]], alignments: list[str], widths: list[int]
) -> list[str]:
    lines = [_rule(_TOP, widths)]
    lines += _row_lines(header, widths, alignments, _HEAD_EDGE, bottom=True)
    lines.append(_rule(_HEAD_SEPARATOR, widths))
    for index, row in enumerate(rows):
        if index:
            lines.append(_rule(_ROW_SEPARATOR, widths))
        lines += _row_lines(row, widths, alignments, _ROW_EDGE)
    lines.append(_rule(_BOTTOM, widths))
    return lines


# -- the summary -----------------------------------------------------------------
def get_layer_index_bound_by_layer_name(
    layers: list[Any], layer_range: Any = None
) -> list[int]:
    """``[first, last + 1]``: the layers whose names match `layer_range`.

    Args:
        layers: the list of layers.
        layer_range: two strings (names or regexes), the first and last layers
            to show (both inclusive); None for all layers.
    """
    if layer_range is None:
        return [0, len(layers)]
    if len(layer_range) != 2:
        raise ValueError(
            "layer_range must be a list or tuple of length 2: the names of the "
            "first and last layers to show. Received: "
            f"layer_range = {layer_range} of length {len(layer_range)}"
        )
    if not isinstance(layer_range[0], str) or not isinstance(layer_range[1], str):
        raise ValueError(
            "layer_range should contain string type only (layer names or regexes). "
            f"Received: {layer_range}"
        )
    lower = [
        i for i, layer in enumerate(layers) if re.match(layer_range[0], layer.name)
    ]
    upper = [
        i for i, layer in enumerate(layers) if re.match(layer_range[1], layer.name)
    ]
    if not lower or not upper:
        raise ValueError(
            "Passed layer_names do not match the layer names in the model. "
            f"Available names: {[layer.name for layer in layers]}. "
            f"Received: {layer_range}"
        )
    if min(lower) > max(upper):
        return [min(upper), max(lower) + 1]
    return [min(lower), max(upper) + 1]


def print_summary(
    model: Any,
    line_length: int | None = None,
    positions: list[float] | None = None,
    print_fn: Callable[..., Any] | None = None,
    expand_nested: bool = False,
    show_trainable: bool = False,
    layer_range: Any = None,
) -> None:
    """Prints a summary of a model.

    Args:
        model: the model to describe.
        line_length: total length of the printed lines (e.g. to fit a
            terminal). Defaults to 88 (108 with a "Connected to" column), at
            most the terminal's width minus 4.
        positions: relative positions of the column ends in each line.
            Defaults to ``[0.45, 0.80, 1.0]`` (``[0.3, 0.56, 0.74, 1.0]`` with a
            "Connected to" column).
        print_fn: function called once with the whole summary text (a string
            ending with a newline). Defaults to writing to stdout.
        expand_nested: whether to list the layers of nested models.
        show_trainable: whether to add a column telling whether each layer is
            trainable.
        layer_range: two strings, the names (or regexes) of the first and last
            layers to show, both inclusive. Defaults to all layers.

    Example:
        >>> lines = []
        >>> print_summary(model, print_fn=lines.append)
    """
    nodes_by_depth = _graph_nodes(model)
    if isinstance(getattr(model, "_nodes_by_depth", None), dict):
        layers = list(getattr(model, "_operations", None) or model.layers)
    else:
        layers = list(model.layers)
    sequential_like = nodes_by_depth is None or _is_chain(model, nodes_by_depth)

    if sequential_like:
        default_line_length = 88
        positions = positions or [0.45, 0.80, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #"]
        alignments = ["left", "left", "right"]
        relevant_nodes: set[int] = set()
    else:
        default_line_length = 108
        positions = positions or [0.3, 0.56, 0.74, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
        alignments = ["left", "left", "right", "left"]
        relevant_nodes = {id(node) for group in nodes_by_depth for node in group}
    if show_trainable:
        default_line_length += 12
        positions = [p * 0.90 for p in positions] + [1.0]
        header.append("Trainable")
        alignments.append("center")

    default_line_length = min(
        default_line_length, shutil.get_terminal_size().columns - 4
    )
    line_length = line_length or default_line_length
    requested = []
    current = 0
    for position in positions:
        width = int(position * line_length) - current
        if width < 4:
            raise ValueError(
                "Insufficient console width to print summary: each column needs "
                "at least 4 characters. Pass a larger `line_length` or other "
                f"`positions`. Received: line_length={line_length}, "
                f"positions={positions}"
            )
        requested.append(width)
        current += width

    def connections(layer: Any) -> str:
        names = []
        for node in layer._inbound_nodes:
            if relevant_nodes and id(node) not in relevant_nodes:
                continue  # A call of this layer outside this model.
            for tensor in node.input_tensors:
                operation, node_index, tensor_index = _history(tensor)
                names.append(f"{operation.name}[{node_index}][{tensor_index}]")
        return ", ".join(names) or "-"

    def fields(layer: Any, prefix: str) -> list[str]:
        if not hasattr(layer, "built"):
            params = "0"
        elif not layer.built:
            params = "0 (unbuilt)"
        else:
            params = f"{layer.count_params():,}"
        row = [
            f"{prefix}{layer.name} ({type(layer).__name__})",
            format_layer_shape(layer),
            params,
        ]
        if not sequential_like:
            row.append(connections(layer))
        if show_trainable:
            if len(getattr(layer, "weights", None) or []) > 0:
                row.append("Y" if layer.trainable else "N")
            else:
                row.append("-")
        return row

    def layer_rows(layer: Any, level: int = 0) -> list[list[str]]:
        prefix = "   " * level + "└ " if level else ""
        rows = [fields(layer, prefix)]
        if expand_nested and getattr(layer, "layers", None):
            for inner in layer.layers:
                rows.extend(layer_rows(inner, level + 1))
        return rows

    start, stop = get_layer_index_bound_by_layer_name(layers, layer_range)
    rows = [row for layer in layers[start:stop] for row in layer_rows(layer)]
    table = _render_table(
        header, rows, alignments, _column_widths(requested, line_length)
    )

    trainable = list(model.trainable_weights)
    non_trainable = list(model.non_trainable_weights)
    optimizer = getattr(model, "optimizer", None)
    optimizer_built = (
        getattr(model, "compiled", True)
        and optimizer is not None
        and getattr(optimizer, "built", False)
    )
    optimizer_variables = list(optimizer.variables) if optimizer_built else []
    counts = [count_params(w) for w in (trainable, non_trainable, optimizer_variables)]
    sizes = [
        weight_memory_size(w) for w in (trainable, non_trainable, optimizer_variables)
    ]

    def totals_line(label: str, count: int, size: float) -> str:
        return f" {label}: {count:,} ({readable_memory_size(size)})"

    lines = [f'Model: "{model.name}"', *table]
    lines.append(totals_line("Total params", sum(counts), sum(sizes)))
    lines.append(totals_line("Trainable params", counts[0], sizes[0]))
    lines.append(totals_line("Non-trainable params", counts[1], sizes[1]))
    if optimizer_built:
        lines.append(totals_line("Optimizer params", counts[2], sizes[2]))
    text = "\n".join(lines) + "\n"

    if print_fn is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        print_fn(text)
