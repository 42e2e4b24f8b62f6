"""A strict reader for `.keras` zips: the one parser every load path uses.

`zipfile` is lenient: it takes the last end record it finds, trusts a ZIP64
locator wherever it points, never compares a member's local header with the
central directory, and re-inflates a DEFLATE member from its start on every
backward seek. Readers that disagree on which bytes a member holds are how
zip tricks work, so kiln parses the structures itself, in this order, each
read bounded before it is made:

1. the end record (exactly one, at the very end, its comment length exact),
   then the ZIP64 locator and record when present (the record immediately
   before the locator, where the locator says; every field of the end
   record either the ZIP64 sentinel or equal to the record's);
2. the central directory, whose member count and size are bounded before it
   is read (`read_directory`): every entry, its name, flags and its ZIP64
   extra field parsed strictly;
3. every member's local header against its central entry (name, method,
   flags, sizes, CRC-32, data descriptor), with the data range computed from
   the local header's own name and extra lengths (`check_local_headers`):
   members, then the directory and end records, must tile the file from
   offset 0 to its end, so no byte belongs to two members or to none.

Member bytes are then read only through `open_member`: a STORED member is a
window on the archive (read in place), a DEFLATED one is inflated once,
forward, into memory (`InflatedMember`), stopping at its declared size and
checking its CRC-32 before any byte is handed out.
"""

from __future__ import annotations

import dataclasses
import struct
import zipfile
import zlib
from typing import IO, Any

from kiln._src.saving.crc import crc32
from kiln._src.saving.zip_archive import SeekableView, _Window

STORED = 0
DEFLATED = 8

_END_RECORD = struct.Struct("<IHHHHIIH")
_ZIP64_LOCATOR = struct.Struct("<IIQI")
_ZIP64_END_RECORD = struct.Struct("<IQHHIIQQQQ")
_CENTRAL_HEADER = struct.Struct("<IHHHHHHIIIHHHHHII")
_LOCAL_HEADER = struct.Struct("<IHHHHHIIIHH")
_END_SIGNATURE = b"PK\x05\x06"
_LOCATOR_SIGNATURE = b"PK\x06\x07"
_ZIP64_RECORD_SIGNATURE = 0x06064B50
_CENTRAL_SIGNATURE = 0x02014B50
_LOCAL_SIGNATURE = 0x04034B50
_DESCRIPTOR_SIGNATURE = 0x08074B50
_ZIP64_RECORD_BODY = 44  # the record's size field: no extensible data sector
_ZIP64_EXTRA_ID = 0x0001
_UNICODE_PATH_EXTRA_ID = 0x7075
_MAX16 = 0xFFFF
_MAX32 = 0xFFFFFFFF
_DATA_DESCRIPTOR_FLAG = 0x0008
_UTF8_FLAG = 0x0800
# zipfile refuses members that need a newer reader than this (6.3).
_MAX_EXTRACT_VERSION = 63
_INFLATE_INPUT = 256 * 1024
_BLOCK = 1 << 20  # inflated bytes are kept in blocks of this size


class ZipLayoutError(zipfile.BadZipFile):
    """The archive's structures are malformed or disagree with each other.

    ``member`` names the member at fault (None for the archive itself);
    ``rule`` says what is wrong, as a sentence.
    """

    def __init__(self, rule: str, member: str | None = None):
        super().__init__(rule if member is None else f"member {member!r}: {rule}")
        self.rule = rule
        self.member = member


class NotAZipError(ZipLayoutError):
    """The file has no zip end record at all (it is not a zip)."""


@dataclasses.dataclass(frozen=True)
class ZipLimits:
    """Bounds checked before the directory is read."""

    max_members: int
    max_directory_bytes: int
    max_comment_bytes: int


