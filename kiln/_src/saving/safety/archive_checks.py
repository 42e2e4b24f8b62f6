"""Checks on a `.keras` zip's structure and directory, run before any member
is read.

The zip structures are parsed strictly by `zip_reader` (one end record at the
very end, ZIP64 records where the locator says and consistent with it, the
member count and directory size bounded before the directory is read, every
local header matching its central entry, members tiling the file). Then every
rule here is checked on what the directory *declares*, and only then are the
local headers read: nothing is decompressed or allocated from the file until
the whole directory has passed. Each failure raises `InvalidFileError`
naming the member and the rule. The limits are documented in `FORMAT.md`
("Limits").
"""

from __future__ import annotations

import os
import stat
import unicodedata
from typing import IO

from kiln._src.saving import file_io, zip_reader
from kiln._src.saving.errors import InvalidFileError
from kiln._src.saving.safety.limits import (
    DEFAULT_LIMITS,
    LoadLimits,
    MiB,
    raise_hint,
)
from kiln._src.saving.zip_reader import ZipDirectory, ZipEntry

MAX_MEMBERS = 10_000
MAX_NAME_BYTES = 512
MAX_METADATA_BYTES = 1 * MiB
# The caps a caller may raise (`LoadLimits`), at their defaults.
MAX_CONFIG_BYTES = DEFAULT_LIMITS.max_config_bytes
MAX_WEIGHTS_BYTES = DEFAULT_LIMITS.max_weights_bytes
MAX_ASSETS_BYTES = DEFAULT_LIMITS.max_assets_bytes  # all `assets/...` together
# DEFLATE cannot expand more than ~1032:1; a higher declared ratio is a lie.
MAX_DEFLATE_RATIO = 1100
# A DEFLATED weights member is inflated into memory before HDF5 reads it, so
# what it may declare is bounded by what it stores: trained weights deflate
# about 1.1:1 and even heavily pruned ones far below 32:1, while zeros (a
# memory bomb) deflate 1000:1. Keras and kiln store the weights uncompressed.
MAX_DEFLATED_WEIGHTS_RATIO = 32
MAX_DEFLATED_WEIGHTS_FLOOR = 64 * MiB
# The central directory is read whole: bound it before reading it.
MAX_DIRECTORY_BYTES = MAX_MEMBERS * (46 + MAX_NAME_BYTES + 64)
# Keras and kiln write no archive comment; other tools write short ones.
MAX_COMMENT_BYTES = 4096
LIMITS = zip_reader.ZipLimits(MAX_MEMBERS, MAX_DIRECTORY_BYTES, MAX_COMMENT_BYTES)

METADATA_MEMBER = "metadata.json"
CONFIG_MEMBER = "config.json"
WEIGHTS_MEMBER = "model.weights.h5"
ASSETS_PREFIX = "assets/"
MEMBERS = (METADATA_MEMBER, CONFIG_MEMBER, WEIGHTS_MEMBER)
# The `LoadLimits` field that raises each member's cap (assets: the rest).
CAP_FIELDS = {CONFIG_MEMBER: "max_config_bytes", WEIGHTS_MEMBER: "max_weights_bytes"}
_ALLOWED_METHODS = {zip_reader.STORED: "STORED", zip_reader.DEFLATED: "DEFLATED"}
_ENCRYPTION_FLAGS = 0x0001 | 0x0040 | 0x2000  # encrypted, strong, masked headers
# DEFLATE options (informational), data descriptor, UTF-8 name.
_ALLOWED_FLAGS = 0x0002 | 0x0004 | 0x0008 | 0x0800


def _fail(path: str, member: str | None, rule: str) -> InvalidFileError:
    where = f"member {member!r} of '{path}'" if member is not None else f"'{path}'"
    return InvalidFileError(
        f"Refusing to load {where}: {rule} kiln only loads .keras archives "
        "laid out as Keras and kiln write them (see the 'Limits' section of "
        "kiln's FORMAT.md)."
    )


def not_a_zip(path: str, file_size: int, reason: object) -> InvalidFileError:
    return InvalidFileError(
        f"Cannot load '{path}': it is not a valid .keras file (a .keras "
        f"file is a zip archive; this {file_size}-byte file is not a readable "
        f"zip: {reason}). It may be truncated, corrupt, or another kind of "
        "file."
    )


def member_caps(limits: LoadLimits) -> dict[str, int]:
    """The size cap of each fixed member (zip or directory) under ``limits``."""
    return {
        METADATA_MEMBER: MAX_METADATA_BYTES,
        CONFIG_MEMBER: limits.max_config_bytes,
        WEIGHTS_MEMBER: limits.max_weights_bytes,
    }


