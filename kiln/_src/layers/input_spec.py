"""`InputSpec`: what a layer accepts, checked with messages that name the layer."""

from __future__ import annotations

from typing import Any

import jax

from kiln._src.api_export import keras_export


@keras_export(["keras.InputSpec", "keras.layers.InputSpec"])
class InputSpec:
    """The rank, dtype and known dimensions a layer's input must have.

    Args:
        dtype: required dtype, or None.
        shape: required shape (None for free dimensions), or None.
        ndim: required rank. min_ndim / max_ndim: bounds on the rank.
        axes: ``{axis: size}`` for dimensions that must have a given size.
    """

    def __init__(
        self,
        dtype: Any = None,
        shape: Any = None,
        ndim: int | None = None,
        max_ndim: int | None = None,
        min_ndim: int | None = None,
        axes: dict[int, int] | None = None,
        allow_last_axis_squeeze: bool = False,
        name: str | None = None,
        optional: bool = False,
    ):
        self.dtype = dtype
        self.shape = None if shape is None else tuple(shape)
        self.ndim = len(self.shape) if self.shape is not None else ndim
        self.max_ndim = max_ndim
        self.min_ndim = min_ndim
        self.axes = {int(k): v for k, v in (axes or {}).items()}
        self.allow_last_axis_squeeze = allow_last_axis_squeeze
        self.name = name
        self.optional = optional

    def get_config(self) -> dict[str, Any]:
        return {
            "dtype": self.dtype,
            "shape": self.shape,
            "ndim": self.ndim,
            "max_ndim": self.max_ndim,
            "min_ndim": self.min_ndim,
            "axes": self.axes,
        }


def assert_input_compatibility(
    input_spec: InputSpec | list[InputSpec] | None, inputs: Any, layer_name: str
) -> None:
    """Raises ValueError saying which input of which layer breaks the spec."""
    if not input_spec:
        return
    specs = input_spec if isinstance(input_spec, list | tuple) else [input_spec]
    flat = jax.tree_util.tree_leaves(inputs)
    if len(specs) != len(flat) and len(specs) > 1:
        raise ValueError(
            f'Layer "{layer_name}" expects {len(specs)} input(s), but it received '
            f"{len(flat)} input tensors."
        )
    for index, (spec, x) in enumerate(zip(specs, flat)):
        if spec is None:
            continue
        shape = tuple(getattr(x, "shape", ()))
        rank = len(shape)
        where = f'Input {index} of layer "{layer_name}" is incompatible with the layer:'
        if (
            spec.ndim is not None
            and not spec.allow_last_axis_squeeze
            and rank != spec.ndim
        ):
            raise ValueError(
                f"{where} expected ndim={spec.ndim}, found ndim={rank}. "
                f"Full shape received: {shape}"
            )
        if spec.max_ndim is not None and rank > spec.max_ndim:
            raise ValueError(
                f"{where} expected max_ndim={spec.max_ndim}, found ndim={rank}. "
                f"Full shape received: {shape}"
            )
        if spec.min_ndim is not None and rank < spec.min_ndim:
            raise ValueError(
                f"{where} expected min_ndim={spec.min_ndim}, found ndim={rank}. "
                f"Full shape received: {shape}"
            )
        for axis, size in spec.axes.items():
            if size is None:
                continue
            if -rank <= axis < rank and shape[axis] not in (size, None):
                raise ValueError(
                    f"{where} expected axis {axis} of input shape to have value "
                    f"{size}, but received input with shape {shape}"
                )
        if spec.shape is not None:
            for expected, found in zip(spec.shape, shape):
                if expected is not None and found is not None and expected != found:
                    raise ValueError(
                        f"{where} expected shape={spec.shape}, found shape={shape}"
                    )
