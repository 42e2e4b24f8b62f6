"""A minimal ZIP writer and an in-place member reader for `.keras` files.

Writing: small members are added from bytes; the weights member is *streamed*:
its local header is written with room for the sizes, h5py writes straight into
a seekable window of the output file, then the header is patched with the size
and CRC-32. No copy of the weights is ever held in memory or in a second file.
Members are STORED (uncompressed) like Keras's, with fixed timestamps so that
saving the same model twice gives identical bytes.

Reading: `zip_reader` parses and checks the archive strictly; a STORED member
is then exposed as a read-only window of the archive (`_Window`), so h5py
reads the weights in place.
"""

from __future__ import annotations

import abc
import io
import struct
import threading
import zipfile
from typing import IO, Any

from kiln._src.saving.crc import combine, crc32

_LOCAL_HEADER = struct.Struct("<IHHHHHIIIHH")
_CENTRAL_HEADER = struct.Struct("<IHHHHHHIIIHHHHHII")
_END_RECORD = struct.Struct("<IHHHHIIH")
_ZIP64_END_RECORD = struct.Struct("<IQHHIIQQQQ")
_ZIP64_LOCATOR = struct.Struct("<IIQI")
_DOS_DATE_1980 = (1 << 5) | 1  # 1980-01-01
_DOS_TIME_MIDNIGHT = 0
_MAX32 = 0xFFFFFFFF
_PADDING_EXTRA_ID = 0xD935  # alignment padding, ignored by readers
_ZIP64_EXTRA_ID = 0x0001
_STREAM_EXTRA_SIZE = 20  # room for a ZIP64 extra field (4 + 16 bytes)
_ALIGNMENT = 64
_CHUNK = 8 * 1024 * 1024
_CHECKSUM_MIN_WRITE = 64 * 1024  # smaller writes are read back at the end
_THREADED_CHECKSUM_BYTES = 4 * 1024 * 1024


class _Member:
    def __init__(
        self, name: bytes, header_offset: int, crc: int, size: int, external_attr: int
    ):
        self.name = name
        self.header_offset = header_offset
        self.crc = crc
        self.size = size
        self.external_attr = external_attr