@dataclasses.dataclass
class ZipEntry:
    """One member, as the central directory declares it. The attribute names
    are `zipfile.ZipInfo`'s, so code written for either reads both."""

    filename: str
    raw_name: bytes
    compress_type: int
    flag_bits: int
    CRC: int  # noqa: N815 - zipfile.ZipInfo's name
    compress_size: int
    file_size: int
    header_offset: int
    external_attr: int
    create_system: int
    extract_version: int
    # Set by `check_local_headers`: where the member's data starts, and where
    # its bytes (data and data descriptor) end.
    data_start: int = -1
    end: int = -1


@dataclasses.dataclass
class ZipDirectory:
    """The parsed central directory of an archive."""

    entries: list[ZipEntry]
    directory_offset: int
    directory_size: int
    file_size: int
    checked: bool = False  # local headers checked

    def __post_init__(self) -> None:
        # Duplicate names are refused by `archive_checks`; the first wins here.
        self._by_name: dict[str, ZipEntry] = {}
        for entry in self.entries:
            self._by_name.setdefault(entry.filename, entry)

    def get(self, name: str) -> ZipEntry | None:
        return self._by_name.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name


# -- end records ---------------------------------------------------------------


def read_directory(file: IO[bytes], file_size: int, limits: ZipLimits) -> ZipDirectory:
    """Parses the end records and the central directory of the zip in `file`
    (`file_size` bytes) and returns its entries; raises `ZipLayoutError`.

    Reads at most ``22 + limits.max_comment_bytes`` bytes from the end, 76
    bytes of ZIP64 records, then the directory once its declared member count
    and size are within `limits`: memory and time are linear in the
    directory's size, which is bounded before it is read.
    """
    end_at, end = _find_end_record(file, file_size, limits)
    _, disk, directory_disk, on_disk, count, size, offset, _ = end
    if disk not in (0, _MAX16) or directory_disk not in (0, _MAX16):
        raise ZipLayoutError("it spans several disks, which kiln does not read.")
    directory_end = end_at
    locator_at = end_at - _ZIP64_LOCATOR.size
    locator = b""
    if locator_at >= 0:
        locator = _read_at(file, locator_at, _ZIP64_LOCATOR.size)
    if locator[:4] == _LOCATOR_SIGNATURE:
        directory_end, count, size, offset = _read_zip64_records(
            file, locator_at, locator, (on_disk, count, size, offset)
        )
    else:
        if _MAX16 in (disk, directory_disk, on_disk, count) or _MAX32 in (size, offset):
            raise ZipLayoutError(
                "its end record holds ZIP64 placeholders (0xFFFF / 0xFFFFFFFF) "
                "but no ZIP64 locator precedes it."
            )
        if on_disk != count:
            raise ZipLayoutError(
                f"its end record declares {count} members in all but {on_disk} "
                "on this disk."
            )
    if count > limits.max_members:
        raise ZipLayoutError(
            f"its zip directory declares {count} members, over the limit of "
            f"{limits.max_members}."
        )
    if size > limits.max_directory_bytes:
        raise ZipLayoutError(
            f"its zip directory declares {size} bytes, over the limit of "
            f"{limits.max_directory_bytes}."
        )
    if offset + size != directory_end:
        raise ZipLayoutError(
            f"its end record places the zip directory at offset {offset} with "
            f"{size} bytes, but the directory must end where the end records "
            f"start, at offset {directory_end} (the file has {file_size} bytes)."
        )
    if size < count * _CENTRAL_HEADER.size:
        raise ZipLayoutError(
            f"its zip directory declares {count} members in only {size} bytes "
            f"(each entry takes at least {_CENTRAL_HEADER.size})."
        )
    data = _read_at(file, offset, size)
    if len(data) != size:
        raise ZipLayoutError("the file ends inside its zip directory.")
    entries = _parse_entries(data, count)
    return ZipDirectory(entries, offset, size, file_size)


