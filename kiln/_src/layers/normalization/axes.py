"""Axis checks shared by the normalization layers."""

from __future__ import annotations

from typing import Any


def standardize_axis(axis: Any, layer_name: str) -> int | list[int]:
    """An int stays an int, a list/tuple of ints becomes a list."""
    if isinstance(axis, list | tuple) and all(
        isinstance(a, int) and not isinstance(a, bool) for a in axis
    ):
        return list(axis)
    if isinstance(axis, int) and not isinstance(axis, bool):
        return axis
    raise TypeError(
        f"{layer_name} expects `axis` to be an int or a list/tuple of ints, "
        f"e.g. axis=-1 or axis=[1, 2]. Received: axis={axis!r}"
    )


def check_axes(axis: Any, input_shape: Any, layer_name: str) -> None:
    """Raises ValueError when an axis does not exist in `input_shape`."""
    axes = [axis] if isinstance(axis, int) else list(axis)
    rank = len(input_shape)
    for a in axes:
        if a >= rank or a < -rank:
            raise ValueError(
                f"{layer_name}: axis {a} is out of bounds for inputs of rank "
                f"{rank} (shape {tuple(input_shape)}); use an axis in "
                f"[{-rank}, {rank}). Received: axis={axis}"
            )


def check_known(axes: list[int], input_shape: Any, layer_name: str) -> None:
    """Raises ValueError when a normalized axis has an unknown size."""
    for a in axes:
        if input_shape[a] is None:
            raise ValueError(
                f"{layer_name} needs the size of axis {a} of its input to be "
                f"known to create its weights. Received: input_shape="
                f"{tuple(input_shape)}"
            )
