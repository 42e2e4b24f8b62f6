"""Saving and loading whole models (`.keras`) and weights (`.weights.h5`).

Rebuild, then fill: loading rebuilds the model from ``config.json`` (variables
are created lazily, so no initializer runs), then fills every variable from
the weights file after checking its path, shape and dtype. A failed load
assigns nothing.
"""

from __future__ import annotations

import datetime
import json
import warnings
import zipfile
import zlib
from collections.abc import Callable
from typing import IO, Any

from kiln._src.saving import file_io, saveable_walk, zip_reader
from kiln._src.saving.errors import InvalidFileError
from kiln._src.saving.h5_store import CheckedDataset, H5Reader, H5Writer
from kiln._src.saving.object_sharing import ObjectSharingScope
from kiln._src.saving.safety import (
    archive_checks,
    budget,
    config_checks,
    directory_checks,
    graph_checks,
    json_checks,
)
from kiln._src.saving.safety.limits import DEFAULT_LIMITS, LoadLimits
from kiln._src.saving.zip_archive import ZipWriter, check_window_crc

CONFIG_MEMBER = "config.json"
METADATA_MEMBER = "metadata.json"
WEIGHTS_MEMBER = "model.weights.h5"
# The Keras release whose format kiln writes; Keras never reads this field.
KERAS_FORMAT_VERSION = "3.15.1"
# One cap for config.json, defined with the other archive limits.
MAX_CONFIG_BYTES = archive_checks.MAX_CONFIG_BYTES


def _metadata() -> bytes:
    from kiln import __version__

    return json.dumps(
        {
            "keras_version": KERAS_FORMAT_VERSION,
            "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
            "kiln_version": __version__,
        }
    ).encode("utf-8")


def serialize_model_config(model: Any) -> bytes:
    from kiln._src.saving.serialization_lib import serialize_keras_object

    with ObjectSharingScope():
        return json.dumps(serialize_keras_object(model)).encode("utf-8")


def write_weights(model: Any, writer: H5Writer) -> None:
    for path, obj in saveable_walk.walk(model):
        writer.write(
            saveable_walk.vars_path(path),
            getattr(obj, "name", None),
            [variable.value for variable in saveable_walk.own_variables(obj)],
        )


# -- saving ----------------------------------------------------------------------


def save_model_to_archive(model: Any, path: str) -> None:
    config = serialize_model_config(model)  # fails before any file is touched
    with file_io.atomic_write(path) as file:
        archive = ZipWriter(file)
        archive.add_bytes(METADATA_MEMBER, _metadata())
        archive.add_bytes(CONFIG_MEMBER, config)
        window = archive.open_stream(WEIGHTS_MEMBER)
        writer = H5Writer(window)
        try:
            write_weights(model, writer)
        finally:
            writer.close()
        archive.close_stream()
        archive.close()
    file_io.remove_stale_temporaries(path)


def save_model_to_directory(model: Any, path: str) -> None:
    import os

    config = serialize_model_config(model)
    with file_io.atomic_directory(path) as staging:
        with open(os.path.join(staging, METADATA_MEMBER), "wb") as file:
            file.write(_metadata())
        with open(os.path.join(staging, CONFIG_MEMBER), "wb") as file:
            file.write(config)
        writer = H5Writer(os.path.join(staging, WEIGHTS_MEMBER))
        try:
            write_weights(model, writer)
        finally:
            writer.close()
    file_io.remove_stale_temporaries(path)


def save_weights_file(model: Any, path: str) -> None:
    with file_io.atomic_write(path) as file:
        writer = H5Writer(file)
        try:
            write_weights(model, writer)
        finally:
            writer.close()
    file_io.remove_stale_temporaries(path)


# -- loading ---------------------------------------------------------------------


# What reading a member's bytes can raise: a malformed structure or a bad
# CRC-32 (`zipfile.BadZipFile`, the base of `zip_reader.ZipLayoutError`), a
# damaged DEFLATE stream, a failed read of the file.
_ZIP_READ_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError)