def _find_end_record(
    file: IO[bytes], file_size: int, limits: ZipLimits
) -> tuple[int, tuple[int, ...]]:
    """The offset and fields of the one end-of-central-directory record,
    which must end the file exactly (its comment included)."""
    tail_size = min(file_size, _END_RECORD.size + limits.max_comment_bytes)
    tail_start = file_size - tail_size
    tail = _read_at(file, tail_start, tail_size)
    # Every complete record whose comment would end exactly at the file's end:
    # readers that search from the end and readers that search forward must
    # find the same one, so there must be exactly one.
    candidates = []
    complete = None  # the last complete record, whatever its comment length
    position = tail.rfind(_END_SIGNATURE)
    while position >= 0:
        if position + _END_RECORD.size <= len(tail):
            fields = _END_RECORD.unpack_from(tail, position)
            complete = complete or (position, fields)
            if position + _END_RECORD.size + fields[7] == len(tail):
                candidates.append((position, fields))
        position = tail.rfind(_END_SIGNATURE, 0, position)
    if not candidates:
        if complete is None:
            raise NotAZipError("it has no zip end-of-central-directory record.")
        position, fields = complete
        raise ZipLayoutError(
            f"its end record declares a {fields[7]}-byte comment but "
            f"{len(tail) - position - _END_RECORD.size} bytes follow it (the "
            "record must end the file, and comments are at most "
            f"{limits.max_comment_bytes} bytes)."
        )
    position, fields = candidates[-1]
    # A second signature inside the record or its comment is a second end
    # record to a reader that searches backwards from the end.
    if len(candidates) > 1 or tail.find(_END_SIGNATURE, position + 1) >= 0:
        raise ZipLayoutError(
            "it has two end-of-central-directory records (one inside the "
            "other's fields or comment); zip readers disagree on which is used."
        )
    return tail_start + position, fields


def _read_zip64_records(
    file: IO[bytes],
    locator_at: int,
    locator: bytes,
    declared: tuple[int, int, int, int],
) -> tuple[int, int, int, int]:
    """Checks the ZIP64 locator and record against the end record; returns
    where the directory must end, and its member count, size and offset."""
    _, record_disk, record_offset, disks = _ZIP64_LOCATOR.unpack(locator)
    record_at = locator_at - _ZIP64_END_RECORD.size
    if record_disk != 0 or disks not in (0, 1):
        raise ZipLayoutError("its ZIP64 locator names another disk.")
    if record_offset != record_at:
        raise ZipLayoutError(
            f"its ZIP64 locator points at offset {record_offset}, but the ZIP64 "
            f"end record must be immediately before the locator, at offset "
            f"{max(record_at, 0)}."
        )
    record = _read_at(file, record_at, _ZIP64_END_RECORD.size)
    fields = _ZIP64_END_RECORD.unpack(record)
    signature, body, _, needed, disk, directory_disk = fields[:6]
    on_disk, count, size, offset = fields[6:]
    if signature != _ZIP64_RECORD_SIGNATURE or body != _ZIP64_RECORD_BODY:
        raise ZipLayoutError(
            f"its ZIP64 end record at offset {record_at} is malformed (a "
            f"{_ZIP64_END_RECORD.size}-byte record with no extensible data is "
            "expected)."
        )
    if disk != 0 or directory_disk != 0 or on_disk != count:
        raise ZipLayoutError("its ZIP64 end record spans several disks.")
    if needed & 0xFF > _MAX_EXTRACT_VERSION:
        raise ZipLayoutError(f"its ZIP64 end record needs zip version {needed & 0xFF}.")
    sentinels = (_MAX16, _MAX16, _MAX32, _MAX32)
    for name, value, actual, sentinel in zip(
        ("member count on this disk", "member count", "directory size", "offset"),
        declared,
        (count, count, size, offset),
        sentinels,
        strict=True,
    ):
        if value not in (sentinel, actual):
            raise ZipLayoutError(
                f"its end record's {name} ({value}) disagrees with its ZIP64 end "
                f"record's ({actual})."
            )
    return record_at, count, size, offset


# -- central directory ---------------------------------------------------------


