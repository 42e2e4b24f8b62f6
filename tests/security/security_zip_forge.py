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
