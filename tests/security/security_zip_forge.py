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


# -- a zip assembled field by field (for lies that zipfile will not write) -------------

_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_END = struct.Struct("<IHHHHIIH")
_ZIP64_END = struct.Struct("<IQHHIIQQQQ")
_LOCATOR = struct.Struct("<IIQI")


class Forged:
    """One member of `forge`: its bytes and, field by field, what the local
    header and the central directory say about it (None: the honest value).

    ``local_extra`` / ``central_extra`` are raw extra fields; ``local`` and
    ``central`` override header fields by name (``name``, ``method``,
    ``flags``, ``crc``, ``compressed_size``, ``file_size``, ``offset``).
    ``suffix`` is written right after the data (a data descriptor).
    """

    def __init__(
        self,
        name: str,
        data: bytes,
        deflate: bool = False,
        local_extra: bytes = b"",
        central_extra: bytes = b"",
        suffix: bytes = b"",
        mode: int = 0o644,
        **overrides,
    ):
        import zlib

        self.name = name
        self.raw = data
        self.method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
        if deflate:
            compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
            self.stored = compressor.compress(data) + compressor.flush()
        else:
            self.stored = data
        self.crc = zlib.crc32(data)
        self.local_extra = local_extra
        self.central_extra = central_extra
        self.suffix = suffix
        self.external_attr = (0o100000 | mode) << 16
        self.local = {k[6:]: v for k, v in overrides.items() if k.startswith("local_")}
        self.central = {
            k[8:]: v for k, v in overrides.items() if k.startswith("central_")
        }
        unknown = [k for k in overrides if not k.startswith(("local_", "central_"))]
        if unknown:
            raise TypeError(f"unknown fields {unknown}")

    def fields(self, offset: int) -> dict:
        return {
            "name": self.name.encode(),
            "method": self.method,
            "flags": 0 if self.name.isascii() else 0x800,
            "crc": self.crc,
            "compressed_size": len(self.stored),
            "file_size": len(self.raw),
            "offset": offset,
        }

    def local_record(self, offset: int) -> bytes:
        f = dict(self.fields(offset), **self.local)
        header = _LOCAL.pack(
            0x04034B50, 20, f["flags"], f["method"], 0, 0x21, f["crc"],
            f["compressed_size"], f["file_size"], len(f["name"]),
            len(self.local_extra),
        )  # fmt: skip
        return header + f["name"] + self.local_extra + self.stored + self.suffix

    def central_record(self, offset: int) -> bytes:
        f = dict(self.fields(offset), **self.central)
        header = _CENTRAL.pack(
            0x02014B50, (3 << 8) | 20, 20, f["flags"], f["method"], 0, 0x21,
            f["crc"], f["compressed_size"], f["file_size"], len(f["name"]),
            len(self.central_extra), 0, 0, 0, self.external_attr, f["offset"],
        )  # fmt: skip
        return header + f["name"] + self.central_extra


def forge(
    members: list[Forged],
    prefix: bytes = b"",
    comment: bytes = b"",
    zip64_end: bool = False,
    end: dict | None = None,
    between: bytes = b"",
    ghosts: list[tuple[Forged, int]] = (),
) -> bytes:
    """A zip of `members` laid out in order after `prefix`, with `between`
    written between the members and the directory; the end records say what
    `end` overrides (``count``, ``directory_size``, ``directory_offset``,
    ``comment_length``, ``record_offset``), in ZIP64 form when `zip64_end`.
    ``ghosts``: (member, offset) entries listed in the directory only, at
    offsets the caller chose."""
    body = bytearray(prefix)
    offsets = []
    for member in members:
        offsets.append(len(body))
        body += member.local_record(len(body))
    body += between
    directory_offset = len(body)
    for member, offset in [*zip(members, offsets), *ghosts]:
        body += member.central_record(offset)
    values = {
        "count": len(members) + len(ghosts),
        "directory_size": len(body) - directory_offset,
        "directory_offset": directory_offset,
        "comment_length": len(comment),
    }
    values.update(end or {})
    body += end_records(len(body), values, zip64_end) + comment
    return bytes(body)