class ZipWriter:
    """Writes a STORED zip to a seekable binary file (which it does not close).

    Sizes and offsets of ``zip64_threshold`` bytes or more are written as ZIP64
    fields, and so are the end records when the directory starts or is that
    large (or there are 65535 members or more). The default is the ZIP
    format's own limit; a lower threshold writes the same standard ZIP64
    records for a small archive (tests of the ZIP64 path use it).
    """

    def __init__(self, file: IO[bytes], zip64_threshold: int = _MAX32):
        self._file = file
        self._zip64_from = min(zip64_threshold, _MAX32)
        self._members: list[_Member] = []
        self._streaming: tuple[_Member, int, _Window] | None = None
        # Truncating (even an empty file) makes ext4 flush the whole file to
        # disk when it is closed, which would double the time of a save.
        if self._file.seek(0, io.SEEK_END):
            self._file.seek(0)
            self._file.truncate()

    def add_bytes(self, name: str, data: bytes, mode: int = 0o600) -> None:
        self._check_idle()
        encoded = _encode_name(name)
        offset = self._file.tell()
        crc = crc32(data)
        size = len(data)
        extra = b""
        if size >= self._zip64_from:
            extra = struct.pack("<HHQQ", _ZIP64_EXTRA_ID, 16, size, size)
        stored_size = _MAX32 if extra else size
        self._file.write(
            _LOCAL_HEADER.pack(
                0x04034B50,
                45 if extra else 20,
                _flags(name),
                0,
                _DOS_TIME_MIDNIGHT,
                _DOS_DATE_1980,
                crc,
                stored_size,
                stored_size,
                len(encoded),
                len(extra),
            )
        )
        self._file.write(encoded + extra)
        self._file.write(data)
        self._members.append(_Member(encoded, offset, crc, size, mode << 16))

    def open_stream(self, name: str, mode: int = 0o600) -> _Window:
        """Starts a member whose bytes are written through the returned
        seekable window; call `close_stream()` when done."""
        self._check_idle()
        encoded = _encode_name(name)
        offset = self._file.tell()
        header_size = _LOCAL_HEADER.size + len(encoded) + _STREAM_EXTRA_SIZE
        # Pad the extra field so that member data starts on an aligned offset.
        padding = (-(offset + header_size + 4)) % _ALIGNMENT
        extra_size = _STREAM_EXTRA_SIZE + 4 + padding
        self._file.write(b"\0" * (_LOCAL_HEADER.size + len(encoded) + extra_size))
        data_start = self._file.tell()
        member = _Member(encoded, offset, 0, 0, mode << 16)
        member.extra_size = extra_size  # type: ignore[attr-defined]
        window = _Window(self._file, data_start, writable=True)
        self._streaming = (member, data_start, window)
        return window

    def close_stream(self) -> None:
        if self._streaming is None:
            raise RuntimeError("No member is being streamed.")
        member, data_start, window = self._streaming
        self._file.seek(0, io.SEEK_END)
        end = self._file.tell()
        size = end - data_start
        crc = window.checksum(size)
        member.crc, member.size = crc, size
        extra_size = member.extra_size  # type: ignore[attr-defined]
        zip64 = size >= self._zip64_from
        if zip64:
            extra = struct.pack("<HHQQ", _ZIP64_EXTRA_ID, 16, size, size)
        else:
            extra = b""
        filler = extra_size - len(extra) - 4
        extra += struct.pack("<HH", _PADDING_EXTRA_ID, filler) + b"\0" * filler
        stored_size = _MAX32 if zip64 else size
        self._file.seek(member.header_offset)
        self._file.write(
            _LOCAL_HEADER.pack(
                0x04034B50,
                45 if zip64 else 20,
                _flags(member.name.decode()),
                0,
                _DOS_TIME_MIDNIGHT,
                _DOS_DATE_1980,
                crc,
                stored_size,
                stored_size,
                len(member.name),
                len(extra),
            )
        )
        self._file.write(member.name + extra)
        self._file.seek(end)
        self._members.append(member)
        self._streaming = None

    def close(self) -> None:
        """Writes the central directory (with ZIP64 records when needed)."""
        self._check_idle()
        directory_start = self._file.tell()
        for member in self._members:
            zip64_fields = []
            size32 = member.size
            offset32 = member.header_offset
            if member.size >= self._zip64_from:
                zip64_fields += [member.size, member.size]
                size32 = _MAX32
            if member.header_offset >= self._zip64_from:
                zip64_fields.append(member.header_offset)
                offset32 = _MAX32
            extra = b""
            if zip64_fields:
                extra = struct.pack(
                    f"<HH{len(zip64_fields)}Q",
                    _ZIP64_EXTRA_ID,
                    8 * len(zip64_fields),
                    *zip64_fields,
                )
            version = 45 if zip64_fields else 20
            self._file.write(
                _CENTRAL_HEADER.pack(
                    0x02014B50,
                    (3 << 8) | version,
                    version,
                    _flags(member.name.decode()),
                    0,
                    _DOS_TIME_MIDNIGHT,
                    _DOS_DATE_1980,
                    member.crc,
                    size32,
                    size32,
                    len(member.name),
                    len(extra),
                    0,
                    0,
                    0,
                    member.external_attr,
                    offset32,
                )
            )
            self._file.write(member.name + extra)
        directory_end = self._file.tell()
        directory_size = directory_end - directory_start
        count = len(self._members)
        threshold = self._zip64_from
        if (
            count >= 0xFFFF
            or directory_start >= threshold
            or directory_size >= threshold
        ):
            self._file.write(
                _ZIP64_END_RECORD.pack(
                    0x06064B50,
                    44,
                    (3 << 8) | 45,
                    45,
                    0,
                    0,
                    count,
                    count,
                    directory_size,
                    directory_start,
                )
            )
            self._file.write(_ZIP64_LOCATOR.pack(0x07064B50, 0, directory_end, 1))
            self._file.write(
                _END_RECORD.pack(0x06054B50, 0, 0, 0xFFFF, 0xFFFF, _MAX32, _MAX32, 0)
            )
        else:
            self._file.write(
                _END_RECORD.pack(
                    0x06054B50, 0, 0, count, count, directory_size, directory_start, 0
                )
            )
        self._file.truncate()

    def _check_idle(self) -> None:
        if self._streaming is not None:
            raise RuntimeError("Close the streamed member before adding another.")


def _encode_name(name: str) -> bytes:
    if name.startswith("/") or ".." in name.split("/"):
        raise ValueError(f"Invalid archive member name: {name!r}")
    return name.encode("utf-8")


def _flags(name: str) -> int:
    return 0 if name.isascii() else 0x800


class _Checksum:
    """The CRC-32 of a buffer; a large one is computed on another thread while
    the caller writes the same buffer (both release the GIL), so a save costs
    about the longer of the two rather than their sum."""

    def __init__(self, data: Any):
        self._crc: int | None = None
        self._thread: threading.Thread | None = None
        if memoryview(data).nbytes < _THREADED_CHECKSUM_BYTES:
            self._crc = crc32(data)
            return
        self._thread = threading.Thread(target=self._run, args=(data,), daemon=True)
        self._thread.start()

    def _run(self, data: Any) -> None:
        self._crc = crc32(data)

    def result(self) -> int:
        if self._thread is not None:
            self._thread.join()
        if self._crc is None:
            raise RuntimeError("The checksum thread failed.")
        return self._crc


class SeekableView(io.RawIOBase):
    """A read-only, seekable file over bytes that a subclass provides: it
    keeps the position; subclasses give `_size()` and `readinto`."""

    _position = 0

    @abc.abstractmethod
    def _size(self) -> int:
        """The number of bytes in the view."""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            position = offset
        elif whence == io.SEEK_CUR:
            position = self._position + offset
        else:
            position = self._size() + offset
        if position < 0:
            raise ValueError("Negative seek position.")
        self._position = position
        return position

    def tell(self) -> int:
        return self._position


