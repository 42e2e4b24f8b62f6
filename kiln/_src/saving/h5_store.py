"""Reading and writing the weights HDF5 file (`model.weights.h5`).

Layout (Keras 3): one group per object at its walk path, a ``vars`` subgroup
with datasets ``"0"``, ``"1"``, ... in the object's variable order, and a
``name`` attribute on each ``vars`` group. Datasets are contiguous and
uncompressed; bfloat16 is stored as 2-byte opaque data with a ``dtype``
attribute.
"""

from __future__ import annotations

import math
import os
from typing import IO, Any

import h5py
import numpy as np
from h5py import h5a, h5d, h5g, h5l, h5o, h5s, h5t

from kiln._src.saving.errors import InvalidFileError
from kiln._src.saving.zip_archive import _Window

try:  # ml_dtypes ships with jaxlib.
    import ml_dtypes

    _BFLOAT16 = np.dtype(ml_dtypes.bfloat16)
except ImportError:  # pragma: no cover
    _BFLOAT16 = None


class H5Writer:
    """Writes variables group by group, one dataset at a time."""

    def __init__(self, file: IO[bytes] | str):
        self._file = h5py.File(file, "w")

    def write(self, path: str, name: str | None, values: list[Any]) -> None:
        group = self._file.require_group(path)
        if isinstance(name, str):
            group.attrs["name"] = name
        for index, value in enumerate(values):
            array = np.asarray(value)
            if _BFLOAT16 is not None and array.dtype == _BFLOAT16:
                dataset = group.create_dataset(
                    str(index), data=array.view(np.dtype("V2"))
                )
                dataset.attrs["dtype"] = "bfloat16"
            else:
                group.create_dataset(str(index), data=array)

    def close(self) -> None:
        self._file.close()


_LINK_NAMES = {
    h5l.TYPE_HARD: "HardLink",
    h5l.TYPE_SOFT: "SoftLink",
    h5l.TYPE_EXTERNAL: "ExternalLink",
}


class CheckedDataset:
    """A dataset whose link, layout, shape and dtype passed every check; its
    data is read later with `H5Reader.read_checked`.

    ``offset`` is the file offset of its bytes when they are stored
    contiguously in the file (and ``None`` otherwise, e.g. chunked data or
    storage never allocated).
    """

    __slots__ = ("where", "dataset_id", "shape", "dtype", "bfloat16", "offset")

    def __init__(
        self,
        where: str,
        dataset_id: h5d.DatasetID | None,
        shape: tuple[int, ...],
        dtype: np.dtype,
        bfloat16: bool,
        offset: int | None,
    ):
        self.where = where
        self.dataset_id = dataset_id
        self.shape = shape
        self.dtype = dtype
        self.bfloat16 = bfloat16
        self.offset = offset