def _parse_entries(data: bytes, count: int) -> list[ZipEntry]:
    entries: list[ZipEntry] = []
    position = 0
    for index in range(count):
        if position + _CENTRAL_HEADER.size > len(data):
            raise ZipLayoutError(
                f"its zip directory holds fewer than the {count} entries it "
                f"declares (entry {index} is cut off)."
            )
        fields = _CENTRAL_HEADER.unpack_from(data, position)
        (signature, made_by, needed, flags, method, _, _, crc, compress_size) = fields[
            :9
        ]
        file_size, name_length, extra_length, comment_length = fields[9:13]
        disk, _, external_attr, header_offset = fields[13:]
        if signature != _CENTRAL_SIGNATURE:
            raise ZipLayoutError(
                f"entry {index} of its zip directory has a bad signature."
            )
        start = position + _CENTRAL_HEADER.size
        position = start + name_length + extra_length + comment_length
        if position > len(data):
            raise ZipLayoutError(
                f"entry {index} of its zip directory runs past the directory's end."
            )
        raw_name = data[start : start + name_length]
        name = _decode_name(raw_name, flags, index)
        extra = data[start + name_length : start + name_length + extra_length]
        if needed & 0xFF > _MAX_EXTRACT_VERSION:
            raise ZipLayoutError(
                f"it needs zip version {(needed & 0xFF) / 10:.1f} to extract.", name
            )
        values = _apply_zip64(
            extra,
            raw_name,
            name,
            [(file_size, 8), (compress_size, 8), (header_offset, 8), (disk, 4)],
            local=False,
        )
        file_size, compress_size, header_offset, disk = values
        if disk != 0:
            raise ZipLayoutError("it starts on another disk.", name)
        entries.append(
            ZipEntry(
                filename=name,
                raw_name=raw_name,
                compress_type=method,
                flag_bits=flags,
                CRC=crc,
                compress_size=compress_size,
                file_size=file_size,
                header_offset=header_offset,
                external_attr=external_attr,
                create_system=made_by >> 8,
                extract_version=needed & 0xFF,
            )
        )
    if position != len(data):
        raise ZipLayoutError(
            f"its zip directory holds {len(data) - position} bytes after the "
            f"{count} entries it declares."
        )
    return entries


def _decode_name(raw_name: bytes, flags: int, index: int) -> str:
    if flags & _UTF8_FLAG:
        try:
            return raw_name.decode("utf-8")
        except UnicodeDecodeError:
            raise ZipLayoutError(
                f"entry {index} of its zip directory is flagged UTF-8 but its name "
                f"is not valid UTF-8 ({raw_name[:64]!r})."
            ) from None
    return raw_name.decode("cp437")  # the zip default, as zipfile reads it


def _extra_fields(extra: bytes, name: str) -> dict[int, bytes]:
    """The extra field's records by ID; they must tile it exactly, each ID
    at most once."""
    records: dict[int, bytes] = {}
    position = 0
    while position < len(extra):
        if position + 4 > len(extra):
            raise ZipLayoutError(
                f"its extra field ends with {len(extra) - position} stray bytes.",
                name,
            )
        field_id, length = struct.unpack_from("<HH", extra, position)
        position += 4
        if position + length > len(extra):
            raise ZipLayoutError(
                f"its extra field record 0x{field_id:04x} runs past the field.", name
            )
        if field_id in records:
            raise ZipLayoutError(
                f"its extra field holds record 0x{field_id:04x} twice.", name
            )
        records[field_id] = extra[position : position + length]
        position += length
    return records


