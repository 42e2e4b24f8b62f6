"""kiln's strict zip reader on archives written by kiln's writer, Python's
`zipfile` (what Keras uses) and by hand; the attacks are in
tests/security/test_archive_attacks.py."""

import io
import struct
import zipfile

import numpy as np
import pytest

from kiln._src.saving import zip_reader
from kiln._src.saving.safety.archive_checks import LIMITS
from kiln._src.saving.zip_archive import ZipWriter


class _CountingFile(io.BytesIO):
    """A BytesIO that counts the bytes read from it."""

    bytes_read = 0

    def read(self, size=-1):
        data = super().read(size)
        self.bytes_read += len(data)
        return data


def _parse(data: bytes):
    file = _CountingFile(data)
    directory = zip_reader.read_directory(file, len(data), LIMITS)
    zip_reader.check_local_headers(file, directory)
    return file, directory


def _kiln_zip(members: dict[str, bytes], streamed: bytes, **kwargs) -> bytes:
    buffer = io.BytesIO()
    writer = ZipWriter(buffer, **kwargs)
    for name, data in members.items():
        writer.add_bytes(name, data)
    window = writer.open_stream("w.h5")
    window.write(streamed)
    writer.close_stream()
    writer.close()
    return buffer.getvalue()


@pytest.mark.parametrize("threshold", [0, 100, None], ids=["all", "some", "none"])
def test_kiln_zip64_records_read_by_kiln_and_zipfile(threshold):
    members = {"metadata.json": b"{}", "config.json": b'{"a": 1}' * 20}
    streamed = bytes(range(256)) * 10
    kwargs = {} if threshold is None else {"zip64_threshold": threshold}
    data = _kiln_zip(members, streamed, **kwargs)
    assert (b"PK\x06\x06" in data) == (threshold is not None)
    file, directory = _parse(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        for info in archive.infolist():
            entry = directory.get(info.filename)
            assert (entry.file_size, entry.CRC) == (info.file_size, info.CRC)
            assert entry.header_offset == info.header_offset
            expected = archive.read(info)
            assert zip_reader.read_member(file, entry) == expected


def test_zipfile_zip64_data_descriptors_are_read():
    # zipfile writing to a pipe uses data descriptors, 8-byte sizes in them
    # when the member is ZIP64.
    class Pipe(io.RawIOBase):
        def __init__(self):
            self.data = bytearray()

        def writable(self):
            return True

        def write(self, b):
            self.data += b
            return len(b)

    pipe = Pipe()
    payload = b"0123456789" * 1000
    with zipfile.ZipFile(pipe, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("a", "w", force_zip64=True) as member:
            member.write(payload)
        with archive.open("b", "w") as member:
            member.write(payload[:100])
    file, directory = _parse(bytes(pipe.data))
    assert all(entry.flag_bits & 0x8 for entry in directory.entries)
    assert zip_reader.read_member(file, directory.get("a")) == payload
    assert zip_reader.read_member(file, directory.get("b")) == payload[:100]


def test_member_count_is_bounded_before_the_directory_is_read():
    data = _kiln_zip({"config.json": b"{}"}, b"x")
    end = bytearray(data[-22:])
    struct.pack_into("<HH", end, 8, 60_000, 60_000)
    file = _CountingFile(data[:-22] + bytes(end))
    with pytest.raises(zip_reader.ZipLayoutError, match="60000 members"):
        zip_reader.read_directory(file, len(data), LIMITS)
    assert file.bytes_read <= 22 + LIMITS.max_comment_bytes + 20


def test_deflated_member_is_inflated_once_whatever_the_reads():
    payload = np.arange(300_000, dtype="int32").tobytes()  # 1.2 MB
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("w.h5", payload)
    file, directory = _parse(buffer.getvalue())
    entry = directory.get("w.h5")
    before = file.bytes_read
    member = zip_reader.open_member(file, entry)
    assert file.bytes_read - before == entry.compress_size  # each byte once
    generator = np.random.default_rng(0)
    for offset in sorted(generator.integers(0, len(payload), 2000), reverse=True):
        member.seek(int(offset))
        assert member.read(50) == payload[offset : offset + 50]
    assert file.bytes_read - before == entry.compress_size  # nothing re-read
    member.seek(0)
    assert member.read() == payload


def test_members_are_read_only_after_their_local_headers_are_checked():
    data = _kiln_zip({"config.json": b"{}"}, b"x")
    file = io.BytesIO(data)
    directory = zip_reader.read_directory(file, len(data), LIMITS)
    with pytest.raises(RuntimeError, match="check_local_headers"):
        zip_reader.open_member(file, directory.get("config.json"))


def test_names_are_decoded_as_zipfile_decodes_them():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("assets/caf\u00e9.txt", b"utf-8 flagged")
        info = zipfile.ZipInfo("assets/\u00e9t\u00e9")
        archive.writestr(info, b"x")
    _, directory = _parse(buffer.getvalue())
    with zipfile.ZipFile(buffer) as archive:
        assert [e.filename for e in directory.entries] == archive.namelist()
