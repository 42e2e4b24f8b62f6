"""`InputLayer` and `Input`: the entry points of a Functional graph."""

from __future__ import annotations

from typing import Any

from kiln._src.api_export import keras_export
from kiln._src.backend import config as backend_config
from kiln._src.backend.dtypes import standardize_dtype
from kiln._src.backend.keras_tensor import KerasTensor
from kiln._src.layers.layer import Layer
from kiln._src.ops.node import Node


@keras_export(["keras.layers.InputLayer"])
class InputLayer(Layer):
    """Holds the symbolic input of a model; made by `keras.Input`.

    Args:
        shape: the shape of one sample, e.g. ``(32,)`` (no batch axis).
        batch_size: an optional fixed batch size.
        dtype: the input's dtype (default floatx()).
        batch_shape: the full shape with the batch axis, instead of `shape`.
        name: the input's name.
    """

    def __init__(
        self,
        shape: Any = None,
        batch_size: int | None = None,
        dtype: Any = None,
        sparse: bool | None = None,
        ragged: bool | None = None,
        batch_shape: Any = None,
        input_tensor: Any = None,
        optional: bool = False,
        name: str | None = None,
        **kwargs: Any,
    ):
        # Keras 2-era configs spell the shape differently.
        if "input_shape" in kwargs:
            shape = kwargs.pop("input_shape")
        if "batch_input_shape" in kwargs:
            batch_shape = kwargs.pop("batch_input_shape")
        super().__init__(name=name, **kwargs)
        if shape is not None and batch_shape is not None:
            raise ValueError(
                "Pass only one of `shape` and `batch_shape` to InputLayer. "
                f"Received: shape={shape}, batch_shape={batch_shape}"
            )
        if input_tensor is not None:
            batch_shape = input_tensor.shape
            dtype = dtype or input_tensor.dtype
        if batch_shape is None:
            if shape is None:
                raise ValueError(
                    "An Input needs a shape: pass `shape=(...)` (without the batch "
                    "axis) or `batch_shape=(...)`. Received: shape=None"
                )
            if isinstance(shape, int):
                shape = (shape,)
            batch_shape = (batch_size, *tuple(shape))
        batch_shape = tuple(batch_shape)
        for dim in batch_shape:
            if dim is not None and (not isinstance(dim, int) or dim < 0):
                raise ValueError(
                    "Input shapes may contain only non-negative integers and "
                    f"None. Received: batch_shape={batch_shape}"
                )
        if sparse or ragged:
            raise NotImplementedError(
                "kiln does not support sparse or ragged inputs. "
                f"Received: sparse={sparse}, ragged={ragged}"
            )
        self._batch_shape = batch_shape
        self._dtype = standardize_dtype(dtype or backend_config.floatx())
        self.sparse = False
        self.ragged = False
        self.optional = optional
        self.built = True
        tensor = KerasTensor(batch_shape, dtype=self._dtype, name=self.name)
        Node(self, call_args=(), call_kwargs={}, outputs=tensor)
        self._input_tensor = tensor

    @property
    def batch_shape(self) -> tuple[Any, ...]:
        return self._batch_shape

    @property
    def dtype(self) -> str:
        return self._dtype

    @property
    def output(self) -> KerasTensor:
        return self._input_tensor

    def call(self, inputs: Any = None) -> Any:
        return inputs

    def get_config(self) -> dict[str, Any]:
        return {
            "batch_shape": list(self._batch_shape),
            "dtype": self._dtype,
            "sparse": False,
            "ragged": False,
            "name": self.name,
            "optional": self.optional,
        }


@keras_export(["keras.Input", "keras.layers.Input"])
def Input(  # noqa: N802 - Keras's name
    shape: Any = None,
    batch_size: int | None = None,
    dtype: Any = None,
    sparse: bool | None = None,
    ragged: bool | None = None,
    batch_shape: Any = None,
    name: str | None = None,
    tensor: Any = None,
    optional: bool = False,
) -> KerasTensor:
    """A symbolic input to start a Functional model.

    Args:
        shape: the shape of one sample, without the batch axis, e.g. ``(32,)``.
        batch_size: an optional fixed batch size.
        dtype: the input's dtype (default floatx()).
        batch_shape: the full shape including the batch axis.
        name: a name for the input (unique within the model).

    Example:
        >>> x = keras.Input(shape=(32,))
        >>> x.shape
        (None, 32)
    """
    layer = InputLayer(
        shape=shape,
        batch_size=batch_size,
        dtype=dtype,
        sparse=sparse,
        ragged=ragged,
        batch_shape=batch_shape,
        input_tensor=tensor,
        optional=optional,
        name=name,
    )
    return layer.output