class _Archive:
    """An opened `.keras` zip or unzipped directory.

    A zip is parsed and checked whole by `archive_checks.check_archive`
    (kiln's strict zip reader, then every rule in FORMAT.md's Limits) before
    any member is read; members are then read only through
    `zip_reader.open_member`: in place when STORED, inflated once, forward,
    when DEFLATED.
    """

    def __init__(self, path: str, limits: LoadLimits = DEFAULT_LIMITS):
        self.path = path
        self.limits = limits
        self._file: IO[bytes] | None = None
        self._directory: zip_reader.ZipDirectory | None = None
        self._weights_window: tuple[Any, zip_reader.ZipEntry] | None = None
        self._sizes: dict[str, int] = {}  # directory form: member -> bytes
        if file_io.isdir(path):
            # Same containment rules as a zip: expected members only, regular
            # files (never a followed symlink), size caps.
            self._sizes = directory_checks.check_model_directory(path, limits)
            return
        self._file = file_io.open_read(path)
        try:
            self._directory = archive_checks.check_archive(self._file, path, limits)
        except InvalidFileError:
            self.close()
            raise
        except OSError as error:
            self.close()
            raise archive_checks.not_a_zip(
                path, file_io.file_size(path), error
            ) from None

    def _entry(self, name: str) -> zip_reader.ZipEntry:
        if self._directory is None or self._file is None:
            raise RuntimeError(f"'{self.path}' is not an open zip archive.")
        entry = self._directory.get(name)
        if entry is None:
            raise InvalidFileError(
                f"'{self.path}' has no member '{name}': it is not a complete "
                ".keras file."
            )
        return entry

    def read_member(self, name: str, limit: int) -> bytes:
        if self._directory is None:
            import os

            member_path = os.path.join(self.path, name)
            if not file_io.isfile(member_path):
                raise InvalidFileError(f"'{self.path}' has no {name}.")
            with file_io.open_read(member_path) as file:
                data = file.read(limit + 1)
        else:
            entry = self._entry(name)
            if entry.file_size > limit:
                raise InvalidFileError(
                    f"Member '{name}' of '{self.path}' declares {entry.file_size} "
                    f"bytes, over the {limit}-byte limit."
                )
            try:
                data = zip_reader.read_member(self._file, entry)
            except _ZIP_READ_ERRORS as error:
                raise self._corrupt(name, error) from None
        if len(data) > limit:
            raise InvalidFileError(f"Member '{name}' of '{self.path}' is too large.")
        return data

    def weights_reader(self) -> H5Reader:
        description = f"'{self.path}' member '{WEIGHTS_MEMBER}'"
        if self._directory is None:
            import os

            member_path = os.path.join(self.path, WEIGHTS_MEMBER)
            if not file_io.isfile(member_path):
                raise InvalidFileError(f"'{self.path}' has no {WEIGHTS_MEMBER}.")
            return H5Reader(member_path, description)
        entry = self._entry(WEIGHTS_MEMBER)
        try:
            # DEFLATED: inflated once and its CRC-32 checked now; STORED: read
            # in place, its CRC-32 checked by `verify_weights_checksum` after
            # the variables' bytes are read (they are not read twice).
            member = zip_reader.open_member(self._file, entry)
        except _ZIP_READ_ERRORS as error:
            raise self._corrupt(WEIGHTS_MEMBER, error) from None
        if entry.compress_type == zip_reader.STORED:
            self._weights_window = (member, entry)
        return H5Reader(member, description)

    def verify_weights_checksum(self) -> bool:
        """Raises `InvalidFileError` when the stored weights member's bytes do
        not match its CRC-32; bytes already read in large reads are not read
        again. Returns False (checking nothing) when there is no pending
        check: a compressed member checked when opened, or a directory."""
        if self._weights_window is None:
            return False
        window, entry = self._weights_window
        try:
            check_window_crc(window, entry)
        except _ZIP_READ_ERRORS as error:
            raise self._corrupt(WEIGHTS_MEMBER, error) from None
        return True

    def has_member(self, name: str) -> bool:
        """Whether the archive (or directory) holds member `name`."""
        if self._directory is None:
            return name in self._sizes
        return name in self._directory

    def weights_size(self) -> int:
        """The weights member's size in bytes (uncompressed), without reading
        it."""
        if self._directory is None:
            if WEIGHTS_MEMBER not in self._sizes:
                raise InvalidFileError(f"'{self.path}' has no {WEIGHTS_MEMBER}.")
            return self._sizes[WEIGHTS_MEMBER]
        return self._entry(WEIGHTS_MEMBER).file_size

    def _corrupt(self, name: str, error: Exception) -> InvalidFileError:
        return InvalidFileError(
            f"Member '{name}' of '{self.path}' is corrupt ({error}): its "
            "headers or bytes are not what the zip directory records. The "
            "file was damaged after saving; save the model again."
        )

    def close(self) -> None:
        self._directory = None
        if self._file is not None:
            self._file.close()


