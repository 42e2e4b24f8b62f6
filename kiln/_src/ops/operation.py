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


def compute_output_spec(fn: Any, /, *args: Any, **kwargs: Any) -> Any:
    """Output `KerasTensor`s of ``fn(*args, **kwargs)`` without computing.

    Unknown (None) dimensions are traced as JAX symbolic dimensions, in one
    pass; code that cannot handle symbolic sizes is traced twice instead, with
    two different concrete sizes, and dimensions that differ are unknown.
    """
    has_unknown = any(
        isinstance(x, KerasTensor) and None in x.shape
        for x in jax.tree_util.tree_leaves((args, kwargs))
    )
    if not has_unknown:
        return _to_keras_tensors(_trace(fn, args, kwargs, _concrete_fill(_FILL_A)))
    try:
        spec = _trace(fn, args, kwargs, _symbolic_fill())
    except Exception:  # noqa: BLE001 - any failure: retry with concrete sizes
        spec_a = _trace(fn, args, kwargs, _concrete_fill(_FILL_A))
        spec_b = _trace(fn, args, kwargs, _concrete_fill(_FILL_B))
        return jax.tree_util.tree_map(_merge, spec_a, spec_b)
    return _to_keras_tensors(spec)


# Output specs of built-in layers, by (layer kind and config, input
# signature): a model of many identical layers (a 500-layer Sequential) is
# traced once per distinct layer, not once per layer.
_SPEC_MEMO: dict[Any, Any] = {}
_SPEC_MEMO_SIZE = 4096


def _signature(tree: Any) -> Any:
    """A hashable description of call arguments: each `KerasTensor` by shape
    and dtype, other leaves as themselves; None when a leaf is not a plain
    hashable value (its effect on the output could not be keyed)."""
    leaves, treedef = jax.tree_util.tree_flatten(
        tree, is_leaf=lambda x: isinstance(x, KerasTensor)
    )
    described = []
    for leaf in leaves:
        if isinstance(leaf, KerasTensor):
            described.append(("tensor", leaf.shape, leaf.dtype))
        elif leaf is None or isinstance(leaf, bool | int | float | str):
            described.append((type(leaf).__name__, leaf))
        else:
            return None
    return treedef, tuple(described)


def memoized_output_spec(key: Any, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
    """`compute_output_spec`, remembered under ``key`` (what determines `fn`'s
    behaviour, e.g. a built-in layer's class and config) plus the arguments'
    signature. A hit returns new `KerasTensor`s of the remembered shapes."""
    signature = _signature((args, kwargs)) if key is not None else None
    if signature is None:
        return compute_output_spec(fn, *args, **kwargs)
    full_key = (key, signature)
    remembered = _SPEC_MEMO.get(full_key)
    if remembered is None:
        remembered = compute_output_spec(fn, *args, **kwargs)
        if len(_SPEC_MEMO) >= _SPEC_MEMO_SIZE:
            _SPEC_MEMO.clear()
        _SPEC_MEMO[full_key] = remembered
    return jax.tree_util.tree_map(
        lambda x: KerasTensor(x.shape, dtype=x.dtype),
        remembered,
        is_leaf=lambda x: isinstance(x, KerasTensor),
    )


def _concrete_fill(fill: int) -> Any:
    def to_concrete(x: KerasTensor) -> jax.ShapeDtypeStruct:
        return x.to_shape_dtype(fill)

    return to_concrete


def _symbolic_fill() -> Any:
    from jax import export

    counter = iter(range(1_000_000))

    def to_symbolic(x: KerasTensor) -> jax.ShapeDtypeStruct:
        names = [f"d{next(counter)}" if d is None else None for d in x.shape]
        symbols = iter(
            export.symbolic_shape(", ".join(n for n in names if n))
            if any(names)
            else ()
        )
        shape = tuple(next(symbols) if n else d for n, d in zip(names, x.shape))
        return jax.ShapeDtypeStruct(shape, np.dtype(x.dtype))

    return to_symbolic


def _trace(fn: Any, args: Any, kwargs: Any, to_abstract: Any) -> Any:
    abstract_args, abstract_kwargs = jax.tree_util.tree_map(
        lambda x: to_abstract(x) if isinstance(x, KerasTensor) else x,
        (args, kwargs),
        is_leaf=lambda x: isinstance(x, KerasTensor),
    )
    leaves, treedef = jax.tree_util.tree_flatten((abstract_args, abstract_kwargs))
    dynamic = [i for i, x in enumerate(leaves) if isinstance(x, jax.ShapeDtypeStruct)]

    def run(*dynamic_leaves: Any) -> Any:
        filled = list(leaves)
        for i, value in zip(dynamic, dynamic_leaves):
            filled[i] = value
        call_args, call_kwargs = jax.tree_util.tree_unflatten(treedef, filled)
        # Assignments made while tracing (a seed advancing, a moving average)
        # land in this throw-away scope, never in the variables; variables not
        # yet drawn read as zeros.
        with StatelessScope(symbolic=True):
            return fn(*call_args, **call_kwargs)

    return jax.eval_shape(run, *[leaves[i] for i in dynamic])


def _dim(d: Any) -> int | None:
    return d if isinstance(d, int) else None


def _to_keras_tensors(spec: Any) -> Any:
    return jax.tree_util.tree_map(
        lambda a: KerasTensor(
            tuple(_dim(d) for d in a.shape), dtype=np.dtype(a.dtype).name
        ),
        spec,
    )


def _merge(a: Any, b: Any) -> KerasTensor:
    shape = tuple(da if da == db else None for da, db in zip(a.shape, b.shape))
    return KerasTensor(shape, dtype=np.dtype(a.dtype).name)
