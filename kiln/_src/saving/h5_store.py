"""Reading and writing the weights HDF5 file (`model.weights.h5`).

Layout (Keras 3): one group per object at its walk path, a ``vars`` subgroup
with datasets ``"0"``, ``"1"``, ... in the object's variable order, and a
``name`` attribute on each ``vars`` group. Datasets are contiguous and
uncompressed; bfloat16 is stored as 2-byte opaque data with a ``dtype``
attribute.
"""

from __future__ import annotations

from typing import IO, Any

import h5py
import numpy as np

from kiln._src.saving.errors import InvalidFileError

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


class H5Reader:
    """Reads a weights HDF5 file, checking each dataset before reading it."""

    def __init__(self, file: IO[bytes] | str, description: str):
        self._description = description
        try:
            self._file = h5py.File(file, "r")
        except OSError as error:
            raise InvalidFileError(
                f"{description} is not a readable HDF5 file ({error}). The file "
                "may be truncated or corrupt; save it again."
            ) from None

    def has_group(self, path: str) -> bool:
        return path in self._file and isinstance(self._file[path], h5py.Group)

    def keys(self, path: str) -> list[str]:
        if path not in self._file:
            return []
        group = self._file[path]
        if not isinstance(group, h5py.Group):
            raise InvalidFileError(
                f"{self._description}: '{path}' should be a group of datasets."
            )
        return list(group.keys())

    def read(
        self, path: str, key: str, shape: tuple[int, ...], dtype: str
    ) -> np.ndarray:
        """Returns dataset ``path/key`` after checking its link, layout, shape
        and dtype, without reading anything when a check fails."""
        where = f"{self._description}: dataset '{path}/{key}'"
        group = self._file[path]
        link = group.get(key, getlink=True)
        if not isinstance(link, h5py.HardLink):
            raise InvalidFileError(
                f"{where} is a {type(link).__name__}; only hard links are allowed "
                "(a soft or external link could read data from outside the file)."
            )
        dataset = group[key]
        if not isinstance(dataset, h5py.Dataset):
            raise InvalidFileError(f"{where} should be a dataset.")
        plist = dataset.id.get_create_plist()
        if plist.get_external_count() > 0:
            raise InvalidFileError(
                f"{where} stores its data in an external file, which is not allowed."
            )
        if dataset.is_virtual:
            raise InvalidFileError(
                f"{where} is a virtual dataset, which is not allowed."
            )
        if tuple(dataset.shape) != tuple(shape):
            raise InvalidFileError(
                f"{where} has shape {tuple(dataset.shape)}, but the variable it "
                f"belongs to has shape {tuple(shape)}."
            )
        stored = dataset.dtype
        if dataset.attrs.get("dtype") == "bfloat16":
            if stored.itemsize != 2 or _BFLOAT16 is None:
                raise InvalidFileError(f"{where} claims bfloat16 but is not 2 bytes.")
            return np.asarray(dataset[()]).view(_BFLOAT16)
        if stored.kind not in "biuf":
            raise InvalidFileError(
                f"{where} has dtype {stored}, which is not numeric. Expected a "
                f"numeric dataset for a {dtype} variable."
            )
        array = np.empty(shape, dtype=stored)
        if array.size:
            dataset.read_direct(array)
        return array

    def close(self) -> None:
        self._file.close()
