"""Builders for hand-made (hostile) `.keras` archives."""

from __future__ import annotations

import io
import struct
import warnings
import zipfile

MEMBERS = ("metadata.json", "config.json", "model.weights.h5")


def build_archive(
    members: list[tuple[str | zipfile.ZipInfo, bytes]],
    compression: int = zipfile.ZIP_STORED,
) -> bytes:
    """A zip holding `members` in order (names may repeat)."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name"
        with zipfile.ZipFile(buffer, "w", compression) as archive:
            for name, data in members:
                archive.writestr(name, data)
    return buffer.getvalue()


def patch_central(data: bytes, name: str, **fields: int) -> bytes:
    """Rewrites fields of `name`'s central-directory entry.

    Fields: flags, method, compressed_size, file_size, external_attr,
    header_offset.
    """
    offsets = {
        "flags": (8, "<H"),
        "method": (10, "<H"),
        "compressed_size": (20, "<I"),
        "file_size": (24, "<I"),
        "external_attr": (38, "<I"),
        "header_offset": (42, "<I"),
    }
    encoded = name.encode()
    start = data.index(b"PK\x01\x02")
    while True:
        name_length = struct.unpack_from("<H", data, start + 28)[0]
        if data[start + 46 : start + 46 + name_length] == encoded:
            break
        start = data.index(b"PK\x01\x02", start + 4)
    patched = bytearray(data)
    for field, value in fields.items():
        offset, form = offsets[field]
        struct.pack_into(form, patched, start + offset, value)
    return bytes(patched)


def honest_list(members: dict[str, bytes]) -> list[tuple[str, bytes]]:
    return [(name, members[name]) for name in MEMBERS]


# -- helpers for the sandboxed attack runs and the fuzzer ------------------------------


def read_members(path: str) -> dict[str, bytes]:
    """Every member of the zip at `path`, by name (the last copy wins)."""
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def archive_with(members: dict[str, bytes], **replaced: bytes) -> bytes:
    """The standard three members of `members`, some replaced by keyword
    (``config_json=...``, ``model_weights_h5=...``, ``metadata_json=...``)."""
    names = {"config_json": "config.json", "metadata_json": "metadata.json"}
    names["model_weights_h5"] = "model.weights.h5"
    merged = dict(members)
    for key, data in replaced.items():
        merged[names[key]] = data
    return build_archive(honest_list(merged))


def edit_h5(data: bytes, edit, scratch_dir: str) -> bytes:
    """The HDF5 file `data` after `edit(h5py.File)` ran on a scratch copy of it
    (written under `scratch_dir`, removed afterwards)."""
    import os
    import tempfile

    import h5py

    handle, path = tempfile.mkstemp(suffix=".h5", dir=scratch_dir)
    try:
        with os.fdopen(handle, "wb") as f:
            f.write(data)
        with h5py.File(path, "r+") as f:
            edit(f)
        with open(path, "rb") as f:
            return f.read()
    finally:
        os.remove(path)