def _apply_zip64(
    extra: bytes,
    raw_name: bytes,
    name: str,
    fields: list[tuple[int, int]],
    local: bool,
) -> list[int]:
    """The header's (value, width) fields with ZIP64 placeholders replaced by
    the ZIP64 extra record's values, which are read in the standard order and
    must be exactly those placeholders' (a local header may also give both
    sizes when they are not placeholders, if they agree)."""
    records = _extra_fields(extra, name)
    unicode_path = records.get(_UNICODE_PATH_EXTRA_ID)
    if unicode_path is not None and unicode_path[5:] != raw_name:
        # Some readers prefer this name to the header's.
        raise ZipLayoutError(
            "its Unicode path extra field names another file "
            f"({unicode_path[5:][:64]!r}).",
            name,
        )
    values = [value for value, _ in fields]
    record = records.get(_ZIP64_EXTRA_ID)
    if record is None:
        return values
    sentinel = {8: _MAX32, 4: _MAX16}
    wanted = [i for i, (value, width) in enumerate(fields) if value == sentinel[width]]
    position = 0
    for index in wanted:
        width = fields[index][1]
        if position + width > len(record):
            raise ZipLayoutError(
                "its ZIP64 extra field is too short for the fields it replaces.",
                name,
            )
        form = "<Q" if width == 8 else "<I"
        values[index] = struct.unpack_from(form, record, position)[0]
        position += width
    if position == len(record):
        return values
    # Only a local header's two sizes, given although not placeholders.
    if local and not wanted and len(record) == 16:
        sizes = list(struct.unpack("<QQ", record))
        if sizes == values[:2]:
            return values
    raise ZipLayoutError(
        f"its ZIP64 extra field holds {len(record)} bytes, not the {position} "
        "that its header's placeholders call for.",
        name,
    )


# -- local headers -------------------------------------------------------------


def check_local_headers(file: IO[bytes], directory: ZipDirectory) -> None:
    """Checks every member's local header against its central entry and sets
    the entry's `data_start` and `end`; members must tile the file from
    offset 0 up to the directory. Raises `ZipLayoutError`.

    Each header is read only once its bytes are known to lie before the next
    member's, so the reads add up to at most the file's size.
    """
    ordered = sorted(directory.entries, key=lambda entry: entry.header_offset)
    position = 0
    for index, entry in enumerate(ordered):
        limit = directory.directory_offset
        if index + 1 < len(ordered):
            limit = ordered[index + 1].header_offset
        if entry.header_offset != position:
            rule = _misplaced(entry.header_offset, position)
            raise ZipLayoutError(rule, entry.filename)
        _check_local_header(file, entry, limit)
        position = entry.end
    if position != directory.directory_offset:
        raise ZipLayoutError(
            f"{directory.directory_offset - position} bytes between the last "
            f"member (which ends at offset {position}) and the zip directory "
            "belong to no member."
        )
    directory.checked = True


def _misplaced(offset: int, expected: int) -> str:
    if offset < expected:
        return (
            f"its local header at offset {offset} overlaps the bytes of the member "
            f"before it (which end at offset {expected}): two members share bytes."
        )
    return (
        f"its local header is at offset {offset}, but the member before it ends at "
        f"offset {expected}: {offset - expected} bytes belong to no member "
        "(members must follow one another)."
    )


def _check_local_header(file: IO[bytes], entry: ZipEntry, limit: int) -> None:
    name = entry.filename
    header = _read_at(file, entry.header_offset, _LOCAL_HEADER.size)
    if len(header) != _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
        raise ZipLayoutError(f"bad local header at offset {entry.header_offset}.", name)
    fields = _LOCAL_HEADER.unpack(header)
    _, needed, flags, method, _, _, crc, compress_size, file_size = fields[:9]
    name_length, extra_length = fields[9:]
    if name_length != len(entry.raw_name):
        raise ZipLayoutError(
            f"its local header's name is {name_length} bytes long, but the "
            f"central directory's is {len(entry.raw_name)}.",
            name,
        )
    data_start = entry.header_offset + _LOCAL_HEADER.size + name_length + extra_length
    if data_start + entry.compress_size > limit:
        raise ZipLayoutError(
            f"its bytes (local header with a {extra_length}-byte extra field, then "
            f"{entry.compress_size} bytes of data) end at offset "
            f"{data_start + entry.compress_size}, past offset {limit} where the "
            "next member or the zip directory starts: they overlap.",
            name,
        )
    names_and_extra = _read_at(
        file, entry.header_offset + _LOCAL_HEADER.size, name_length + extra_length
    )
    local_name = names_and_extra[:name_length]
    if local_name != entry.raw_name:
        raise ZipLayoutError(
            f"its local header names it {local_name[:128]!r}; zip readers that "
            "read local headers would see another file.",
            name,
        )
    if method != entry.compress_type:
        raise ZipLayoutError(
            f"its local header says compression method {method}, the central "
            f"directory {entry.compress_type}.",
            name,
        )
    if flags != entry.flag_bits:
        raise ZipLayoutError(
            f"its local header's flags (0x{flags:04x}) differ from the central "
            f"directory's (0x{entry.flag_bits:04x}).",
            name,
        )
    if needed & 0xFF > _MAX_EXTRACT_VERSION:
        raise ZipLayoutError(f"it needs zip version {needed & 0xFF}.", name)
    file_size, compress_size = _apply_zip64(
        names_and_extra[name_length:],
        entry.raw_name,
        name,
        [(file_size, 8), (compress_size, 8)],
        local=True,
    )
    local = (crc, compress_size, file_size)
    central = (entry.CRC, entry.compress_size, entry.file_size)
    end = data_start + entry.compress_size
    if flags & _DATA_DESCRIPTOR_FLAG:
        # Sizes and CRC-32 follow the data; the local header may leave them 0.
        if any(value not in (0, want) for value, want in zip(local, central)):
            raise ZipLayoutError(_disagree(local, central), name)
        zip64 = _ZIP64_EXTRA_ID in _extra_fields(names_and_extra[name_length:], name)
        end += _check_descriptor(file, entry, end, limit, zip64)
    elif local != central:
        raise ZipLayoutError(_disagree(local, central), name)
    entry.data_start = data_start
    entry.end = end


