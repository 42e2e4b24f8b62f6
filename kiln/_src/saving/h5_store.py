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
import re
from typing import IO, Any

import h5py
import numpy as np
from h5py import h5a, h5d, h5g, h5l, h5o, h5s, h5t, h5z

from kiln._src.saving import file_io
from kiln._src.saving.errors import InvalidFileError
from kiln._src.saving.zip_archive import _Window

try:  # ml_dtypes ships with jaxlib.
    import ml_dtypes

    _BFLOAT16 = np.dtype(ml_dtypes.bfloat16)
except ImportError:  # pragma: no cover
    _BFLOAT16 = None


# XLA's CPU client adopts a host buffer without copying when it is aligned to
# this many bytes, so a variable filled from a file holds the read bytes.
_XLA_ALIGNMENT = 64


def aligned_empty(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """An uninitialized array whose data starts on a 64-byte boundary."""
    nbytes = math.prod(shape) * np.dtype(dtype).itemsize
    buffer = np.empty(nbytes + _XLA_ALIGNMENT, dtype=np.uint8)
    start = -buffer.ctypes.data % _XLA_ALIGNMENT
    return buffer[start : start + nbytes].view(dtype).reshape(shape)


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

# Reading limits (documented in FORMAT.md, "Limits").
MAX_GROUP_DEPTH = 64
MAX_LINKS_PER_GROUP = 1_000_000
MAX_ATTRIBUTE_BYTES = 64 * 1024
# A chunk may be as large as its dataset, or this, whichever is larger.
MIN_CHUNK_LIMIT = 1024 * 1024
# Filters that never change the size of the data they pass. Deflate is not
# here: libhdf5 grows its output buffer until a stream ends, so a small chunk
# can expand about 1000-fold in memory before any size is checked.
ALLOWED_FILTERS = {h5z.FILTER_SHUFFLE: "shuffle", h5z.FILTER_FLETCHER32: "fletcher32"}
_FILTER_NAMES = {
    h5z.FILTER_DEFLATE: "deflate (gzip)",
    h5z.FILTER_SZIP: "szip",
    h5z.FILTER_NBIT: "n-bit",
    h5z.FILTER_SCALEOFFSET: "scale-offset",
    32000: "LZF",
}
_CLASS_NAMES = {
    h5t.STRING: "string",
    h5t.COMPOUND: "compound",
    h5t.VLEN: "variable-length",
    h5t.ARRAY: "array",
    h5t.REFERENCE: "reference",
    h5t.BITFIELD: "bitfield",
    h5t.TIME: "time",
}
_NOT_NUMERIC = np.dtype("V1")
# What h5py raises when libhdf5 cannot parse a damaged file's metadata.
_METADATA_ERRORS = (OSError, RuntimeError, KeyError, ValueError, TypeError)


def natural_key(name: str) -> list[Any]:
    """Sort key putting "vars/2" before "vars/10" (digit runs compare as
    numbers), the order in which a model holds its variables."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _kind_of(obj: Any) -> str:
    if isinstance(obj, h5g.GroupID):
        return "a group"
    if isinstance(obj, h5d.DatasetID):
        return "a dataset"
    if isinstance(obj, h5t.TypeID):
        return "a named datatype"
    return "an object of another kind"


def _classify(stored_type: Any) -> tuple[np.dtype, bool, str | None]:
    """(NumPy dtype, stored bytes are exactly that dtype's, why the type is
    not allowed or ``None``) for an HDF5 element type."""
    type_class = stored_type.get_class()
    size = stored_type.get_size()
    if type_class == h5t.OPAQUE:
        if size == 2:
            return np.dtype("V2"), True, None  # bfloat16 (checked by its marker)
        return (
            _NOT_NUMERIC,
            False,
            f"{size}-byte opaque elements, which are not numeric",
        )
    if type_class not in (h5t.INTEGER, h5t.FLOAT, h5t.ENUM):
        name = _CLASS_NAMES.get(type_class, f"class {type_class}")
        return _NOT_NUMERIC, False, f"{name} elements, which are not numeric"
    try:
        dtype = stored_type.dtype
    except (TypeError, ValueError):
        return _NOT_NUMERIC, False, "an element type NumPy cannot represent"
    if type_class == h5t.ENUM and dtype != np.dtype(bool):
        return _NOT_NUMERIC, False, "enum elements, which are not numeric"
    if dtype.kind not in "biuf" or dtype.itemsize > 8 or size > 8:
        return _NOT_NUMERIC, False, f"dtype {dtype}, which is not numeric"
    try:
        exact = stored_type.equal(h5t.py_create(dtype))
    except (TypeError, ValueError):
        exact = False
    return dtype, exact, None


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


def _open_h5(file: IO[bytes] | str) -> h5py.File:
    """Opens an HDF5 file for reading. A path is opened by `file_io.open_read`
    first (never blocking: a FIFO, device or directory is refused), and
    libhdf5 then opens that very file by its descriptor's name, so what it
    reads is what was checked (libhdf5 opens by name from C, where a FIFO
    would block forever)."""
    if not isinstance(file, (str, os.PathLike)):
        return h5py.File(file, "r")
    path = os.fspath(file)
    with file_io.open_read(path) as checked:
        name = file_io.native_path(checked)
        try:
            h5 = h5py.File(name or path, "r")
        except OSError as error:
            # Name the user's path, not the descriptor's.
            message = str(error).replace(name, path) if name else str(error)
            raise OSError(message) from None
        # Without descriptor names, libhdf5 opens the path again; the file it
        # opened must still be the one checked (a path swapped for a FIFO in
        # between, by another process, is the one case left: not covered).
        if name is None and not os.path.samestat(
            os.fstat(checked.fileno()), os.fstat(h5.id.get_vfd_handle())
        ):
            h5.close()
            raise InvalidFileError(f"'{path}' was replaced while it was opened.")
    return h5


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
            self._file = _open_h5(file)
        except InvalidFileError:
            raise  # not a regular file: the message names the path
        except _METADATA_ERRORS as error:
            if "truncated file" in str(error):
                raise InvalidFileError(
                    f"{description} is truncated: it ends before the end its "
                    f"HDF5 superblock records ({error}). Copy or save it again."
                ) from None
            raise InvalidFileError(
                f"{description} is not a readable HDF5 file ({error}). The file "
                "may be truncated or corrupt; save it again."
            ) from None
        # group path -> (group id, {link name: (link type, address)}), None
        # when the path names nothing, or what it names when not a group.
        self._groups: dict[str, Any] = {}
        # object address -> the one path it was reached at.
        self._claimed: dict[int, str] = {}
        # HDF5 types seen so far: (type, (NumPy dtype, whether the stored
        # bytes are exactly that dtype's, why the type is refused or None)).
        self._types: list[tuple[Any, tuple[np.dtype, bool, str | None]]] = []
        # Where contiguous bytes can be read directly: HDF5's own descriptor
        # (a file opened by path) or an in-place window on a zip member.
        self._fd: int | None = None
        self._window: Any = None
        self._size: int | None = None  # the file's size, once asked
        if isinstance(file, (str, os.PathLike)) and self._file.driver == "sec2":
            self._fd = self._file.id.get_vfd_handle()
        elif isinstance(file, _Window):
            self._window = file

    def _group(
        self, path: str
    ) -> tuple[h5g.GroupID, dict[str, tuple[int, Any]]] | None:
        """The group at ``path`` and its links (name -> (link type, address)),
        or ``None`` when some component is missing. Raises `InvalidFileError`
        when a component is not a hard link to a group."""
        entry = self._lookup(path)
        if isinstance(entry, str):
            raise InvalidFileError(
                f"{self._description}: '{path}' should be a group of datasets, "
                f"but it is {entry}."
            )
        return entry

    def _lookup(
        self, path: str
    ) -> tuple[h5g.GroupID, dict[str, tuple[int, Any]]] | None | str:
        try:
            return self._resolve(path)
        except InvalidFileError:
            raise
        except _METADATA_ERRORS as error:
            raise self._corrupt(f"group '{path}'", error) from None

    def _corrupt(self, what: str, error: Exception) -> InvalidFileError:
        return InvalidFileError(
            f"{self._description}: the metadata of {what} cannot be read "
            f"({type(error).__name__}: {error}). The file is corrupt; save it again."
        )

    def _resolve(
        self, path: str
    ) -> tuple[h5g.GroupID, dict[str, tuple[int, Any]]] | None | str:
        """Resolves ``path`` one component at a time from the root, following
        only hard links (cached per path, so each group is opened and its
        links listed once). Returns the group entry, ``None`` when a component
        is missing, or a description of the object found when the last
        component is not a group."""
        if path in self._groups:
            return self._groups[path]
        parts = path.split("/") if path else []
        if len(parts) > MAX_GROUP_DEPTH:
            raise InvalidFileError(
                f"{self._description}: group path '{path[:200]}' has "
                f"{len(parts)} components, over the limit of {MAX_GROUP_DEPTH}."
            )
        if any(part in ("", ".") for part in parts):
            raise InvalidFileError(
                f"{self._description}: group path '{path}' has an empty or '.' "
                "component; layer and object names must not produce one."
            )
        if not parts:
            entry: Any = self._open_group(self._file.id, path)
        else:
            parent_path = "/".join(parts[:-1])
            parent = self._resolve(parent_path)
            if isinstance(parent, str):
                raise InvalidFileError(
                    f"{self._description}: '{parent_path}' should be a group "
                    f"(it is on the path to '{path}'), but it is {parent}."
                )
            entry = None
            link = None if parent is None else parent[1].get(parts[-1])
            if link is not None:
                link_type, address = link
                if link_type != h5l.TYPE_HARD:
                    kind = _LINK_NAMES.get(link_type, "user-defined link")
                    raise InvalidFileError(
                        f"{self._description}: group '{path}' is a {kind}; only "
                        "hard links are allowed (a soft or external link could "
                        "lead outside the file or to another part of it)."
                    )
                self._claim(address, path)
                child = h5o.open(
                    parent[0], parts[-1].encode("utf-8", "surrogateescape")
                )
                if isinstance(child, h5g.GroupID):
                    entry = self._open_group(child, path)
                else:
                    entry = _kind_of(child)
        self._groups[path] = entry
        return entry

    def _open_group(
        self, group: h5g.GroupID, path: str
    ) -> tuple[h5g.GroupID, dict[str, tuple[int, Any]]]:
        info = h5o.get_info(group)
        if info.rc != 1:
            raise InvalidFileError(
                f"{self._description}: group '{path or '/'}' is hard-linked from "
                f"{info.rc} places (an alias or a cycle); Keras links every group "
                "once."
            )
        self._claim(info.addr, path)
        links: dict[str, tuple[int, Any]] = {}
        over = []

        def collect(link: bytes, info: Any) -> Any:
            if len(links) >= MAX_LINKS_PER_GROUP:
                over.append(True)
                return True  # stops the iteration
            links[link.decode("utf-8", "surrogateescape")] = (info.type, info.u)
            return None

        group.links.iterate(collect, info=True)
        if over:
            raise InvalidFileError(
                f"{self._description}: group '{path or '/'}' holds more than "
                f"{MAX_LINKS_PER_GROUP} links, over the limit."
            )
        return group, links

    def _claim(self, address: Any, path: str) -> None:
        """Records that the object at ``address`` is reached at ``path``; a
        second path to it is a hard-link alias or cycle, which Keras never
        writes."""
        if not isinstance(address, int):
            return  # not an address (a soft link's target value)
        other = self._claimed.setdefault(address, path)
        if other != path:
            raise InvalidFileError(
                f"{self._description}: '{path or '/'}' and '{other or '/'}' are "
                "hard links to the same object (an alias or a cycle); Keras "
                "writes every group and dataset once."
            )

    def dataset_paths(self) -> list[tuple[str, str]]:
        """Every dataset of the file as ``(group path, name)``: depth first,
        each group's members in natural order (``vars/2`` before ``vars/10``),
        reached by the same rules as `keys` and `check` (hard links only,
        each object once, depth and link-count limits)."""
        found: list[tuple[str, str]] = []
        stack = [""]
        while stack:
            path = stack.pop()
            entry = self._group(path)
            groups = []
            for name in sorted(entry[1], key=natural_key):
                child = f"{path}/{name}" if path else name
                kind = self._lookup(child)
                if kind == "a dataset":
                    found.append((path, name))
                elif isinstance(kind, str):
                    raise InvalidFileError(
                        f"{self._description}: '{child}' is {kind}; a weights "
                        "file holds only groups and datasets."
                    )
                else:
                    groups.append(child)
            stack.extend(reversed(groups))
        return found

    def has_group(self, path: str) -> bool:
        """Whether ``path`` names a group (reached through hard links only;
        a soft or external link on the way raises `InvalidFileError`)."""
        if not path:
            return False
        entry = self._lookup(path)
        return entry is not None and not isinstance(entry, str)

    def keys(self, path: str) -> list[str]:
        entry = self._group(path)
        return [] if entry is None else list(entry[1])

    @property
    def description(self) -> str:
        """What the file is, as messages name it."""
        return self._description

    def check(
        self, path: str, key: str, shape: tuple[int, ...] | None, dtype: str
    ) -> CheckedDataset:
        """Checks dataset ``path/key`` (links, kind, type, layout, filters,
        shape) from its metadata alone; raises `InvalidFileError` when a check
        fails or the metadata cannot be read.

        ``shape=None`` (listing a file, no variable to compare with) accepts
        the stored shape. Either way the file must store every byte the
        dataset declares (`_check_stored_bytes`), so a shape bomb (a huge
        declared shape over little or no storage) is refused, and no read
        allocates more than the file's size."""
        try:
            return self._check(path, key, shape, dtype)
        except InvalidFileError:
            raise
        except _METADATA_ERRORS as error:
            raise self._corrupt(f"dataset '{path}/{key}'", error) from None

    def _check(
        self, path: str, key: str, shape: tuple[int, ...] | None, dtype: str
    ) -> CheckedDataset:
        where = f"{self._description}: dataset '{path}/{key}'"
        entry = self._group(path)
        links = {} if entry is None else entry[1]
        if key not in links:
            raise InvalidFileError(
                f"{where} is missing; the group holds {sorted(links)[:20]}."
            )
        link_type, address = links[key]
        if link_type != h5l.TYPE_HARD:
            kind = _LINK_NAMES.get(link_type, "user-defined link")
            raise InvalidFileError(
                f"{where} is a {kind}; only hard links are allowed "
                "(a soft or external link could read data from outside the file)."
            )
        self._claim(address, f"{path}/{key}")
        dataset = h5o.open(entry[0], key.encode("utf-8", "surrogateescape"))
        if not isinstance(dataset, h5d.DatasetID):
            raise InvalidFileError(
                f"{where} should be a dataset, but it is {_kind_of(dataset)}."
            )
        space = dataset.get_space()
        if space.get_simple_extent_type() not in (h5s.SCALAR, h5s.SIMPLE):
            raise InvalidFileError(f"{where} has an empty (null) dataspace.")
        stored_shape = tuple(space.get_simple_extent_dims())
        stored, exact, problem = self._dtype_of(dataset)
        if problem is not None:
            raise InvalidFileError(
                f"{where} has {problem}. Expected a numeric dataset for a {dtype} "
                "variable."
            )
        bfloat16 = stored.kind == "V"
        # Allocated contiguous storage in this file has an offset; external,
        # virtual, chunked and compact layouts do not.
        offset = dataset.get_offset()
        layout = h5d.CONTIGUOUS
        if offset is None:
            layout = self._check_layout(dataset, where, stored, stored_shape)
        nbytes = stored.itemsize * math.prod(stored_shape)
        if shape is not None and stored_shape != tuple(shape):
            raise InvalidFileError(
                f"{where} has shape {stored_shape}, but the variable it "
                f"belongs to has shape {tuple(shape)}."
            )
        if nbytes:
            self._check_stored_bytes(dataset, where, layout, stored_shape, nbytes)
        if bfloat16:
            self._check_bfloat16_marker(dataset, where)
        if offset is not None and (
            (self._fd is None and self._window is None)
            or not exact
            or dataset.get_storage_size() != nbytes
        ):
            offset = None  # read through HDF5
        if offset is not None:
            dataset = None  # not needed again: its bytes are at `offset`
        return CheckedDataset(where, dataset, stored_shape, stored, bfloat16, offset)

    def _file_bytes(self) -> int:
        """The size of the HDF5 file (what it actually holds), asked once."""
        if self._size is None:
            self._size = int(self._file.id.get_filesize())
        return self._size

    def _check_stored_bytes(
        self,
        dataset: h5d.DatasetID,
        where: str,
        layout: int,
        shape: tuple[int, ...],
        nbytes: int,
    ) -> None:
        """The file must store every byte the dataset declares before an
        array of that size is allocated: a dataset whose storage was never
        written (contiguous and unallocated, chunked with chunks missing:
        libhdf5 would return its fill value) could otherwise make a small
        file allocate any declared size. Keras writes every variable's bytes.
        Checked from the layout's metadata, cheapest first: the declared size
        against the file's size (the allocation bound, and with the chunk
        size a bound on the chunk count before the chunk index is walked),
        then the chunks written or the contiguous storage allocated."""
        file_bytes = self._file_bytes()
        if nbytes > file_bytes:
            raise InvalidFileError(
                f"{where} declares shape {shape} ({nbytes} bytes), more than "
                f"the whole file holds ({file_bytes} bytes); a weights file "
                "stores every variable's bytes, so it is refused before "
                "anything is allocated."
            )
        if layout == h5d.COMPACT:
            return  # stored in the object header, whose size libhdf5 checks
        if layout == h5d.CHUNKED:
            chunk = tuple(dataset.get_create_plist().get_chunk())
            expected = math.prod(
                -(-dim // size) for dim, size in zip(shape, chunk, strict=True)
            )
            chunk_bytes = (nbytes // math.prod(shape)) * math.prod(chunk)
            if expected * chunk_bytes > file_bytes:
                raise InvalidFileError(
                    f"{where} needs {expected} chunks of {chunk_bytes} bytes, "
                    f"more than the whole file holds ({file_bytes} bytes)."
                )
            # One walk of the chunk index, at most one entry per chunk-sized
            # run of the file's bytes. Every chunk written stores its whole
            # chunk (the allowed filters never shrink data), so this also
            # bounds the stored bytes from below.
            written = dataset.get_num_chunks()
            if written != expected:
                raise InvalidFileError(
                    f"{where} has {written} of its {expected} chunks written; "
                    "the rest would read as the fill value. Keras writes every "
                    "variable's bytes; save the file again."
                )
            return
        stored = dataset.get_storage_size()
        if stored < nbytes:
            raise InvalidFileError(
                f"{where} declares {nbytes} bytes but its storage holds {stored} "
                "(storage never written would read as the fill value). Keras "
                "writes every variable's bytes; save the file again."
            )

    def _check_layout(
        self,
        dataset: h5d.DatasetID,
        where: str,
        stored: np.dtype,
        shape: tuple[int, ...],
    ) -> int:
        """Layout rules for data not stored contiguously at a known offset:
        no external storage, no virtual dataset, and for chunked data only
        allowlisted filters and chunks no larger than needed. Returns the
        layout."""
        plist = dataset.get_create_plist()
        if plist.get_external_count() > 0:
            raise InvalidFileError(
                f"{where} stores its data in an external file, which is not allowed."
            )
        layout = plist.get_layout()
        if layout == h5d.VIRTUAL:
            raise InvalidFileError(
                f"{where} is a virtual dataset, which is not allowed."
            )
        if layout not in (h5d.CONTIGUOUS, h5d.CHUNKED, h5d.COMPACT):
            raise InvalidFileError(f"{where} has an unknown storage layout ({layout}).")
        for index in range(plist.get_nfilters()):
            code = plist.get_filter(index)[0]
            if code not in ALLOWED_FILTERS:
                name = _FILTER_NAMES.get(code, f"filter id {code}")
                raise InvalidFileError(
                    f"{where} is stored with the {name} filter; only "
                    f"{sorted(ALLOWED_FILTERS.values())} are allowed (Keras writes "
                    "no filters; compression lets a small file expand without "
                    "bound inside libhdf5). Repack it without filters, e.g. "
                    "`h5repack -f NONE in.h5 out.h5`."
                )
        if layout == h5d.CHUNKED:
            chunk_bytes = stored.itemsize * math.prod(plist.get_chunk())
            limit = max(stored.itemsize * math.prod(shape), MIN_CHUNK_LIMIT)
            if chunk_bytes > limit:
                raise InvalidFileError(
                    f"{where} declares chunks of {chunk_bytes} bytes, over the "
                    f"{limit}-byte limit (the larger of the dataset's size and "
                    f"{MIN_CHUNK_LIMIT})."
                )
        return layout

    def _check_bfloat16_marker(self, dataset: h5d.DatasetID, where: str) -> None:
        """A 2-byte opaque dataset is bfloat16 when it carries Keras's string
        attribute ``dtype``. The attribute's value is read only when it is a
        fixed-length string of at most `MAX_ATTRIBUTE_BYTES`: libhdf5 reads a
        variable-length string whole, whatever its length, before anything
        can check it, so such a value (what h5py and Keras write) is never
        read and its presence is the marker."""
        if _BFLOAT16 is None or not h5a.exists(dataset, b"dtype"):
            raise InvalidFileError(
                f"{where} holds 2-byte opaque data without the dtype='bfloat16' "
                "attribute Keras writes for bfloat16 variables."
            )
        attribute = h5a.open(dataset, b"dtype")
        attribute_type = attribute.get_type()
        if attribute_type.get_class() != h5t.STRING or (
            attribute.get_space().get_simple_extent_type() != h5s.SCALAR
        ):
            raise InvalidFileError(
                f"{where}: its 'dtype' attribute should be a single string "
                "('bfloat16')."
            )
        if attribute_type.is_variable_str():
            return
        size = attribute_type.get_size()
        if size > MAX_ATTRIBUTE_BYTES:
            raise InvalidFileError(
                f"{where}: its 'dtype' attribute is {size} bytes, over the "
                f"{MAX_ATTRIBUTE_BYTES}-byte limit for attributes."
            )
        value = np.zeros((), dtype=f"S{size}")
        attribute.read(value, mtype=attribute_type)
        if value[()].rstrip(b"\x00 ") != b"bfloat16":
            raise InvalidFileError(
                f"{where}: its 'dtype' attribute is {value[()][:40]!r}; only "
                "'bfloat16' is known for 2-byte opaque data."
            )

    def _dtype_of(self, dataset: h5d.DatasetID) -> tuple[np.dtype, bool, str | None]:
        """The dataset's NumPy dtype, whether its stored bytes are exactly
        that dtype's (no HDF5 conversion needed: not, e.g., a float with a
        custom bit layout), and why the type is not allowed (``None`` when it
        is). Allowed: integers and floats of at most 8 bytes, h5py's boolean
        enum, and 2-byte opaque data (Keras's bfloat16). Converting an HDF5
        type costs more than comparing it, and a weights file holds only a
        few distinct types."""
        stored_type = dataset.get_type()
        for known_type, known in self._types:
            if stored_type.equal(known_type):
                return known
        known = _classify(stored_type)
        if len(self._types) < 16:
            self._types.append((stored_type, known))
        return known

    def read_checked(self, checked: CheckedDataset) -> np.ndarray:
        """Reads a dataset that passed `check`, straight into a new array;
        raises `InvalidFileError` when its bytes cannot be read."""
        try:
            return self._read_checked(checked)
        except InvalidFileError:
            raise
        except _METADATA_ERRORS as error:
            raise InvalidFileError(
                f"{checked.where} passed every check but could not be read "
                f"({error}). The file is corrupt; save it again."
            ) from None

    def _read_checked(self, checked: CheckedDataset) -> np.ndarray:
        stored = np.dtype("V2") if checked.bfloat16 else checked.dtype
        array = aligned_empty(checked.shape, stored)
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
        self._claimed.clear()
        self._types.clear()
        self._file.close()
