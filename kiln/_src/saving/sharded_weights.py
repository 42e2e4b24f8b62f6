"""Sharded weights (`*.weights.json`): a JSON index plus `.weights.h5` shards.

The layout is Keras 3's (``ShardedH5IOStore``). The index holds
``{"metadata": {"total_size": <bytes, float>}, "weight_map": {...}}`` where
each key is the absolute HDF5 name of a ``vars`` group (``"/vars"`` for the
root) and each value names the shards holding its datasets: a string when
the group has one dataset, else a list (even when it is one shard). Shards
are named ``<stem>_<i:05>.weights.h5`` beside the index, ``<stem>`` being
the index's stem with ``.weights`` removed. A variable goes to a new shard
when adding its size (``prod(shape) * bits / 8``) would take the current
shard over ``max_shard_size`` GiB. A group's ``name``
attribute is written where the group is made, so that shard may hold an empty
``vars`` group when the first variable overflowed into the next shard.

Loading keeps one shard open at a time, checks every dataset of every shard
from metadata before it reads any data, and takes shard names from the index
only when they are plain file names in the index's own directory.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
from collections.abc import Iterator
from typing import Any

import h5py
import numpy as np

from kiln._src.saving import file_io
from kiln._src.saving.errors import InvalidFileError
from kiln._src.saving.h5_store import (
    _BFLOAT16,
    CheckedDataset,
    H5Reader,
    natural_key,
)
from kiln._src.saving.safety import directory_checks, json_checks
from kiln._src.saving.safety.limits import DEFAULT_LIMITS, LoadLimits

GiB = 1024**3
INDEX_SUFFIX = ".weights.json"
# An index lists variable groups, so it is small: 16 MiB is generous.
MAX_INDEX_BYTES = 16 * 1024 * 1024
MAX_SHARDS = 100_000
# Keras's bits per element; other dtypes use their item size.
_BITS = {"bool": 1, "bfloat16": 16}
_SHARD_NAME = re.compile(r"[^/\\:\x00-\x1f]+_[0-9]{5,}\.weights\.h5")


def shard_base_name(index_path: str) -> str:
    """The shard stem for an index path: ``m.weights.json`` -> ``m``."""
    stem, _ = os.path.splitext(os.path.basename(index_path))
    return stem.replace(".weights", "")


def shard_name(base: str, index: int) -> str:
    return f"{base}_{index:05}.weights.h5"


def _size_in_bytes(shape: tuple[int, ...], dtype: Any) -> float:
    name = str(dtype)
    bits = _BITS.get(name)
    if bits is None:
        bits = np.dtype(name).itemsize * 8
    return math.prod(shape) * bits / 8


def _readable(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024:
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} PB"


def max_shard_bytes(max_shard_size: Any) -> float:
    """``max_shard_size`` (GiB, int or float) in bytes, after checking it."""
    if isinstance(max_shard_size, bool) or not isinstance(
        max_shard_size, int | float | np.integer | np.floating
    ):
        raise TypeError(
            "`max_shard_size` must be a number of GiB (int or float). "
            f"Received: max_shard_size={max_shard_size!r}"
        )
    size = float(max_shard_size) * GiB
    if not math.isfinite(size) or size <= 0:
        raise ValueError(
            "`max_shard_size` must be a positive, finite number of GiB. "
            f"Received: max_shard_size={max_shard_size!r}"
        )
    return size


# -- saving ----------------------------------------------------------------------


def _plan(model: Any, limit: float) -> tuple[list[tuple[str, Any, list[Any]]], float]:
    """Walks the model once: ``[(vars group, name, [(variable, shard), ...])]``
    and the total size, raising before any file is touched when a variable
    is larger than the limit."""
    from kiln._src.saving import saveable_walk

    groups: list[tuple[str, Any, list[Any]]] = []
    shard, used, total = 0, 0.0, 0
    for path, obj in saveable_walk.walk(model):
        group = saveable_walk.vars_path(path)
        placed = []
        for index, variable in enumerate(saveable_walk.own_variables(obj)):
            size = _size_in_bytes(tuple(variable.shape), variable.dtype)
            total += size
            if size > limit:
                raise ValueError(
                    f"Variable '{variable.path}' (dataset '{group}/{index}') is "
                    f"{_readable(size)}, larger than the maximum shard size "
                    f"{_readable(limit)}. Increase `max_shard_size`. Received: "
                    f"max_shard_size={limit / GiB!r}"
                )
            used += size
            if used > limit:
                shard, used = shard + 1, size
            placed.append((variable, shard))
        groups.append((group, getattr(obj, "name", None), placed))
    return groups, total


def _add_dataset(group: h5py.Group, key: str, value: Any) -> None:
    array = np.asarray(value)
    if _BFLOAT16 is not None and array.dtype == _BFLOAT16:
        dataset = group.create_dataset(key, data=array.view(np.dtype("V2")))
        dataset.attrs["dtype"] = "bfloat16"
    else:
        group.create_dataset(key, data=array)


def save_sharded_weights(model: Any, path: str, max_shard_size: Any) -> None:
    """Writes ``path`` (the index) and its shards.

    Every file is written to a temporary beside it; the shards are renamed
    into place only after all of them are complete, and the index last, so a
    failed save leaves no new index and no half-written shard.
    """
    limit = max_shard_bytes(max_shard_size)
    groups, total = _plan(model, limit)
    directory = os.path.dirname(path)
    base = shard_base_name(path)
    weight_map: dict[str, Any] = {}
    with contextlib.ExitStack() as stack:
        index_file = stack.enter_context(file_io.atomic_write(path))
        shard_names: list[str] = []
        current: h5py.File | None = None

        def open_shard(number: int) -> h5py.File:
            nonlocal current
            if current is not None:
                current.close()
            shard_names.append(shard_name(base, number))
            target = os.path.join(directory, shard_names[-1])
            current = h5py.File(stack.enter_context(file_io.atomic_write(target)), "w")
            return current

        try:
            h5 = open_shard(0)
            for group_path, name, placed in groups:
                made = False
                if isinstance(name, str):
                    h5.require_group(group_path).attrs["name"] = name
                    made = True
                for index, (variable, shard) in enumerate(placed):
                    if shard != len(shard_names) - 1:
                        h5, made = open_shard(shard), False
                    if not made:
                        h5.require_group(group_path)
                        made = True
                    _add_dataset(h5[group_path], str(index), variable.value)
                    key, file_name = "/" + group_path, shard_names[-1]
                    listed = weight_map.get(key)
                    if listed is None:
                        weight_map[key] = file_name
                    elif isinstance(listed, str):  # a second dataset: a list
                        weight_map[key] = list(dict.fromkeys([listed, file_name]))
                    elif file_name not in listed:
                        listed.append(file_name)
        finally:
            if current is not None:
                current.close()
        index = {"metadata": {"total_size": total}, "weight_map": weight_map}
        index_file.write(json.dumps(index, indent=4).encode("ascii"))
    file_io.remove_stale_temporaries(path)


# -- the index -------------------------------------------------------------------


def _check_shard_name(name: Any, index_path: str, key: str) -> str:
    where = f"'{index_path}': weight_map['{key}']"
    if not isinstance(name, str):
        raise InvalidFileError(
            f"{where} should name shard files (strings). Received: {name!r}"
        )
    if (
        name in ("", ".", "..")
        or name.startswith(".")
        or os.path.basename(name) != name
        or os.path.isabs(name)
        or not _SHARD_NAME.fullmatch(name)
    ):
        raise InvalidFileError(
            f"{where} names the shard {name!r}, which is not a plain shard file "
            "name in the index's directory. Expected a name like "
            "'model_00000.weights.h5' (no directories, no '..'). Re-save the "
            "weights, or fix the index."
        )
    return name


class ShardIndex:
    """A parsed, checked ``*.weights.json`` index.

    Attributes:
        path: the index path.
        directory: the directory its shards must be in.
        weight_map: ``{"/layers/dense/vars": ["m_00000.weights.h5", ...]}``
            (every value a list of checked, distinct plain names).
        shards: the distinct shard names, in order of first mention.
        total_size: the ``metadata.total_size`` field (or None).
    """

    def __init__(self, path: str, limits: LoadLimits = DEFAULT_LIMITS):
        self.path = path
        self.limits = limits
        self.directory = os.path.dirname(os.path.abspath(path))
        if not file_io.exists(path):
            raise FileNotFoundError(f"File not found: filepath={path}")
        # A regular file only (a FIFO or device is refused without blocking).
        with file_io.open_read(path) as file:
            size = os.fstat(file.fileno()).st_size
            if size > MAX_INDEX_BYTES:
                raise InvalidFileError(
                    f"'{path}' is {size} bytes, over the {MAX_INDEX_BYTES}-byte "
                    "limit for a shard index."
                )
            data = file.read(MAX_INDEX_BYTES + 1)
        parsed = json_checks.load_json(data, f"'{path}'", max_bytes=MAX_INDEX_BYTES)
        weight_map = parsed.get("weight_map")
        if not isinstance(weight_map, dict):
            raise InvalidFileError(
                f"'{path}' has no 'weight_map' object, so it is not a sharded "
                'weights index. Expected {"metadata": {...}, "weight_map": '
                "{group: shard file(s)}}."
            )
        metadata = parsed.get("metadata", {})
        if not isinstance(metadata, dict):
            raise InvalidFileError(f"'{path}': 'metadata' should be an object.")
        total = metadata.get("total_size")
        if total is not None and (
            isinstance(total, bool) or not isinstance(total, int | float)
        ):
            raise InvalidFileError(
                f"'{path}': metadata['total_size'] should be a number. "
                f"Received: {total!r}"
            )
        self.total_size = total
        self.weight_map: dict[str, list[str]] = {}
        seen: dict[str, None] = {}
        for key, value in weight_map.items():
            if not (key == "/vars" or (key.startswith("/") and key.endswith("/vars"))):
                raise InvalidFileError(
                    f"'{path}': weight_map key {key!r} is not a variable group "
                    "name. Expected '/vars' or '/<path>/vars'."
                )
            names = [value] if isinstance(value, str) else value
            if not isinstance(names, list) or not names:
                raise InvalidFileError(
                    f"'{path}': weight_map['{key}'] should be a shard file name or "
                    f"a non-empty list of them. Received: {value!r}"
                )
            checked = [_check_shard_name(name, path, key) for name in names]
            if len(set(checked)) != len(checked):
                raise InvalidFileError(
                    f"'{path}': weight_map['{key}'] lists a shard twice: {checked}."
                )
            self.weight_map[key] = checked
            for name in checked:
                seen.setdefault(name, None)
        if len(seen) > MAX_SHARDS:
            raise InvalidFileError(
                f"'{path}' lists {len(seen)} shards, over the limit of {MAX_SHARDS}."
            )
        self.shards = list(seen)

    def shard_path(self, name: str) -> str:
        """The checked path of shard ``name``: a file of its own directly in
        the index's directory, by the rules for the members of a model
        directory (`directory_checks.check_member_file`: a regular file, not
        a symbolic link, one hard link, at most `LoadLimits.max_weights_bytes`), so a
        shard never stands for a file that lives elsewhere."""
        full = os.path.join(self.directory, name)

        def fail(member: str, rule: str) -> InvalidFileError:
            return InvalidFileError(
                f"'{self.path}': refusing to read shard '{member}': {rule} "
                "Shards must be plain files of their own beside the index; "
                "copy them there (or re-save the weights)."
            )

        try:
            directory_checks.check_member_file(
                self.directory,
                name,
                self.limits.max_weights_bytes,
                fail,
                "max_weights_bytes",
            )
        except FileNotFoundError:
            raise InvalidFileError(
                f"'{self.path}' lists shard '{name}', but '{full}' does not exist. "
                "Copy every shard next to the index (or re-save the weights)."
            ) from None
        return full


# -- loading ---------------------------------------------------------------------


class _ShardChecked:
    """A dataset that passed its checks in a shard closed since; it is
    checked again (metadata only) when its shard is reopened to read it."""

    __slots__ = ("where", "shard", "group", "key", "shape", "dtype")

    def __init__(
        self, checked: CheckedDataset, shard: str, group: str, key: str, dtype: str
    ):
        self.where = checked.where
        self.shard = shard
        self.group = group
        self.key = key
        self.shape = checked.shape
        self.dtype = dtype


class ShardedReader:
    """Reads a sharded save with `H5Reader`'s ``keys``/``check``/``read_checked``
    interface, so `saving_lib.load_weights_into` takes it unchanged.

    At most one shard is open at any time; ``opened`` records each shard
    opening and ``max_open`` the most shards ever open at once.
    """

    def __init__(self, index: ShardIndex):
        self._index = index
        self._current: tuple[str, H5Reader] | None = None
        self._open = 0
        self.max_open = 0
        self.opened: list[str] = []
        # group -> {key: shard}
        self._located: dict[str, dict[str, str]] = {}

    def _reader(self, shard: str) -> H5Reader:
        if self._current is not None and self._current[0] == shard:
            return self._current[1]
        self.close()
        full = self._index.shard_path(shard)
        reader = H5Reader(full, f"'{full}' (shard of '{self._index.path}')")
        self._current = (shard, reader)
        self._open += 1
        self.max_open = max(self.max_open, self._open)
        self.opened.append(shard)
        return reader

    def _key(self, group: str) -> str:
        return "/" + group

    def keys(self, group: str) -> list[str]:
        located: dict[str, str] = {}
        for shard in self._index.weight_map.get(self._key(group), []):
            self._collect(group, shard, located)
        self._located[group] = located
        return list(located)

    def _collect(self, group: str, shard: str, located: dict[str, str]) -> list[str]:
        """Adds the datasets of ``group`` in ``shard`` to ``located`` (dataset
        -> shard) and returns their names. Keras lists a shard for a group
        only when it wrote a dataset of the group there, so a listed shard
        without one is refused: each listing then stands for at least one
        dataset, and the shard openings a hostile index can cause are bounded
        by the datasets the shards hold."""
        reader = self._reader(shard)
        if not reader.has_group(group):
            raise InvalidFileError(
                f"'{self._index.path}' says shard '{shard}' holds group "
                f"'{group}', but the shard has no such group. The shard does "
                "not belong to this index; re-save the weights."
            )
        names = reader.keys(group)
        if not names:
            raise InvalidFileError(
                f"'{self._index.path}' lists shard '{shard}' for group "
                f"'{group}', but the shard holds no dataset of it. The shard "
                "does not belong to this index; re-save the weights."
            )
        for key in names:
            if key in located:
                raise InvalidFileError(
                    f"Dataset '{group}/{key}' is in both shard "
                    f"'{located[key]}' and shard '{shard}' of "
                    f"'{self._index.path}'; each dataset must be in one shard."
                )
            located[key] = shard
        return names

    def has_group(self, group: str) -> bool:
        return self._key(group) in self._index.weight_map

    def check(
        self, group: str, key: str, shape: tuple[int, ...], dtype: str
    ) -> _ShardChecked:
        located = self._located.get(group)
        if located is None:
            self.keys(group)
            located = self._located[group]
        shard = located.get(key)
        if shard is None:
            raise InvalidFileError(
                f"'{self._index.path}': dataset '{group}/{key}' is in none of the "
                f"shards listed for '{self._key(group)}' "
                f"({self._index.weight_map.get(self._key(group), [])})."
            )
        checked = self._reader(shard).check(group, key, shape, dtype)
        return _ShardChecked(checked, shard, group, key, dtype)

    def read_checked(self, checked: _ShardChecked) -> np.ndarray:
        reader = self._reader(checked.shard)
        again = reader.check(checked.group, checked.key, checked.shape, checked.dtype)
        return reader.read_checked(again)

    def close(self) -> None:
        if self._current is not None:
            reader, self._current = self._current[1], None
            self._open -= 1
            reader.close()


def load_sharded_weights(
    model: Any, path: str, skip_mismatch: bool, limits: LoadLimits = DEFAULT_LIMITS
) -> ShardedReader:
    """Loads a sharded save into ``model``, each shard within ``limits``;
    returns the (closed) reader, whose bookkeeping tells which shards were
    opened."""
    from kiln._src.saving.saving_lib import load_weights_into

    reader = ShardedReader(ShardIndex(path, limits))
    try:
        load_weights_into(model, reader, skip_mismatch)
    finally:
        reader.close()
    return reader


def iter_shard_datasets(
    index: ShardIndex, reader: ShardedReader | None = None
) -> Iterator[tuple[str, str, tuple[int, ...], str, int]]:
    """Yields ``(shard, dataset path, shape, dtype, bytes)`` for every dataset
    the index points at, from HDF5 metadata alone (for `kiln inspect`).

    Read through `ShardedReader`, the loader's own reader: the shard rules of
    `ShardIndex.shard_path`, the listing rules of `ShardedReader._collect`,
    and every `H5Reader.check` (hard links only, no external storage, stored
    bytes that account for the declared ones), so a link to another file is
    refused rather than listed. Shard by shard, each opened once (``reader``,
    a new `ShardedReader` by default, records the openings)."""
    by_shard: dict[str, list[str]] = {name: [] for name in index.shards}
    for key, shards in index.weight_map.items():
        for shard in shards:
            by_shard[shard].append(key.lstrip("/"))
    reader = ShardedReader(index) if reader is None else reader
    located: dict[str, dict[str, str]] = {}
    try:
        for shard, groups in by_shard.items():
            for group in groups:
                names = reader._collect(group, shard, located.setdefault(group, {}))
                for name in sorted(names, key=natural_key):
                    checked = reader._reader(shard).check(group, name, None, "numeric")
                    dtype = "bfloat16" if checked.bfloat16 else checked.dtype.name
                    size = checked.dtype.itemsize * math.prod(checked.shape)
                    yield shard, f"{group}/{name}", checked.shape, dtype, size
    finally:
        reader.close()