class _Window(SeekableView):
    """A seekable view of ``file[start:start+length]`` (length None: to EOF)."""

    def __init__(
        self,
        file: IO[bytes],
        start: int,
        length: int | None = None,
        writable: bool = False,
    ):
        super().__init__()
        self._file = file
        self._start = start
        self._length = length
        self._position = 0
        self._writable = writable
        self.bytes_read = 0
        # (start, end, crc) of large reads, or of large writes not overwritten
        # since: `checksum` combines them instead of reading those bytes again.
        self._seen: list[tuple[int, int, int]] = []

    def writable(self) -> bool:
        return self._writable

    def _size(self) -> int:
        if self._length is not None:
            return self._length
        self._file.seek(0, io.SEEK_END)
        return self._file.tell() - self._start

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        wanted = len(view)
        if self._length is not None:
            wanted = max(0, min(wanted, self._length - self._position))
        if wanted == 0:
            return 0
        self._file.seek(self._start + self._position)
        count = self._file.readinto(view[:wanted])
        count = count or 0
        if count >= _CHECKSUM_MIN_WRITE and not self._writable:
            position = self._position
            self._seen.append((position, position + count, crc32(view[:count])))
        self._position += count
        self.bytes_read += count
        return count

    def write(self, data: Any) -> int:
        if not self._writable:
            raise io.UnsupportedOperation("This archive window is read-only.")
        self._file.seek(self._start + self._position)
        nbytes = memoryview(data).nbytes
        checksum = _Checksum(data) if nbytes >= _CHECKSUM_MIN_WRITE else None
        count = self._file.write(data)
        start, end = self._position, self._position + count
        self._forget_written(start, end)
        if checksum is not None:
            crc = checksum.result()  # `data` is not used after this
            if count == nbytes:
                self._seen.append((start, end, crc))
        self._position = end
        return count

    def _forget_written(self, start: int, end: int) -> None:
        if any(s < end and start < e for s, e, _ in self._seen):
            self._seen = [(s, e, c) for s, e, c in self._seen if e <= start or end <= s]

    def checksum(self, size: int) -> int:
        """The CRC-32 of the window's first `size` bytes: recorded checksums
        of large reads or writes, combined with the other bytes read now."""
        crc = position = 0
        for start, end, written_crc in sorted(self._seen):
            if end > size:
                break
            if start < position:  # overlaps bytes already counted
                continue
            crc = self._checksum_range(crc, position, start)
            crc = combine(crc, written_crc, end - start)
            position = end
        return self._checksum_range(crc, position, size)

    def _checksum_range(self, crc: int, start: int, end: int) -> int:
        buffer = memoryview(bytearray(min(_CHUNK, max(end - start, 0))))
        while start < end:
            self._file.seek(self._start + start)
            count = self._file.readinto(buffer[: min(len(buffer), end - start)])
            if not count:
                raise OSError("The archive shrank while it was being written.")
            crc = crc32(buffer[:count], crc)
            start += count
        return crc

    def truncate(self, size: int | None = None) -> int:
        if not self._writable:
            raise io.UnsupportedOperation("This archive window is read-only.")
        size = self._position if size is None else size
        self._forget_written(size, 1 << 62)
        self._file.truncate(self._start + size)
        return size

    def flush(self) -> None:
        self._file.flush()


def stored_member_window(
    file: IO[bytes], archive: zipfile.ZipFile, info: zipfile.ZipInfo
) -> _Window:
    """A read-only window on a STORED member's bytes inside `file`, for an
    archive that `zipfile` opened (tools and tests). Loading reads members
    through `zip_reader.open_member`, after the strict checks."""
    file.seek(info.header_offset)
    header = file.read(_LOCAL_HEADER.size)
    if len(header) != _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(
            f"Member {info.filename!r}: bad local header at offset "
            f"{info.header_offset}."
        )
    fields = _LOCAL_HEADER.unpack(header)
    name_length, extra_length = fields[9], fields[10]
    data_start = info.header_offset + _LOCAL_HEADER.size + name_length + extra_length
    return _Window(file, data_start, info.file_size)


def check_window_crc(window: _Window, info: zipfile.ZipInfo) -> None:
    """Raises `zipfile.BadZipFile` when a STORED member's bytes, seen through
    `window`, do not have the CRC-32 the zip directory records. Bytes already
    read through the window in large reads are not read again."""
    try:
        crc = window.checksum(info.file_size)
    except OSError:
        raise zipfile.BadZipFile(
            f"Member {info.filename!r} is shorter than its declared "
            f"{info.file_size} bytes."
        ) from None
    if crc != info.CRC:
        raise zipfile.BadZipFile(f"Bad CRC-32 for file {info.filename!r}")