def _parse_config(data: bytes, where: str, max_bytes: int) -> Any:
    # Bounded and strict: depth, size, duplicate keys, NaN, huge integers.
    return json_checks.load_json(data, where, max_bytes=max_bytes)


# The config stage of a load, one function per step, shared by
# `load_model_from_path`, `model_from_json` and `kiln verify` so that each
# runs the same checks in the same order.


def parse_model_config(
    data: bytes, where: str, max_bytes: int = MAX_CONFIG_BYTES
) -> dict[str, Any]:
    """Step 1: the bounded, strict parse of a model's config (at most
    ``max_bytes``, `LoadLimits.max_config_bytes`); the top level must be a
    JSON object."""
    config = _parse_config(data, where, max_bytes)
    if not isinstance(config, dict):
        raise InvalidFileError(f"{where} must hold a JSON object.")
    return config


def check_model_config(
    config: dict[str, Any],
    where: str,
    custom_objects: dict[str, Any] | None,
    safe_mode: bool,
) -> None:
    """Step 2: the envelope, fields, markers, graph and names, before anything
    is built."""
    from kiln._src.saving.serialization_lib import check_all_classes_resolvable

    class_name = config.get("class_name")
    if (
        not isinstance(class_name, str)
        or class_name == "function"
        or class_name.startswith("__")
        or not isinstance(config.get("config"), dict)
    ):
        raise InvalidFileError(
            f"{where}: the top level must be a model's envelope, an object with "
            "'class_name' (the model's class) and 'config' (an object), as "
            f"Keras and kiln write it. Received: class_name={class_name!r} and "
            f"a config of type {type(config.get('config')).__name__}. The file is "
            "corrupt or is not a saved model."
        )
    config_checks.check_config(config, where, safe_mode=safe_mode)
    graph_checks.check_graph(config, where)
    check_all_classes_resolvable(config, custom_objects, safe_mode)


def build_model(
    config: dict[str, Any],
    where: str,
    custom_objects: dict[str, Any] | None,
    safe_mode: bool,
    share_objects: bool = True,
) -> Any:
    """Step 3: rebuilds the model from a checked config (variables are
    created lazily). Whatever a constructor raises is a bad-file error, and a
    config whose top level is not a model (a bare layer, a function, plain
    data) is refused. `share_objects=False` ignores ``shared_object_id``
    marks, as Keras's `model_from_json` does."""
    import contextlib

    from kiln._src.models.model import Model
    from kiln._src.saving.serialization_lib import deserialize_untrusted
    from kiln._src.utils.naming import isolated_names

    # Automatic names (a layer without one) are counted apart from the
    # process's: a file rebuilds the same way whatever ran before, and a
    # load, failed or not, leaves the counters as they were.
    with (
        ObjectSharingScope() if share_objects else contextlib.nullcontext(),
        isolated_names(),
    ):
        # Raises InvalidFileError (or a subclass) naming the object at fault.
        model = deserialize_untrusted(config, custom_objects, safe_mode, where)
    if not isinstance(model, Model):
        raise InvalidFileError(
            f"{where}: the top level must be a model (Sequential, Functional or "
            f"a subclassed Model), but class_name {config.get('class_name')!r} "
            f"rebuilt a {type(model).__name__}. The file is corrupt or is not a "
            "saved model."
        )
    return model