def _disagree(local: tuple[int, int, int], central: tuple[int, int, int]) -> str:
    return (
        "its local header and the central directory disagree on its CRC-32 and "
        f"sizes (local: CRC 0x{local[0]:08x}, {local[1]} stored, {local[2]} "
        f"bytes; central: CRC 0x{central[0]:08x}, {central[1]} stored, "
        f"{central[2]} bytes)."
    )


def _check_descriptor(
    file: IO[bytes], entry: ZipEntry, at: int, limit: int, zip64: bool
) -> int:
    """The size of the data descriptor at `at`, which must repeat the central
    entry's CRC-32 and sizes (with or without its optional signature)."""
    form = "<IQQ" if zip64 else "<III"
    size = struct.calcsize(form)
    raw = _read_at(file, at, min(size + 4, max(limit - at, 0)))
    central = (entry.CRC, entry.compress_size, entry.file_size)
    for skip in (4, 0):  # with the signature, then without
        if skip and raw[:4] != struct.pack("<I", _DESCRIPTOR_SIGNATURE):
            continue
        if len(raw) >= skip + size and struct.unpack_from(form, raw, skip) == central:
            return skip + size
    raise ZipLayoutError(
        f"its data descriptor at offset {at} does not repeat the CRC-32 and sizes "
        "of the central directory.",
        entry.filename,
    )


# -- member bytes --------------------------------------------------------------


def open_member(file: IO[bytes], entry: ZipEntry) -> IO[bytes]:
    """A seekable, read-only view of a checked member's uncompressed bytes.

    STORED: a window on the archive; its CRC-32 is not checked here (see
    `zip_archive.check_window_crc`). DEFLATED: inflated now, once, with the
    CRC-32 checked (`InflatedMember`). Raises `ZipLayoutError`.
    """
    if entry.data_start < 0:
        raise RuntimeError("check_local_headers() must run before members are read.")
    if entry.compress_type == STORED:
        return _Window(file, entry.data_start, entry.file_size)
    if entry.compress_type == DEFLATED:
        return InflatedMember(file, entry)
    raise ZipLayoutError(f"compression method {entry.compress_type}.", entry.filename)


def read_member(file: IO[bytes], entry: ZipEntry) -> bytes:
    """A checked member's bytes, with its CRC-32 checked."""
    member = open_member(file, entry)
    data = member.read()
    if entry.compress_type == STORED and crc32(data) != entry.CRC:
        raise ZipLayoutError("Bad CRC-32: its bytes are damaged.", entry.filename)
    if len(data) != entry.file_size:
        raise ZipLayoutError(
            f"it holds {len(data)} bytes, not its declared {entry.file_size}.",
            entry.filename,
        )
    return data