def end_records(at: int, values: dict, zip64: bool) -> bytes:
    """The end records written at offset `at` (ZIP64 record and locator
    first when `zip64`, the end record then holding placeholders)."""
    count = values["count"]
    size, offset = values["directory_size"], values["directory_offset"]
    records = b""
    if zip64:
        records += _ZIP64_END.pack(
            0x06064B50, 44, (3 << 8) | 45, 45, 0, 0, count, count, size, offset
        )
        records += _LOCATOR.pack(0x07064B50, 0, values.get("record_offset", at), 1)
        count, size, offset = 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF
    return records + _END.pack(
        0x06054B50, 0, 0, count, count, size, offset, values["comment_length"]
    )


def honest_forged(members: dict[str, bytes], deflate: bool = False) -> list[Forged]:
    return [Forged(name, members[name], deflate=deflate) for name in MEMBERS]


def zip64_extra(*values: int) -> bytes:
    return struct.pack(f"<HH{len(values)}Q", 1, 8 * len(values), *values)


def python_zip64(members: list[tuple[str, bytes]], compression: int) -> bytes:
    """A zip written by Python's `zipfile` (what Keras uses) with every member
    forced into ZIP64 form, and ZIP64 end records in the standard layout
    (zipfile writes them itself only past 2 GiB or 65535 members)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members:
            with archive.open(name, "w", force_zip64=True) as member:
                member.write(data)
    return to_zip64_end(buffer.getvalue())


def to_zip64_end(data: bytes) -> bytes:
    """`data` (a zip without a comment) with its end record replaced by a
    ZIP64 end record, a locator and an end record of placeholders."""
    fields = _END.unpack_from(data, len(data) - _END.size)
    assert fields[7] == 0, "comments are not moved"
    at = len(data) - _END.size
    values = {
        "count": fields[4],
        "directory_size": fields[5],
        "directory_offset": fields[6],
        "comment_length": 0,
    }
    return data[:at] + end_records(at, values, zip64=True)


def decoy_archive(honest_members, fake_entries: int, locator_at_decoy: bool):
    """The decoy attack: a real ZIP64 record (just before the locator, where
    zipfile reads it) declares a huge directory; the locator points at a decoy
    record hidden in an asset, which declares the 4 honest entries."""
    members = honest_forged(honest_members) + [Forged("assets/decoy", bytes(56))]
    honest = forge(members)
    end = struct.unpack_from("<IHHHHIIH", honest, len(honest) - 22)
    directory_offset, directory_size = end[6], end[5]
    directory = honest[directory_offset : directory_offset + directory_size]
    filler = Forged("assets/x", b"").central_record(0) * fake_entries
    decoy_at = directory_offset - 56
    decoy = end_records(0, {"count": 4, "directory_size": directory_size,
                            "directory_offset": directory_offset,
                            "comment_length": 0}, zip64=True)[:56]  # fmt: skip
    body = honest[:decoy_at] + decoy + directory + filler
    values = {
        "count": 4 + fake_entries,
        "directory_size": len(directory) + len(filler),
        "directory_offset": directory_offset,
        "comment_length": 0,
    }
    if locator_at_decoy:
        values["record_offset"] = decoy_at
    return body + end_records(len(body), values, zip64=True)


def backward_deflated(source: str, target: str) -> None:
    """`source`'s members, DEFLATED, with the weights member rewritten so its
    datasets are stored last to first (reads then go backwards)."""
    import h5py

    members = read_members(source)
    with h5py.File(io.BytesIO(members["model.weights.h5"]), "r") as h5:
        paths: list[str] = []
        h5.visititems(lambda n, o: paths.append(n) if hasattr(o, "dtype") else None)
        buffer = io.BytesIO()
        with h5py.File(buffer, "w") as out:
            for key, value in h5.attrs.items():
                out.attrs[key] = value
            for path in sorted(paths, reverse=True):
                out.create_dataset(path, data=h5[path][()])
    members["model.weights.h5"] = buffer.getvalue()
    with open(target, "wb") as file:
        file.write(build_archive(honest_list(members), zipfile.ZIP_DEFLATED))


def with_stream(honest_members, name: str, stream: bytes, size: int, crc: int):
    """`name` DEFLATED with `stream` as its stored bytes, declaring `size`
    bytes of CRC-32 `crc` in both headers."""
    members = honest_forged(honest_members)
    index = MEMBERS.index(name)
    forged = Forged(name, honest_members[name], deflate=True)
    forged.stored, forged.crc = stream, crc
    forged.local["file_size"] = forged.central["file_size"] = size
    members[index] = forged
    return forge(members)
