"""Checks on a `.keras` zip's directory, run before any member is read.

Every rule is checked on what the zip directory *declares*: nothing is
decompressed or allocated from the file until the whole directory has
passed. Each failure raises `InvalidFileError` naming the member and the rule.
The limits are documented in `FORMAT.md` ("Limits").
"""

from __future__ import annotations

import stat
import struct
import unicodedata
import zipfile
from typing import IO

from kiln._src.saving.errors import InvalidFileError

MiB = 1024 * 1024
GiB = 1024 * MiB

MAX_MEMBERS = 10_000
MAX_NAME_BYTES = 512
MAX_METADATA_BYTES = 1 * MiB
MAX_CONFIG_BYTES = 64 * MiB
MAX_WEIGHTS_BYTES = 16 * GiB
MAX_ASSETS_BYTES = 1 * GiB  # all `assets/...` members together
# DEFLATE cannot expand more than ~1032:1; a higher declared ratio is a lie.
MAX_DEFLATE_RATIO = 1100
# The central directory is read whole by `zipfile`: bound it before parsing.
MAX_DIRECTORY_BYTES = MAX_MEMBERS * (46 + MAX_NAME_BYTES + 64)

METADATA_MEMBER = "metadata.json"
CONFIG_MEMBER = "config.json"
WEIGHTS_MEMBER = "model.weights.h5"
ASSETS_PREFIX = "assets/"
_MEMBER_CAPS = {
    METADATA_MEMBER: MAX_METADATA_BYTES,
    CONFIG_MEMBER: MAX_CONFIG_BYTES,
    WEIGHTS_MEMBER: MAX_WEIGHTS_BYTES,
}
_ALLOWED_METHODS = {zipfile.ZIP_STORED: "STORED", zipfile.ZIP_DEFLATED: "DEFLATED"}
_END_RECORD = struct.Struct("<IHHHHIIH")
_ZIP64_LOCATOR = struct.Struct("<IIQI")
_ZIP64_END_RECORD = struct.Struct("<IQHHIIQQQQ")
_LOCAL_HEADER_SIZE = 30
_MAX_COMMENT = 0xFFFF


def _fail(path: str, member: str | None, rule: str) -> InvalidFileError:
    where = f"member {member!r} of '{path}'" if member is not None else f"'{path}'"
    return InvalidFileError(
        f"Refusing to load {where}: {rule} kiln only loads .keras archives "
        "laid out as Keras and kiln write them (see the 'Limits' section of "
        "kiln's FORMAT.md)."
    )


def check_directory_bounds(file: IO[bytes], path: str) -> None:
    """Reads only the end-of-central-directory record(s) and rejects an
    archive that declares more than `MAX_MEMBERS` members or a directory
    larger than `MAX_DIRECTORY_BYTES`, before `zipfile` parses (and
    allocates objects for) the directory. Archives without a readable end
    record are left for `zipfile` to reject."""
    file.seek(0, 2)
    size = file.tell()
    tail_size = min(size, _END_RECORD.size + _MAX_COMMENT)
    file.seek(size - tail_size)
    tail = file.read(tail_size)
    position = tail.rfind(b"PK\x05\x06")
    if position < 0 or position + _END_RECORD.size > len(tail):
        return
    fields = _END_RECORD.unpack_from(tail, position)
    count, directory_size = fields[4], fields[5]
    locator_at = position - _ZIP64_LOCATOR.size
    if locator_at >= 0 and tail[locator_at : locator_at + 4] == b"PK\x06\x07":
        locator = _ZIP64_LOCATOR.unpack_from(tail, locator_at)
        record_offset = locator[2]
        if 0 <= record_offset <= size - _ZIP64_END_RECORD.size:
            file.seek(record_offset)
            record = file.read(_ZIP64_END_RECORD.size)
            if record[:4] == b"PK\x06\x06":
                zip64 = _ZIP64_END_RECORD.unpack(record)
                count, directory_size = max(count, zip64[7]), zip64[8]
    if count > MAX_MEMBERS:
        raise _fail(
            path,
            None,
            f"its zip directory declares {count} members, over the limit of "
            f"{MAX_MEMBERS}.",
        )
    if directory_size > MAX_DIRECTORY_BYTES:
        raise _fail(
            path,
            None,
            f"its zip directory declares {directory_size} bytes, over the "
            f"limit of {MAX_DIRECTORY_BYTES}.",
        )


def check_archive(archive: zipfile.ZipFile, file_size: int, path: str) -> None:
    """Checks every member of an opened `.keras` zip against the rules in
    FORMAT.md ("Limits") and raises `InvalidFileError` at the first broken
    one. Reads no member data."""
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise _fail(
            path, None, f"it has {len(infos)} members, over the limit of {MAX_MEMBERS}."
        )
    seen: dict[str, str] = {}
    assets_total = 0
    for info in infos:
        name = _check_name(info, path)
        key = unicodedata.normalize("NFC", name).casefold()
        if key in seen:
            raise _fail(
                path,
                name,
                f"the name is used twice (as {seen[key]!r} and {name!r}); "
                "zip readers disagree on which copy they read.",
            )
        seen[key] = name
        _check_kind(info, name, path)
        _check_method_and_sizes(info, name, file_size, path)
        if name.startswith(ASSETS_PREFIX):
            assets_total += info.file_size
            if assets_total > MAX_ASSETS_BYTES:
                raise _fail(
                    path,
                    name,
                    f"assets declare more than {MAX_ASSETS_BYTES} bytes in total.",
                )
    _check_layout(infos, archive, file_size, path)


