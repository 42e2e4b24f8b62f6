"""The walk that names weight groups, exactly as Keras 3 names them.

Keras visits each object once, at the first path that reaches it: a model's
``layers`` first (for Functional and Sequential models), then its attributes
in alphabetical order with ``_private`` names last. Objects inside lists,
tuples and dicts are named by their snake_case class name with ``_1``, ``_2``
counters (nested containers: ``container``, ``container_1``, ...). Each layer and
optimizer stores its own variables under ``<path>/vars`` (the root under
``vars``). See FORMAT.md, "Weights".
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

from kiln._src.saving.keras_layer_attributes import KERAS_LAYER_ATTRIBUTES
from kiln._src.utils.naming import to_snake_case

# kiln-internal attributes of models that hold graph or training machinery
# (Keras keeps the equivalents in attributes its walk skips).
_KILN_MODEL_INTERNALS = frozenset(
    {
        "_step_cache",
        "_compile_config",
        "_compile_loss",
        "_compile_metrics",
        "_layers_list",
        "_functional",
        "_operations",
        "_nodes_by_depth",
        "_network_node_ids",
        "_inputs_struct",
        "_outputs_struct",
        "_inputs",
        "_outputs",
        "_run_eagerly",
        "operations",
        "history",
        "_variables_cache",
    }
)


def _saveable_types() -> tuple[type, ...]:
    from kiln._src.backend.random import SeedGenerator
    from kiln._src.losses import Loss
    from kiln._src.metrics import Metric
    from kiln._src.ops.operation import Operation
    from kiln._src.optimizers import Optimizer

    return (Operation, Optimizer, Metric, Loss, SeedGenerator)


def has_own_variables(obj: Any) -> bool:
    from kiln._src.layers.layer import Layer
    from kiln._src.optimizers import Optimizer

    return isinstance(obj, Layer | Optimizer)


def own_variables(obj: Any) -> list[Any]:
    from kiln._src.layers.layer import Layer

    if isinstance(obj, Layer):
        return obj._trainable_variables + obj._non_trainable_variables
    return list(obj.variables)


@functools.cache
def _kiln_layer_attributes() -> frozenset[str]:
    from kiln._src.layers.layer import Layer

    return frozenset(dir(Layer(name="kiln_reference_layer")))


def _skip_set(obj: Any) -> frozenset[str]:
    from kiln._src.layers.layer import Layer

    if isinstance(obj, Layer):
        return KERAS_LAYER_ATTRIBUTES | _kiln_layer_attributes() | _KILN_MODEL_INTERNALS
    # Optimizers, metrics, losses: their variables are their own; nothing
    # beneath them holds weights.
    return frozenset(dir(obj))


def _attribute_order(name: str) -> str:
    return "~" + name if name.startswith("_") else name


def _children(obj: Any) -> Iterator[tuple[str, Any]]:
    from kiln._src.models.functional import Functional
    from kiln._src.models.sequential import Sequential

    if isinstance(obj, Functional | Sequential):
        yield "layers", obj.layers
    skip = _skip_set(obj)
    for name in sorted(dir(obj), key=_attribute_order):
        if name.startswith("__") or name in skip:
            continue
        try:
            value = getattr(obj, name)
        except Exception:  # noqa: BLE001 - Keras skips attributes that raise
            continue
        yield name, value


def walk(root: Any) -> Iterator[tuple[str, Any]]:
    """Yields ``(path, obj)`` for every object that owns variables, in Keras's
    order; `path` is ``""`` for the root, else like ``"layers/dense"``."""
    saveable = _saveable_types()
    visited: set[int] = set()

    def visit(obj: Any, path: str) -> Iterator[tuple[str, Any]]:
        if id(obj) in visited:
            return
        if has_own_variables(obj):
            yield path, obj
        visited.add(id(obj))
        for name, child in _children(obj):
            child_path = f"{path}/{name}" if path else name
            if isinstance(child, saveable):
                yield from visit(child, child_path)
            elif isinstance(child, list | tuple | dict):
                yield from visit_container(child, child_path)

    def visit_container(container: Any, path: str) -> Iterator[tuple[str, Any]]:
        values = container.values() if isinstance(container, dict) else container
        used: dict[str, int] = {}
        for value in values:
            if isinstance(value, saveable):
                base = to_snake_case(type(value).__name__)
            elif isinstance(value, list | tuple | dict):
                base = "container"
            else:
                continue
            count = used.get(base, 0)
            used[base] = count + 1
            name = base if count == 0 else f"{base}_{count}"
            if base == "container":
                yield from visit_container(value, f"{path}/{name}")
            else:
                yield from visit(value, f"{path}/{name}")

    yield from visit(root, "")


def vars_path(path: str) -> str:
    return f"{path}/vars" if path else "vars"