class InflatedMember(SeekableView):
    """A DEFLATED member, inflated once, forward, at construction, then read
    randomly from memory.

    `zipfile`'s reader restarts inflation from the member's first byte on
    every backward seek, so an HDF5 file laid out backwards costs quadratic
    time. Here every compressed byte is read and inflated exactly once.
    Inflation reads only the member's stored bytes, stops with an error as
    soon as the output would pass the declared size (which the archive checks
    cap), and checks the CRC-32 and the end of the DEFLATE stream before any
    byte is handed out. The bytes are kept in 1 MiB blocks, so memory grows
    with the bytes actually inflated and is never reallocated.
    """

    def __init__(self, file: IO[bytes], entry: ZipEntry):
        super().__init__()
        self._length = entry.file_size
        self._position = 0
        self._blocks: list[bytearray] = []
        try:
            self._inflate(file, entry)
        except MemoryError:
            self._blocks = []
            raise ZipLayoutError(
                f"it inflates to {entry.file_size} bytes, more than this process "
                "can hold in memory.",
                entry.filename,
            ) from None
        except zlib.error as error:
            self._blocks = []
            raise ZipLayoutError(
                f"its DEFLATE stream is damaged ({error}).", entry.filename
            ) from None

    def _inflate(self, file: IO[bytes], entry: ZipEntry) -> None:
        inflater = zlib.decompressobj(-15)
        name, crc, produced, consumed = entry.filename, 0, 0, 0
        pending = b""
        while not inflater.eof:
            if not pending and consumed < entry.compress_size:
                count = min(_INFLATE_INPUT, entry.compress_size - consumed)
                pending = _read_at(file, entry.data_start + consumed, count)
                if len(pending) != count:
                    raise ZipLayoutError("the file ends inside its data.", name)
                consumed += count
            room = entry.file_size - produced
            # Called even with no input left: zlib may still hold output.
            output = inflater.decompress(pending, min(room, _BLOCK) + 1)
            if len(output) > room:
                raise ZipLayoutError(
                    f"it inflates to more than its declared {entry.file_size} bytes.",
                    name,
                )
            stalled = not output and len(inflater.unconsumed_tail) == len(pending)
            pending = inflater.unconsumed_tail
            crc = crc32(output, crc)
            produced += len(output)
            self._store(output)
            if stalled and not inflater.eof:
                if pending or consumed < entry.compress_size:
                    raise ZipLayoutError("its DEFLATE stream is damaged.", name)
                raise ZipLayoutError(
                    f"its DEFLATE stream ends early (after {produced} of "
                    f"{entry.file_size} bytes).",
                    name,
                )
        if pending or inflater.unused_data or consumed != entry.compress_size:
            raise ZipLayoutError(
                "its DEFLATE stream ends before its stored bytes do.", name
            )
        if produced != entry.file_size:
            raise ZipLayoutError(
                f"it inflates to {produced} bytes, not its declared {entry.file_size}.",
                name,
            )
        if crc != entry.CRC:
            raise ZipLayoutError("Bad CRC-32: its bytes are damaged.", name)

    def _store(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            if not self._blocks or len(self._blocks[-1]) == _BLOCK:
                self._blocks.append(bytearray())
            block = self._blocks[-1]
            take = min(len(view), _BLOCK - len(block))
            block += view[:take]
            view = view[take:]

    def _size(self) -> int:
        return self._length

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        count = max(0, min(len(view), self._length - self._position))
        filled = 0
        while filled < count:
            index, start = divmod(self._position + filled, _BLOCK)
            block = self._blocks[index]
            take = min(count - filled, len(block) - start)
            view[filled : filled + take] = block[start : start + take]
            filled += take
        self._position += filled
        return filled

    def close(self) -> None:
        self._blocks = []
        super().close()


def _read_at(file: IO[bytes], offset: int, count: int) -> bytes:
    file.seek(offset)
    return file.read(count)
