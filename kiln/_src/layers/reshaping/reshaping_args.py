"""Argument checks shared by the cropping, padding and up-sampling layers."""

from __future__ import annotations

from typing import Any

from kiln._src.backend import config as backend_config

_ORDINALS = ("1st", "2nd", "3rd")


def standardize_data_format(data_format: str | None) -> str:
    """``None`` -> the global image data format; otherwise checked."""
    if data_format is None:
        return backend_config.image_data_format()
    value = str(data_format).lower()
    if value not in ("channels_first", "channels_last"):
        raise ValueError(
            "The `data_format` argument must be one of 'channels_first', "
            f"'channels_last'. Received: data_format={data_format!r}"
        )
    return value


def standardize_tuple(
    value: Any, n: int, name: str, allow_zero: bool = False
) -> tuple[int, ...]:
    """An int or an iterable of `n` ints -> a tuple of `n` non-negative (or
    positive, without `allow_zero`) ints."""
    message = (
        f"The `{name}` argument must be a tuple of {n} integers. "
        f"Received: {name}={value!r}"
    )
    if isinstance(value, bool):
        raise ValueError(message)
    if isinstance(value, int):
        values = (value,) * n
    else:
        try:
            values = tuple(value)
        except TypeError:
            raise ValueError(message) from None
        if len(values) != n or any(
            isinstance(v, bool) or not isinstance(v, int) for v in values
        ):
            raise ValueError(message)
    lowest = 0 if allow_zero else 1
    if any(v < lowest for v in values):
        requirement = ">= 0" if allow_zero else "> 0"
        raise ValueError(
            f"The `{name}` argument must be a tuple of {n} integers {requirement}. "
            f"Received: {name}={value!r}"
        )
    return values


def standardize_pairs(value: Any, rank: int, name: str) -> tuple[tuple[int, int], ...]:
    """Cropping/padding amounts for `rank` spatial axes: an int (same on every
    side), `rank` ints (symmetric per axis) or `rank` pairs ``(before, after)``.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"`{name}` cannot be negative. Received: {name}={value}.")
        return ((value, value),) * rank
    if not hasattr(value, "__len__") or isinstance(value, str):
        raise ValueError(
            f"`{name}` should be an int, a tuple of {rank} ints (symmetric "
            f"amounts per spatial axis), or a tuple of {rank} tuples of 2 ints "
            f"((before, after) per spatial axis). Received: {name}={value!r}."
        )
    if len(value) != rank:
        raise ValueError(
            f"`{name}` should have {rank} elements, one per spatial axis. "
            f"Received: {name}={value!r}."
        )
    return tuple(
        standardize_tuple(entry, 2, f"{_ORDINALS[i]} entry of {name}", True)
        for i, entry in enumerate(value)
    )


def spatial_axes(rank: int, data_format: str) -> tuple[int, ...]:
    """The positions of the `rank` spatial axes in a batched input."""
    first = 2 if data_format == "channels_first" else 1
    return tuple(range(first, first + rank))


def cropped_shape(
    input_shape: Any,
    cropping: tuple[tuple[int, int], ...],
    axes: tuple[int, ...],
    layer_name: str,
) -> tuple[Any, ...]:
    """The shape after cropping; raises if a crop removes a whole axis."""
    shape = list(input_shape)
    for axis, (before, after) in zip(axes, cropping):
        if shape[axis] is None:
            continue
        if before + after >= shape[axis]:
            raise ValueError(
                f"Layer '{layer_name}': values in `cropping` should be smaller "
                "than the corresponding spatial dimension of the input (cropping "
                f"{(before, after)} would remove all {shape[axis]} entries of "
                f"axis {axis}). Received: input_shape={tuple(input_shape)}, "
                f"cropping={cropping}"
            )
        shape[axis] -= before + after
    return tuple(shape)


def crop(
    inputs: Any,
    cropping: tuple[tuple[int, int], ...],
    axes: tuple[int, ...],
    layer_name: str,
) -> Any:
    cropped_shape(inputs.shape, cropping, axes, layer_name)
    index = [slice(None)] * inputs.ndim
    for axis, (before, after) in zip(axes, cropping):
        index[axis] = slice(before, inputs.shape[axis] - after)
    return inputs[tuple(index)]


def padded_shape(
    input_shape: Any, padding: tuple[tuple[int, int], ...], axes: tuple[int, ...]
) -> tuple[Any, ...]:
    shape = list(input_shape)
    for axis, (before, after) in zip(axes, padding):
        if shape[axis] is not None:
            shape[axis] += before + after
    return tuple(shape)


def pad(
    inputs: Any, padding: tuple[tuple[int, int], ...], axes: tuple[int, ...]
) -> Any:
    import jax.numpy as jnp

    widths = [(0, 0)] * inputs.ndim
    for axis, amounts in zip(axes, padding):
        widths[axis] = tuple(amounts)
    return jnp.pad(inputs, widths)