def check_archive(
    file: IO[bytes], path: str, limits: LoadLimits = DEFAULT_LIMITS
) -> ZipDirectory:
    """Parses the `.keras` zip in `file` strictly, checks every member against
    the rules in FORMAT.md ("Limits"), then checks every local header against
    the directory; returns the checked directory, from which members are
    read with `zip_reader.open_member`. Raises `InvalidFileError` at the
    first broken rule. Reads no member data."""
    file_size = file.seek(0, os.SEEK_END)
    try:
        directory = zip_reader.read_directory(file, file_size, LIMITS)
    except zip_reader.NotAZipError as error:
        raise not_a_zip(path, file_size, error) from None
    except zip_reader.ZipLayoutError as error:
        raise _fail(path, error.member, error.rule) from None
    check_entries(directory.entries, file_size, path, limits)
    try:
        zip_reader.check_local_headers(file, directory)
    except zip_reader.ZipLayoutError as error:
        raise _fail(path, error.member, error.rule) from None
    return directory


def check_entries(
    entries: list[ZipEntry],
    file_size: int,
    path: str,
    limits: LoadLimits = DEFAULT_LIMITS,
) -> None:
    """Checks every central-directory entry against the rules in FORMAT.md
    ("Limits"), with the size caps of ``limits``; raises `InvalidFileError`
    at the first broken one."""
    caps = member_caps(limits)
    if len(entries) > MAX_MEMBERS:
        raise _fail(
            path,
            None,
            f"it has {len(entries)} members, over the limit of {MAX_MEMBERS}.",
        )
    seen: dict[str, str] = {}
    assets_total = 0
    for info in entries:
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
        cap = caps.get(name, limits.max_assets_bytes)
        _check_method_and_sizes(info, name, file_size, path, cap)
        if name.startswith(ASSETS_PREFIX):
            assets_total += info.file_size
            if assets_total > limits.max_assets_bytes:
                raise _fail(
                    path,
                    name,
                    f"assets declare more than {limits.max_assets_bytes} bytes "
                    "in total." + _hint(ASSETS_PREFIX, assets_total),
                )


def _check_name(info: ZipEntry, path: str) -> str:
    # The name as stored (zipfile would cut it at a NUL).
    name = info.filename
    if "\x00" in name:
        raise _fail(path, name, "the name contains a NUL byte.")
    if len(info.raw_name) > MAX_NAME_BYTES:
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
    if name in MEMBERS:
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


def _check_kind(info: ZipEntry, name: str, path: str) -> None:
    if info.flag_bits & _ENCRYPTION_FLAGS:
        raise _fail(path, name, "the member is encrypted.")
    if info.flag_bits & ~_ALLOWED_FLAGS:
        raise _fail(
            path,
            name,
            f"it sets general-purpose flags 0x{info.flag_bits:04x}; only the "
            "DEFLATE option, data descriptor and UTF-8 flags (0x080e) are read.",
        )
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
        raise _fail(
            path,
            name,
            f"the member is {file_io.kind_of(mode)}, not a regular file (mode "
            f"{oct(mode)}); only regular files are allowed.",
        )
    if info.external_attr & 0x10:  # MS-DOS directory attribute
        raise _fail(path, name, "the member is marked as a directory.")


def _hint(name: str, needed: int) -> str:
    if name == METADATA_MEMBER:
        return ""  # fixed: Keras writes a few hundred bytes
    return " " + raise_hint(CAP_FIELDS.get(name, "max_assets_bytes"), needed)


def _check_method_and_sizes(
    info: ZipEntry, name: str, file_size: int, path: str, cap: int
) -> None:
    method = _ALLOWED_METHODS.get(info.compress_type)
    if method is None:
        raise _fail(
            path,
            name,
            f"compression method {info.compress_type} is not allowed (only "
            "STORED and DEFLATED).",
        )
    if info.file_size > cap:
        raise _fail(
            path,
            name,
            f"it declares {info.file_size} bytes uncompressed, over the "
            f"{cap}-byte limit for this member." + _hint(name, info.file_size),
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
        allowed = max(
            MAX_DEFLATED_WEIGHTS_FLOOR, info.compress_size * MAX_DEFLATED_WEIGHTS_RATIO
        )
        if name == WEIGHTS_MEMBER and info.file_size > allowed:
            raise _fail(
                path,
                name,
                f"it declares {info.file_size} bytes from {info.compress_size} "
                "DEFLATE-compressed bytes; a compressed weights member is "
                "inflated into memory, so it may declare at most "
                f"{MAX_DEFLATED_WEIGHTS_RATIO} times its stored bytes (or "
                f"{MAX_DEFLATED_WEIGHTS_FLOOR} bytes). If the file is genuine, "
                "store the weights uncompressed (save it again with Keras or "
                "kiln, or zip it with `zip -0`).",
            )