class H5Reader:
    """Reads a weights HDF5 file, checking each dataset before reading it.

    Metadata comes from HDF5's low-level API: one pass over each group's links
    (cached), then a few calls per dataset, and no data is read until
    `read_checked`. A contiguous dataset is read with one positioned read of
    its bytes, straight into the new array.
    """

    def __init__(self, file: IO[bytes] | str, description: str):
        self._description = description
        try:
            self._file = h5py.File(file, "r")
        except OSError as error:
            raise InvalidFileError(
                f"{description} is not a readable HDF5 file ({error}). The file "
                "may be truncated or corrupt; save it again."
            ) from None
        # group path -> (group id, {link name: link type}), or None when the
        # path names no group.
        self._groups: dict[str, tuple[h5g.GroupID, dict[str, int]] | None] = {}
        # HDF5 types seen so far: (type, NumPy dtype, whether the stored bytes
        # are exactly that dtype's bytes).
        self._types: list[tuple[Any, np.dtype, bool]] = []
        # Where contiguous bytes can be read directly: HDF5's own descriptor
        # (a file opened by path) or an in-place window on a zip member.
        self._fd: int | None = None
        self._window: Any = None
        if isinstance(file, (str, os.PathLike)) and self._file.driver == "sec2":
            self._fd = self._file.id.get_vfd_handle()
        elif isinstance(file, _Window):
            self._window = file

    def _group(self, path: str) -> tuple[h5g.GroupID, dict[str, int]] | None:
        if path in self._groups:
            return self._groups[path]
        entry = None
        name = path.encode("utf-8")
        root = self._file.id
        if name in root:
            group = h5o.open(root, name)
            if not isinstance(group, h5g.GroupID):
                raise InvalidFileError(
                    f"{self._description}: '{path}' should be a group of datasets."
                )
            links: dict[str, int] = {}

            def collect(link: bytes, info: Any) -> None:
                links[link.decode("utf-8", "surrogateescape")] = info.type

            group.links.iterate(collect, info=True)
            entry = (group, links)
        self._groups[path] = entry
        return entry

    def has_group(self, path: str) -> bool:
        name = path.encode("utf-8")
        root = self._file.id
        if not path or name not in root:
            return False
        return isinstance(h5o.open(root, name), h5g.GroupID)

    def keys(self, path: str) -> list[str]:
        entry = self._group(path)
        return [] if entry is None else list(entry[1])

    def check(
        self, path: str, key: str, shape: tuple[int, ...], dtype: str
    ) -> CheckedDataset:
        """Checks dataset ``path/key`` (link, layout, shape, dtype) from its
        metadata alone; raises `InvalidFileError` when a check fails."""
        where = f"{self._description}: dataset '{path}/{key}'"
        entry = self._group(path)
        links = {} if entry is None else entry[1]
        if key not in links:
            raise InvalidFileError(
                f"{where} is missing; the group holds {sorted(links)}."
            )
        link_type = links[key]
        if link_type != h5l.TYPE_HARD:
            kind = _LINK_NAMES.get(link_type, "user-defined link")
            raise InvalidFileError(
                f"{where} is a {kind}; only hard links are allowed "
                "(a soft or external link could read data from outside the file)."
            )
        dataset = h5o.open(entry[0], key.encode("utf-8"))
        if not isinstance(dataset, h5d.DatasetID):
            raise InvalidFileError(f"{where} should be a dataset.")
        # Allocated contiguous storage in this file has an offset; external,
        # virtual, chunked and compact layouts do not.
        offset = dataset.get_offset()
        if offset is None:
            plist = dataset.get_create_plist()
            if plist.get_external_count() > 0:
                raise InvalidFileError(
                    f"{where} stores its data in an external file, which is not "
                    "allowed."
                )
            if plist.get_layout() == h5d.VIRTUAL:
                raise InvalidFileError(
                    f"{where} is a virtual dataset, which is not allowed."
                )
        stored_shape = tuple(dataset.shape)
        if stored_shape != tuple(shape):
            raise InvalidFileError(
                f"{where} has shape {stored_shape}, but the variable it "
                f"belongs to has shape {tuple(shape)}."
            )
        stored, exact = self._dtype_of(dataset)
        bfloat16 = h5a.exists(dataset, b"dtype") and (
            h5py.Dataset(dataset).attrs.get("dtype") == "bfloat16"
        )
        if bfloat16:
            if stored.itemsize != 2 or _BFLOAT16 is None:
                raise InvalidFileError(f"{where} claims bfloat16 but is not 2 bytes.")
        elif stored.kind not in "biuf":
            raise InvalidFileError(
                f"{where} has dtype {stored}, which is not numeric. Expected a "
                f"numeric dataset for a {dtype} variable."
            )
        nbytes = stored.itemsize * math.prod(stored_shape)
        if offset is not None and (
            (self._fd is None and self._window is None)
            or not (exact or bfloat16)
            or dataset.get_storage_size() != nbytes
        ):
            offset = None  # read through HDF5
        if offset is not None:
            dataset = None  # not needed again: its bytes are at `offset`
        return CheckedDataset(where, dataset, stored_shape, stored, bfloat16, offset)

    def _dtype_of(self, dataset: h5d.DatasetID) -> tuple[np.dtype, bool]:
        """The dataset's NumPy dtype, and whether its stored bytes are exactly
        that dtype's (no HDF5 conversion needed: not, e.g., a float with a
        custom bit layout). Converting an HDF5 type costs more than comparing
        it, and a weights file holds only a few distinct types."""
        stored_type = dataset.get_type()
        for known_type, known_dtype, exact in self._types:
            if stored_type.equal(known_type):
                return known_dtype, exact
        dtype = stored_type.dtype
        try:
            exact = stored_type.equal(h5t.py_create(dtype))
        except (TypeError, ValueError):
            exact = False
        if len(self._types) < 16:
            self._types.append((stored_type, dtype, exact))
        return dtype, exact

    def read_checked(self, checked: CheckedDataset) -> np.ndarray:
        """Reads a dataset that passed `check`, straight into a new array."""
        stored = np.dtype("V2") if checked.bfloat16 else checked.dtype
        array = np.empty(checked.shape, dtype=stored)
        if array.size:
            if checked.offset is not None:
                self._read_at(checked, memoryview(array).cast("B"))
            elif checked.bfloat16:
                # The file's own type as the memory type: the bytes as stored.
                dataset = checked.dataset_id
                dataset.read(h5s.ALL, h5s.ALL, array, mtype=dataset.get_type())
            else:
                checked.dataset_id.read(h5s.ALL, h5s.ALL, array)
        return array.view(_BFLOAT16) if checked.bfloat16 else array

    def _read_at(self, checked: CheckedDataset, view: memoryview) -> None:
        offset, filled = checked.offset, 0
        while filled < len(view):
            if self._fd is not None:
                count = os.preadv(self._fd, [view[filled:]], offset + filled)
            else:
                self._window.seek(offset + filled)
                count = self._window.readinto(view[filled:])
            if not count:
                raise InvalidFileError(
                    f"{checked.where}: the file ends before the dataset's "
                    f"{len(view)} bytes (read {filled}). The file is truncated; "
                    "save it again."
                )
            filled += count

    def read(
        self, path: str, key: str, shape: tuple[int, ...], dtype: str
    ) -> np.ndarray:
        """Returns dataset ``path/key`` after checking its link, layout, shape
        and dtype, without reading anything when a check fails."""
        return self.read_checked(self.check(path, key, shape, dtype))

    def close(self) -> None:
        self._groups.clear()
        self._types.clear()
        self._file.close()
