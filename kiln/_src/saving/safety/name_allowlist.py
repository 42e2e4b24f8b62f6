"""The safe-mode allowlist: which of kiln's built-ins a name read from a file
may reach.

In safe mode a name read from a file reaches a kiln built-in only if the
built-in is on this list, derived from the export table by one rule:
- a class that is a modeling object: a subclass of one of
  `SAFE_CLASS_BASES` (layers and models, the Operation classes of ops nodes,
  losses, metrics, optimizers, learning-rate schedules, initializers,
  regularizers, constraints, dtype policies, seed generators);
- a function exported under one of `SAFE_FUNCTION_FAMILIES` (a pure modeling
  function: an activation, loss, metric, initializer, regularizer or
  constraint), except the families' own utilities (`get`, `serialize`,
  `deserialize`).
Nothing else: no saving/loading, config, utility, callback, variable or ops
function, whatever the file says. Objects the caller provides (the
registry, `custom_objects`, `custom_object_scope`) are the caller's choice
and are not checked. `name_allowlist_test` pins the list's contents.
"""

from __future__ import annotations

import inspect
from typing import Any

from kiln._src import api_export
from kiln._src.saving.errors import InvalidFileError

SAFE_CLASS_BASES = (
    "kiln._src.ops.operation.Operation",  # every Layer, Model and op class
    "kiln._src.losses.loss.Loss",
    "kiln._src.metrics.metric.Metric",
    "kiln._src.optimizers.base_optimizer.Optimizer",
    "kiln._src.optimizers.schedules.learning_rate_schedule.LearningRateSchedule",
    "kiln._src.initializers.initializer.Initializer",
    "kiln._src.regularizers.regularizers.Regularizer",
    "kiln._src.constraints.constraints.Constraint",
    "kiln._src.dtype_policies.dtype_policy.DTypePolicy",
    # An initializer's or layer's `seed` may be a SeedGenerator (Keras writes
    # it as `keras.random.SeedGenerator`); rebuilding one only stores a seed.
    "kiln._src.backend.random.SeedGenerator",
)
SAFE_FUNCTION_FAMILIES = (
    "keras.activations",
    "keras.losses",
    "keras.metrics",
    "keras.initializers",
    "keras.regularizers",
    "keras.constraints",
)
FAMILY_UTILITY_NAMES = frozenset(["get", "serialize", "deserialize"])
_safe_objects: dict[int, str] | None = None


def _safe_bases() -> tuple[type, ...]:
    import importlib

    bases = []
    for path in SAFE_CLASS_BASES:
        module, _, name = path.rpartition(".")
        bases.append(getattr(importlib.import_module(module), name))
    return tuple(bases)


def safe_builtin_names() -> list[str]:
    """Every export name that safe mode lets a file name, sorted."""
    from kiln._src.saving.serialization_lib import _ensure_builtins_registered

    _ensure_builtins_registered()
    bases = _safe_bases()
    names = []
    for name in api_export.exported_names():
        obj = api_export.get_exported_object(name)
        family, _, short = name.rpartition(".")
        if inspect.isclass(obj):
            allowed = issubclass(obj, bases)
        else:
            allowed = (
                family in SAFE_FUNCTION_FAMILIES
                and short not in FAMILY_UTILITY_NAMES
                and inspect.isfunction(obj)
            )
        if allowed:
            names.append(name)
    return names


def _safe_object_ids() -> dict[int, str]:
    global _safe_objects
    if _safe_objects is None:
        table = {}
        for name in safe_builtin_names():
            table.setdefault(id(api_export.get_exported_object(name)), name)
        _safe_objects = table
    return _safe_objects


def is_safe_builtin(obj: Any) -> bool:
    """Whether safe mode lets a file name the kiln built-in `obj`."""
    return id(obj) in _safe_object_ids()


def _describe(obj: Any) -> str:
    name = api_export.get_canonical_name(obj)
    if name is None:
        module = getattr(obj, "__module__", None) or "?"
        name = f"{module}.{getattr(obj, '__qualname__', type(obj).__name__)}"
    kind = "class" if inspect.isclass(obj) else "function"
    return f"{kind} `{name}`"


def require_safe(obj: Any, written: str, safe_mode: bool) -> Any:
    """Returns `obj` (a kiln built-in a file named as `written`) if safe mode
    allows it, else raises `InvalidFileError` saying why and how to proceed."""
    if not safe_mode or is_safe_builtin(obj):
        return obj
    short = written.rpartition(">")[2].rpartition(".")[2]
    raise InvalidFileError(
        f"The config names '{written}', which resolves to kiln's {_describe(obj)}: "
        "not a modeling object. In safe mode (the default) a config can only "
        "name layers, models, the operations of a graph, losses, metrics, "
        "optimizers, learning-rate schedules, initializers, regularizers, "
        "constraints, dtype policies, seed generators, the activation/loss/"
        "metric/initializer/regularizer/constraint functions, and objects you "
        "provide: never a saving, loading, configuration, utility or ops "
        "function, which a file "
        "could otherwise make kiln call while it rebuilds the model. If you "
        "trust this file and it really needs it, pass "
        f"custom_objects={{'{short}': ...}} with the function you mean, or load "
        "with safe_mode=False."
    )
