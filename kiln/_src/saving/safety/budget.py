"""Budget before build: the bytes a loaded model's variables will take,
checked against hard limits before any variable is allocated.

Loading deserializes the model first; kiln's variables are lazy (a shape and
a dtype, no buffer, no initializer run), so a config that declares a huge
layer costs nothing until its variables are filled. This check runs in
between: it sums every variable's bytes and refuses the file when the sum is
over what the weights file could hold (honest files store weights
uncompressed, so they declare about what they store), or over
`LoadLimits.max_variable_bytes` (8 GiB unless the caller raises it). The
limits are documented in `FORMAT.md` ("Limits").
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from kiln._src.saving import saveable_walk
from kiln._src.saving.errors import InvalidFileError
from kiln._src.saving.safety.limits import (
    DEFAULT_LIMITS,
    LoadLimits,
    MiB,
    raise_hint,
)

# The most bytes all of a loaded model's variables may take together, unless
# the caller raises it (`LoadLimits.max_variable_bytes`).
MAX_TOTAL_VARIABLE_BYTES = DEFAULT_LIMITS.max_variable_bytes
# Variables may declare at most this multiple of the weights file's size,
# plus `WEIGHTS_SLACK_BYTES` (HDF5 metadata, tiny models).
WEIGHTS_SIZE_RATIO = 1.01
WEIGHTS_SLACK_BYTES = 1 * MiB
MAX_RANK = 16
MAX_DIM = 2**31 - 1
_SHOWN = 3  # biggest variables named in a refusal


def _name(variable: Any) -> str:
    return getattr(variable, "path", None) or getattr(variable, "name", "?")


def _variable_bytes(variable: Any, where: str) -> int:
    """Bytes of one variable from its shape and dtype, with Python ints."""
    shape = tuple(variable.shape)
    if len(shape) > MAX_RANK:
        raise InvalidFileError(
            f"{where}: variable '{_name(variable)}' has rank {len(shape)}, "
            f"over the limit of {MAX_RANK}."
        )
    for dim in shape:
        if (
            isinstance(dim, bool)
            or not isinstance(dim, int | np.integer)
            or not 0 <= int(dim) <= MAX_DIM
        ):
            raise InvalidFileError(
                f"{where}: variable '{_name(variable)}' has shape {shape}; "
                f"every dimension must be an integer from 0 to {MAX_DIM}."
            )
    return math.prod(int(dim) for dim in shape) * _itemsize(variable.dtype)


@functools.lru_cache(maxsize=64)
def _itemsize(dtype: Any) -> int:
    return np.dtype(dtype).itemsize


def check_variable_budget(
    model: Any,
    weights_size: int,
    where: str,
    limits: LoadLimits = DEFAULT_LIMITS,
    walked: list[tuple[str, Any]] | None = None,
) -> int:
    """Sums the bytes of every variable a load will fill (the objects
    `saveable_walk.walk` reaches, each variable once) and raises
    `InvalidFileError` naming the biggest ones when the sum is over
    ``limits.max_variable_bytes`` or over ``weights_size * 1.01 + 1 MiB``.
    Returns the sum. ``walked``: the walk's result when the caller has it already.

    Reads only shapes and dtypes: nothing is allocated."""
    sizes: list[tuple[int, int, Any]] = []
    seen: set[int] = set()
    for _, obj in saveable_walk.walk(model) if walked is None else walked:
        for variable in saveable_walk.own_variables(obj):
            if id(variable) in seen:
                continue
            seen.add(id(variable))
            nbytes = _variable_bytes(variable, where)
            sizes.append((nbytes, id(variable), variable))
    total = sum(size for size, _, _ in sizes)
    max_total = limits.max_variable_bytes
    from_file = int(weights_size * WEIGHTS_SIZE_RATIO) + WEIGHTS_SLACK_BYTES
    if total <= max_total and total <= from_file:
        return total
    biggest = sorted(sizes, key=lambda item: item[0], reverse=True)[:_SHOWN]
    shown = ", ".join(
        f"'{_name(variable)}' {tuple(variable.shape)} = {size} bytes"
        for size, _, variable in biggest
    )
    if total > from_file:
        # A config that declares more than its file stores is forged, whatever
        # the cap: raising it would not help.
        raise InvalidFileError(
            f"{where}: the model's config declares {len(sizes)} variables of "
            f"{total} bytes in total, more than the weights file could hold: it "
            f"is {weights_size} bytes, and variables may declare at most "
            f"{WEIGHTS_SIZE_RATIO} x that + {WEIGHTS_SLACK_BYTES} bytes = "
            f"{from_file} bytes (weights are stored uncompressed, so an honest "
            f"file stores what its config declares). Biggest: {shown}. The "
            "config does not match its weights (a forged or corrupted file); "
            "nothing was allocated."
        )
    # An honest model can be this big: say how to raise the cap.
    raise InvalidFileError(
        f"{where}: the model's config declares {len(sizes)} variables of "
        f"{total} bytes in total, over the limit of {max_total} bytes for all "
        f"variables together. Biggest: {shown}. Nothing was allocated. "
        + raise_hint("max_variable_bytes", total)
    )