def read_model_config(archive: _Archive) -> tuple[bytes, dict[str, Any]]:
    """The config stage's read and step 1 for an opened archive, within its
    limits: (the member's bytes, the parsed config)."""
    cap = archive.limits.max_config_bytes
    data = archive.read_member(CONFIG_MEMBER, cap)
    where = f"'{archive.path}' member '{CONFIG_MEMBER}'"
    return data, parse_model_config(data, where, cap)


def load_model_from_path(
    path: str,
    custom_objects: dict[str, Any] | None,
    compile: bool,
    safe_mode: bool,
    limits: LoadLimits = DEFAULT_LIMITS,
) -> Any:
    archive = _Archive(path, limits)
    try:
        _, config = read_model_config(archive)
        if not compile:
            config = {k: v for k, v in config.items() if k != "compile_config"}
        check_model_config(config, CONFIG_MEMBER, custom_objects, safe_mode)
        model = build_model(config, CONFIG_MEMBER, custom_objects, safe_mode)
        # Every variable's bytes, from shapes alone, before any is allocated.
        walked = list(saveable_walk.walk(model))
        budget.check_variable_budget(
            model, archive.weights_size(), f"Cannot load '{path}'", limits, walked
        )
        reader = archive.weights_reader()
        try:
            load_weights_into(
                model,
                reader,
                skip_mismatch=False,
                before_assign=archive.verify_weights_checksum,
                walked=walked,
            )
        finally:
            reader.close()
    finally:
        archive.close()
    return model


def load_weights_from_path(
    model: Any, path: str, skip_mismatch: bool, limits: LoadLimits = DEFAULT_LIMITS
) -> None:
    if path.endswith(".keras") or file_io.isdir(path):
        archive = _Archive(path, limits)
        try:
            reader = archive.weights_reader()
            try:
                load_weights_into(
                    model,
                    reader,
                    skip_mismatch,
                    before_assign=archive.verify_weights_checksum,
                )
            finally:
                reader.close()
        finally:
            archive.close()
        return
    reader = H5Reader(path, f"'{path}'")
    try:
        load_weights_into(model, reader, skip_mismatch)
    finally:
        reader.close()


def adopt_arrays(variables: list[Any], arrays: list[Any]) -> None:
    """Assigns arrays just read from a file, which nothing else references.

    Where an array's dtype is already its variable's, JAX adopts the (64-byte
    aligned, see `h5_store.aligned_empty`) buffer instead of copying it, so a
    load holds each variable's bytes once; all are handed over in one batched
    `device_put` (per-call overhead dominates for many small variables).
    """
    import jax
    import jax.numpy as jnp

    arrays = list(arrays)
    adoptable = [
        index
        for index, (variable, array) in enumerate(zip(variables, arrays, strict=True))
        if array.dtype == jnp.dtype(variable.dtype)
    ]
    if adoptable:
        placed = jax.device_put([arrays[i] for i in adoptable], may_alias=True)
        for index, value in zip(adoptable, placed, strict=True):
            arrays[index] = value
    for variable, array in zip(variables, arrays, strict=True):
        variable.assign(array)


def load_weights_into(
    model: Any,
    reader: H5Reader,
    skip_mismatch: bool,
    before_assign: Callable[[], object] | None = None,
    walked: list[tuple[str, Any]] | None = None,
) -> None:
    """Checks every variable's dataset from its metadata alone
    (`check_weights`), then reads them all, calls `before_assign` (the
    archive's checksum check), and only then assigns them: a failed check or
    read assigns nothing.

    Arrays are read into 64-byte aligned buffers that JAX adopts without a
    copy (`adopt_arrays`), so the extra memory of a load is about the weights'
    size once.
    """
    assignments = check_weights(model, reader, skip_mismatch, walked)
    arrays = [reader.read_checked(checked) for _, checked in assignments]
    if before_assign is not None:
        before_assign()
    adopt_arrays([variable for variable, _ in assignments], arrays)


