"""`KerasTensor`: the symbolic tensor that flows through Functional graphs."""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from kiln._src.api_export import keras_export
from kiln._src.backend.dtypes import standardize_dtype


@keras_export("keras.KerasTensor")
class KerasTensor:
    """A shape and dtype, plus where it came from (``_keras_history``).

    ``_keras_history`` is ``(operation, node_index, tensor_index)``: the
    operation that produced it, which call of that operation, and which of its
    outputs.
    """

    def __init__(
        self,
        shape: Any,
        dtype: Any = "float32",
        sparse: bool = False,
        name: str | None = None,
        record_history: Any = None,
    ):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = standardize_dtype(dtype)
        self.sparse = sparse
        self.name = name
        self._keras_history = record_history
        # The symbolic mask of this tensor (e.g. after Embedding(mask_zero=True)).
        self._keras_mask: KerasTensor | None = None

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def to_shape_dtype(self, fill: int) -> jax.ShapeDtypeStruct:
        """A concrete stand-in with every unknown dimension set to ``fill``."""
        shape = tuple(fill if d is None else d for d in self.shape)
        return jax.ShapeDtypeStruct(shape, np.dtype(self.dtype))

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    def __array__(self, *args: Any, **kwargs: Any) -> None:
        raise ValueError(
            "A KerasTensor is symbolic: it has a shape and a dtype but no value, "
            "so it cannot be converted to a NumPy array. It is meant to build "
            "Functional models (keras.Model(inputs, outputs)). To compute on real "
            "data, call the model on NumPy arrays instead."
        )

    def __jax_array__(self) -> None:
        self.__array__()

    def __bool__(self) -> bool:
        raise TypeError(
            "A symbolic KerasTensor cannot be used as a Python bool (e.g. in an "
            "`if` statement). Use `ops.where` / `ops.cond` inside a layer's call."
        )

    __hash__ = object.__hash__


def is_keras_tensor(x: Any) -> bool:
    return isinstance(x, KerasTensor)


def any_symbolic(structure: Any) -> bool:
    return any(is_keras_tensor(x) for x in jax.tree_util.tree_leaves(structure))