def _check_name(info: zipfile.ZipInfo, path: str) -> str:
    # `orig_filename` is the name as stored; `filename` has NULs cut off.
    name = info.orig_filename
    if "\x00" in name:
        raise _fail(path, name, "the name contains a NUL byte.")
    if _raw_name_length(info) > MAX_NAME_BYTES:
        raise _fail(path, name, f"the name is longer than {MAX_NAME_BYTES} bytes.")
    if "\\" in name:
        raise _fail(path, name, "the name contains a backslash.")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        raise _fail(path, name, "the name contains a control character.")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise _fail(path, name, "the name is an absolute path.")
    parts = name.split("/")
    is_directory = name.endswith("/")
    if is_directory:
        parts = parts[:-1]
    if any(part in ("", ".", "..") for part in parts):
        raise _fail(path, name, "the name has an empty, '.' or '..' path component.")
    if name in _MEMBER_CAPS:
        return name
    if name.startswith(ASSETS_PREFIX) or name == ASSETS_PREFIX:
        return name
    raise _fail(
        path,
        name,
        "unexpected member. A .keras archive holds only "
        f"'{METADATA_MEMBER}', '{CONFIG_MEMBER}', '{WEIGHTS_MEMBER}' and "
        f"files under '{ASSETS_PREFIX}'.",
    )


def _check_kind(info: zipfile.ZipInfo, name: str, path: str) -> None:
    if info.flag_bits & 0x1:
        raise _fail(path, name, "the member is encrypted.")
    mode = info.external_attr >> 16
    file_type = stat.S_IFMT(mode)
    is_directory = name.endswith("/")
    if is_directory:
        if not name.startswith(ASSETS_PREFIX):
            raise _fail(path, name, "directory entries are only allowed in assets/.")
        if file_type not in (0, stat.S_IFDIR) or info.file_size != 0:
            raise _fail(path, name, "a directory entry must be an empty directory.")
        return
    if file_type not in (0, stat.S_IFREG):
        kind = "a symbolic link" if stat.S_ISLNK(mode) else "not a regular file"
        raise _fail(
            path,
            name,
            f"the member is {kind} (mode {oct(mode)}); only regular files are allowed.",
        )
    if info.external_attr & 0x10:  # MS-DOS directory attribute
        raise _fail(path, name, "the member is marked as a directory.")


def _check_method_and_sizes(
    info: zipfile.ZipInfo, name: str, file_size: int, path: str
) -> None:
    method = _ALLOWED_METHODS.get(info.compress_type)
    if method is None:
        raise _fail(
            path,
            name,
            f"compression method {info.compress_type} is not allowed (only "
            "STORED and DEFLATED).",
        )
    cap = _MEMBER_CAPS.get(name, MAX_ASSETS_BYTES)
    if info.file_size > cap:
        raise _fail(
            path,
            name,
            f"it declares {info.file_size} bytes uncompressed, over the "
            f"{cap}-byte limit for this member.",
        )
    if info.compress_size > file_size:
        raise _fail(
            path,
            name,
            f"it declares {info.compress_size} stored bytes, more than the "
            f"{file_size}-byte archive holds (the file is truncated or lies).",
        )
    if method == "STORED" and info.compress_size != info.file_size:
        raise _fail(
            path,
            name,
            f"a STORED member must store exactly its size, but it declares "
            f"{info.file_size} bytes and stores {info.compress_size}.",
        )
    if method == "DEFLATED":
        allowed = max(info.compress_size, 1) * MAX_DEFLATE_RATIO
        if info.file_size > allowed:
            raise _fail(
                path,
                name,
                f"it declares {info.file_size} bytes from "
                f"{info.compress_size} compressed bytes, a ratio over the "
                f"{MAX_DEFLATE_RATIO}:1 that DEFLATE can reach (a "
                "decompression bomb or a lying size).",
            )


def _check_layout(
    infos: list[zipfile.ZipInfo],
    archive: zipfile.ZipFile,
    file_size: int,
    path: str,
) -> None:
    """Member byte ranges must be disjoint and lie before the directory."""
    directory_start = getattr(archive, "start_dir", file_size)
    ordered = sorted(infos, key=lambda info: info.header_offset)
    for index, info in enumerate(ordered):
        name_length = _raw_name_length(info)
        end = info.header_offset + _LOCAL_HEADER_SIZE + name_length
        end += info.compress_size
        limit = directory_start
        if index + 1 < len(ordered):
            limit = ordered[index + 1].header_offset
        if end > limit:
            raise _fail(
                path,
                info.orig_filename,
                "its bytes overlap the next member or the zip directory "
                f"(they end at offset {end} or later, past {limit}).",
            )


def _raw_name_length(info: zipfile.ZipInfo) -> int:
    """The stored name's length in bytes (UTF-8 when flagged, else cp437)."""
    encoding = "utf-8" if info.flag_bits & 0x800 else "cp437"
    return len(info.orig_filename.encode(encoding, "surrogateescape"))