def _optimizer_hint(optimizer: Any, saved: int) -> str:
    """Why an optimizer's variable count differs from the file's, for the
    skip warning (Keras warns and skips the same way)."""
    if not getattr(optimizer, "built", True):
        # Keras's own hint for this case.
        return "This is likely because the optimizer has not been called/built yet."
    if saved < len(optimizer.variables):
        # Compiling a built model builds its optimizer (Keras's
        # `compile_from_config`), but a model saved before its first training
        # step stored the unbuilt optimizer's few variables.
        return (
            "The file was likely saved before the optimizer was built (compiled "
            "but never trained), so it holds no optimizer state to restore: "
            "training starts from a fresh optimizer, as in Keras."
        )
    return ""


def check_weights(
    model: Any,
    reader: H5Reader,
    skip_mismatch: bool = False,
    walked: list[tuple[str, Any]] | None = None,
) -> list[tuple[Any, CheckedDataset]]:
    """Checks, from metadata alone, that the file holds a dataset of the right
    count, shape and type for every variable of `model`; returns the
    (variable, checked dataset) pairs to read. Objects that do not match
    raise `InvalidFileError`, or with `skip_mismatch` are left out with a
    warning (an optimizer whose variable count differs is always skipped
    with a warning, as in Keras)."""
    from kiln._src.layers.layer import Layer

    assignments: list[tuple[Any, CheckedDataset]] = []
    failures: list[tuple[Any, str]] = []
    for path, obj in saveable_walk.walk(model) if walked is None else walked:
        group = saveable_walk.vars_path(path)
        variables = saveable_walk.own_variables(obj)
        keys = reader.keys(group)
        if len(keys) != len(variables):
            if not isinstance(obj, Layer):
                warnings.warn(
                    f"Skipping variable loading for optimizer '{obj.name}', because "
                    f"it has {len(variables)} variables whereas the saved optimizer "
                    f"has {len(keys)} variables. " + _optimizer_hint(obj, len(keys)),
                    stacklevel=4,
                )
                continue
            if not obj.built and keys:
                message = (
                    f"Layer '{obj.name}' was never built and thus it doesn't have "
                    f"any variables. However the weights file lists {len(keys)} "
                    f"variables for this layer (at '{group}'). Build the layer "
                    "before loading (call it on data, or give it a `build_config` "
                    "by defining `build()`)."
                )
            else:
                message = (
                    f"Layer '{obj.name}' expected {len(variables)} variables, but "
                    f"received {len(keys)} variables during loading (at '{group}'). "
                    f"Expected: {[v.name for v in variables]}"
                )
            failures.append((obj, message))
            continue
        own: list[tuple[Any, CheckedDataset]] = []
        try:
            for index, variable in enumerate(variables):
                checked = reader.check(
                    group, str(index), variable.shape, variable.dtype
                )
                own.append((variable, checked))
            assignments.extend(own)
        except InvalidFileError as error:
            if "has shape" in str(error):
                failures.append(
                    (
                        obj,
                        f"Cannot load weights into variable '{variable.path}': "
                        f"expected shape {variable.shape}. {error}",
                    )
                )
            else:
                raise
    if failures and not skip_mismatch:
        first_object, first_message = failures[0]
        raise InvalidFileError(
            f"A total of {len(failures)} objects could not be loaded. Example "
            f"error message for object {first_object}:\n\n{first_message}\n\n"
            "List of objects that could not be loaded:\n"
            f"{[obj for obj, _ in failures]}"
        )
    for obj, message in failures:
        warnings.warn(f"Skipping loading weights for {obj}: {message}", stacklevel=4)
    return assignments
