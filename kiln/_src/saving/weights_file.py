"""Lazy and partial loading of weights (a kiln extension; Keras has no such API).

`open_weights` opens a `.keras` file (zip, or a directory saved with
``zipped=False``) or a `.weights.h5` file and lists its variables from HDF5
metadata alone; `WeightsFile.read` then reads only the variables asked for,
each with one positioned read of its bytes (straight from the STORED zip
member of a `.keras` file). `load_weights_subset` fills the variables of a
model that the file holds and reports the rest, instead of raising, like
PyTorch's ``load_state_dict(strict=False)``.

A variable is named by its path in the weights HDF5 file: the object's walk
path, then ``vars``, then its index, e.g. ``"layers/dense/vars/0"`` (a Dense
kernel) or ``"optimizer/vars/1"``. See FORMAT.md, "Weights".

Example:

```python
import kiln

with kiln.saving.open_weights("model.keras") as weights:
    for info in weights.variables():
        print(info.path, info.shape, info.dtype, info.nbytes)
    kernel = weights.read("layers/dense/vars/0")  # a NumPy array

report = kiln.saving.load_weights_subset(model, "model.keras")
print(report.loaded, report.missing, report.unexpected)
```

Errors: a bad or hostile file raises `InvalidFileError` naming the path at
fault; a variable path the file lacks raises `KeyError` (a lookup mistake, as
with a dict, not a bad file), with the closest paths in its message.

Unlike `load_model` and `load_weights`, these functions do not verify the
CRC-32 of a zipped weights member, since that checksum covers the whole member
and checking it would read every variable. Every structural check still runs:
links, storage layout, shape, dtype, and declared size against stored size.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
from collections.abc import Iterable
from typing import Any, NamedTuple

import numpy as np

from kiln._src.saving import file_io, saveable_walk
from kiln._src.saving.errors import InvalidFileError
from kiln._src.saving.h5_store import CheckedDataset, H5Reader
from kiln._src.saving.saving_lib import _Archive, adopt_arrays


class WeightInfo(NamedTuple):
    """One variable of a weights file, as its metadata describes it.

    Attributes:
        path: the dataset's path in the HDF5 file, e.g. ``"layers/dense/vars/0"``.
        shape: the stored shape.
        dtype: the stored dtype's name, e.g. ``"float32"`` or ``"bfloat16"``.
        nbytes: the size of the array `WeightsFile.read` returns.
    """

    path: str
    shape: tuple[int, ...]
    dtype: str
    nbytes: int


@dataclasses.dataclass(frozen=True)
class LoadReport:
    """What `load_weights_subset` did (kiln extension).

    Attributes:
        loaded: variable paths assigned from the file.
        missing: variable paths of the model that the file lacks (left as
            they were).
        unexpected: variable paths in the file that the model lacks (not read).
        mismatched: variable paths in both whose shapes differ, skipped
            because ``skip_mismatch=True`` (always empty otherwise).
    """

    loaded: list[str]
    missing: list[str]
    unexpected: list[str]
    mismatched: list[str] = dataclasses.field(default_factory=list)


class WeightsFile:
    """An opened weights file whose variables are read one at a time, on
    request (kiln extension). Get one with `open_weights`."""

    def __init__(self, path: str, reader: H5Reader, archive: _Archive | None):
        self.path = path
        self._reader = reader
        self._archive = archive
        self._entries: dict[str, CheckedDataset] | None = None
        self._infos: list[WeightInfo] = []
        self._closed = False

    def __enter__(self) -> WeightsFile:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __contains__(self, path: object) -> bool:
        return isinstance(path, str) and _normalize(path) in self._listing()

    def variables(self) -> list[WeightInfo]:
        """Lists every variable in the file from metadata alone (no
        variable's data is read): group by group, depth first, names in
        natural order (``vars/2`` before ``vars/10``).

        Raises:
            InvalidFileError: the file holds a soft, external or repeated link,
                a dataset that is not numeric, stores its data outside the
                file, or declares far more bytes than it stores.
        """
        self._listing()
        return list(self._infos)

    def read(self, path: str) -> np.ndarray:
        """Reads one variable, and nothing else, as a NumPy array.

        Args:
            path: the variable's path, as `variables()` lists it (a leading
                ``/`` is allowed).

        Returns:
            A new array of the stored shape and dtype (bfloat16 as
            ``ml_dtypes.bfloat16``).

        Raises:
            KeyError: the file has no variable at `path` (a lookup mistake, not
                a bad file); the message lists close matches.
            InvalidFileError: the variable's bytes cannot be read.
        """
        checked = self._lookup(path)
        return self._reader.read_checked(checked)

    def close(self) -> None:
        """Closes the file; `read` cannot be called afterwards."""
        if self._closed:
            return
        self._closed = True
        self._entries = None
        self._infos = []
        try:
            self._reader.close()
        finally:
            if self._archive is not None:
                self._archive.close()

    def _lookup(self, path: str) -> CheckedDataset:
        if not isinstance(path, str):
            raise TypeError(
                "A variable path must be a string such as 'layers/dense/vars/0'. "
                f"Received: path={path!r}"
            )
        entries = self._listing()
        key = _normalize(path)
        if key not in entries:
            close = difflib.get_close_matches(key, list(entries), n=5, cutoff=0.5)
            raise KeyError(
                f"'{self.path}' has no variable at '{path}'. Close matches: "
                f"{close}. Call variables() to list all {len(entries)} variables."
            )
        return entries[key]

    def _listing(self) -> dict[str, CheckedDataset]:
        if self._closed:
            raise ValueError(
                f"The weights file '{self.path}' is closed. Use it inside its "
                "`with kiln.saving.open_weights(...)` block."
            )
        if self._entries is None:
            # Kept only when every dataset passed: a failed listing fails
            # again on the next call instead of leaving a partial one.
            listed = _list_datasets(self._reader)
            self._entries = {info.path: checked for info, checked in listed}
            self._infos = [info for info, _ in listed]
        return self._entries


def open_weights(filepath: str | os.PathLike[str]) -> WeightsFile:
    """Opens a weights file to list its variables and read some of them
    (kiln extension, not a Keras API).

    Opening reads only the file's directory and metadata: no variable's data
    is read until `WeightsFile.read` asks for it.

    Args:
        filepath: a `.keras` file, a directory saved with ``zipped=False``, or
            a `.weights.h5` file.

    Returns:
        A `WeightsFile`; use it as a context manager, or call `close()`.

    Raises:
        ValueError: the path has another extension.
        FileNotFoundError: nothing exists at the path.
        InvalidFileError: the file is not a valid weights file.

    Example:

    ```python
    with kiln.saving.open_weights("model.keras") as weights:
        names = [info.path for info in weights.variables()]
        kernel = weights.read("layers/dense/vars/0")
    ```
    """
    path = file_io.fspath(filepath)
    is_dir = file_io.isdir(path)
    if not (is_dir or path.endswith((".keras", ".weights.h5"))):
        raise ValueError(
            "open_weights() reads '.keras' files, directories saved with "
            f"zipped=False, and '.weights.h5' files. Received: filepath={path}"
        )
    if not file_io.exists(path):
        raise FileNotFoundError(f"File not found: filepath={path}")
    if not (is_dir or path.endswith(".keras")):
        return WeightsFile(path, H5Reader(path, f"'{path}'"), None)
    archive = _Archive(path)
    try:
        # Lazy: the member's CRC-32 is only checked by a full load, which
        # reads every byte anyway.
        reader = archive.weights_reader()
    except BaseException:
        archive.close()
        raise
    return WeightsFile(path, reader, archive)


def load_weights_subset(
    model: Any,
    filepath: str | os.PathLike[str] | WeightsFile,
    paths: Iterable[str] | None = None,
    skip_mismatch: bool = False,
) -> LoadReport:
    """Loads the variables of a model that a weights file holds, and reports
    the rest instead of raising (kiln extension, not a Keras API).

    Useful to warm-start a model that differs from the saved one (a new head,
    an extra layer), or to load only some variables. Only the variables loaded
    are read from the file. Every variable to load is checked first (link,
    layout, shape; dtypes are cast on assignment as in `load_weights`), then
    all are read, then assigned: a failed check or read assigns nothing.

    Args:
        model: a built model.
        filepath: a `.keras` file, a directory saved with ``zipped=False``, a
            `.weights.h5` file, or a `WeightsFile` from `open_weights` (left
            open).
        paths: the variable paths to load (e.g. ``["layers/dense/vars/0"]``);
            None loads every model variable the file holds.
        skip_mismatch: skip (and report in `mismatched`) variables whose
            stored shape differs from the model's, e.g. a new head of another
            size, instead of raising.

    Returns:
        A `LoadReport`. `missing` and `unexpected` compare the whole model with
        the whole file, whatever `paths` selects.

    Raises:
        ValueError: the model is not built, or a requested path names no
            variable of the model.
        KeyError: a requested path is not in the file.
        InvalidFileError: a variable to load fails its checks (e.g. its shape
            differs from the model's), or the file is invalid.
    """
    if not getattr(model, "built", False):
        raise ValueError(
            f"Model '{model.name}' must be built before loading weights into it. "
            "Call it on data or `model.build(input_shape)` first."
        )
    if isinstance(filepath, WeightsFile):
        return _load_subset(model, filepath, paths, skip_mismatch)
    with open_weights(filepath) as weights:
        return _load_subset(model, weights, paths, skip_mismatch)


# -- helpers ---------------------------------------------------------------------


def _normalize(path: str) -> str:
    return path.strip("/")


def _list_datasets(reader: H5Reader) -> list[tuple[WeightInfo, CheckedDataset]]:
    """Every dataset of the file (`H5Reader.dataset_paths`: hard links only,
    each object once), each checked from its metadata."""
    return [
        _describe(reader, reader.description, group, key)
        for group, key in reader.dataset_paths()
    ]


def _describe(
    reader: H5Reader, where: str, group: str, key: str
) -> tuple[WeightInfo, CheckedDataset]:
    path = f"{group}/{key}" if group else key
    if not group:
        raise InvalidFileError(
            f"{where}: dataset '{path}' sits at the file's root; Keras stores "
            "every variable under '<object path>/vars'."
        )
    checked = reader.check(group, key, None, "numeric")
    nbytes = checked.dtype.itemsize * math.prod(checked.shape)
    dtype = "bfloat16" if checked.bfloat16 else checked.dtype.name
    return WeightInfo(path, checked.shape, dtype, nbytes), checked


def _model_variables(model: Any) -> dict[str, Any]:
    variables: dict[str, Any] = {}
    for path, obj in saveable_walk.walk(model):
        group = saveable_walk.vars_path(path)
        for index, variable in enumerate(saveable_walk.own_variables(obj)):
            variables[f"{group}/{index}"] = variable
    return variables


def _load_subset(
    model: Any,
    weights: WeightsFile,
    paths: Iterable[str] | None,
    skip_mismatch: bool,
) -> LoadReport:
    in_model = _model_variables(model)
    in_file = weights._listing()
    if paths is None:
        wanted = [path for path in in_model if path in in_file]
    else:
        if isinstance(paths, str):
            raise TypeError(
                "`paths` must be a list of variable paths, not one string. "
                f"Received: paths={paths!r}; pass [{paths!r}] instead."
            )
        wanted = []
        for path in paths:
            key = _normalize(path) if isinstance(path, str) else path
            if key not in in_model:
                close = difflib.get_close_matches(
                    str(key), list(in_model), n=5, cutoff=0.5
                )
                raise ValueError(
                    f"'{path}' names no variable of model '{model.name}'. Close "
                    f"matches: {close}. Model variable paths look like "
                    "'layers/dense/vars/0'."
                )
            weights._lookup(key)  # KeyError when not in the file
            if key not in wanted:
                wanted.append(key)
    # Every check before any read: a failure assigns nothing.
    reader = weights._reader
    checks: list[tuple[Any, CheckedDataset]] = []
    loaded: list[str] = []
    mismatched: list[str] = []
    for path in wanted:
        variable = in_model[path]
        group, key = path.rsplit("/", 1)
        if skip_mismatch and in_file[path].shape != tuple(variable.shape):
            mismatched.append(path)
            continue
        try:
            checked = reader.check(group, key, tuple(variable.shape), variable.dtype)
        except InvalidFileError as error:
            raise InvalidFileError(
                f"Cannot load variable '{variable.path}' (shape "
                f"{tuple(variable.shape)}) from '{path}': {error} Nothing was "
                "assigned. Pass skip_mismatch=True to skip variables whose shape "
                "differs, or leave this path out of `paths`."
            ) from None
        checks.append((variable, checked))
        loaded.append(path)
    # Every read before any assignment, as a full load does: a failed read
    # assigns nothing.
    arrays = [reader.read_checked(checked) for _, checked in checks]
    adopt_arrays([variable for variable, _ in checks], arrays)
    return LoadReport(
        loaded=loaded,
        missing=[path for path in in_model if path not in in_file],
        unexpected=[path for path in in_file if path not in in_model],
        mismatched=mismatched,
    )
