"""The zip writer and the in-place member reader, checked with Python's own
`zipfile` (the reader Keras uses) on real files."""

import io
import zipfile

import h5py
import numpy as np
import pytest

from kiln._src.saving import zip_reader
from kiln._src.saving.safety.archive_checks import LIMITS
from kiln._src.saving.zip_archive import (
    ZipWriter,
    check_window_crc,
    stored_member_window,
)


def _checked_directory(file):
    """The archive in `file` parsed and checked by kiln's strict reader."""
    size = file.seek(0, io.SEEK_END)
    directory = zip_reader.read_directory(file, size, LIMITS)
    zip_reader.check_local_headers(file, directory)
    return directory


def _check_member_crc(file, entry):
    """Reads a member through the loader's reader, checking its CRC-32."""
    if entry.compress_type == zip_reader.STORED:
        check_window_crc(zip_reader.open_member(file, entry), entry)
    else:
        zip_reader.read_member(file, entry)


def _write_archive(path, members, streamed=None):
    """`members`: {name: bytes} added whole; `streamed`: (name, bytes) written
    through the streaming window in several pieces."""
    with open(path, "w+b") as file:
        archive = ZipWriter(file)
        for name, data in members.items():
            archive.add_bytes(name, data)
        if streamed is not None:
            name, data = streamed
            window = archive.open_stream(name)
            for start in range(0, len(data), 1000):
                window.write(data[start : start + 1000])
            archive.close_stream()
        archive.close()


def test_members_are_stored_with_fixed_dates_and_valid_crcs(tmp_path):
    path = tmp_path / "a.zip"
    payload = np.random.default_rng(0).bytes(10_000)
    _write_archive(
        path, {"metadata.json": b"{}", "config.json": b'{"a": 1}'}, ("w.h5", payload)
    )
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None  # every CRC-32 checks out
        assert archive.namelist() == ["metadata.json", "config.json", "w.h5"]
        for info in archive.infolist():
            assert info.compress_type == zipfile.ZIP_STORED
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert info.external_attr == 0o600 << 16
        assert archive.read("config.json") == b'{"a": 1}'
        assert archive.read("w.h5") == payload


def test_streamed_member_data_is_aligned_for_in_place_reading(tmp_path):
    path = tmp_path / "a.zip"
    _write_archive(path, {"config.json": b"x" * 37}, ("w.h5", b"abc" * 100))
    with open(path, "rb") as file, zipfile.ZipFile(file) as archive:
        info = archive.getinfo("w.h5")
        window = stored_member_window(file, archive, info)
        assert window._start % 64 == 0
        assert window.read() == b"abc" * 100


def test_window_reads_only_the_bytes_asked_for(tmp_path):
    path = tmp_path / "a.zip"
    payload = bytes(range(256)) * 4096  # 1 MiB
    _write_archive(path, {"config.json": b"{}"}, ("w.h5", payload))
    with open(path, "rb") as file, zipfile.ZipFile(file) as archive:
        window = stored_member_window(file, archive, archive.getinfo("w.h5"))
        window.seek(500_000)
        assert window.read(16) == payload[500_000:500_016]
        assert window.bytes_read == 16
        # Reading stops at the member's end, never into the next record.
        window.seek(-10, io.SEEK_END)
        assert window.read(100) == payload[-10:]


def test_window_over_a_stored_member_is_read_only(tmp_path):
    path = tmp_path / "a.zip"
    _write_archive(path, {"w.h5": b"data"})
    with open(path, "rb") as file, zipfile.ZipFile(file) as archive:
        window = stored_member_window(file, archive, archive.getinfo("w.h5"))
        with pytest.raises(io.UnsupportedOperation, match="read-only"):
            window.write(b"x")
        with pytest.raises(io.UnsupportedOperation, match="read-only"):
            window.truncate(0)


def test_h5py_writes_through_the_stream_and_reads_in_place(tmp_path):
    path = tmp_path / "a.keras"
    kernel = np.arange(12, dtype="float32").reshape(3, 4)
    with open(path, "w+b") as file:
        archive = ZipWriter(file)
        archive.add_bytes("config.json", b"{}")
        with h5py.File(archive.open_stream("model.weights.h5"), "w") as h5:
            h5["layers/dense/vars/0"] = kernel
        archive.close_stream()
        archive.close()
    with open(path, "rb") as file, zipfile.ZipFile(file) as archive:
        assert archive.testzip() is None
        info = archive.getinfo("model.weights.h5")
        with h5py.File(stored_member_window(file, archive, info), "r") as h5:
            np.testing.assert_array_equal(h5["layers/dense/vars/0"][()], kernel)
        # The same bytes, extracted the ordinary way, are a valid HDF5 file.
        with h5py.File(io.BytesIO(archive.read(info)), "r") as h5:
            np.testing.assert_array_equal(h5["layers/dense/vars/0"][()], kernel)


def test_bad_local_header_is_reported(tmp_path):
    path = tmp_path / "a.zip"
    _write_archive(path, {"w.h5": b"data"})
    raw = bytearray(path.read_bytes())
    raw[0:4] = b"XXXX"  # the first member's local header signature
    path.write_bytes(bytes(raw))
    with open(path, "rb") as file, zipfile.ZipFile(file) as archive:
        with pytest.raises(zipfile.BadZipFile, match="bad local header"):
            stored_member_window(file, archive, archive.getinfo("w.h5"))


@pytest.mark.parametrize("name", ["../evil", "/etc/passwd", "a/../../b"])
def test_member_names_that_escape_the_archive_are_refused(tmp_path, name):
    with open(tmp_path / "a.zip", "w+b") as file:
        archive = ZipWriter(file)
        with pytest.raises(ValueError, match="Invalid archive member name"):
            archive.add_bytes(name, b"")


def test_non_ascii_member_name_is_flagged_utf8(tmp_path):
    path = tmp_path / "a.zip"
    _write_archive(path, {"assets/vocabulaire_é.txt": b"x"})
    with zipfile.ZipFile(path) as archive:
        info = archive.infolist()[0]
        assert info.filename == "assets/vocabulaire_é.txt"
        assert info.flag_bits & 0x800


def test_members_cannot_interleave_with_a_stream(tmp_path):
    with open(tmp_path / "a.zip", "w+b") as file:
        archive = ZipWriter(file)
        archive.open_stream("w.h5")
        with pytest.raises(RuntimeError, match="Close the streamed member"):
            archive.add_bytes("config.json", b"{}")
        with pytest.raises(RuntimeError, match="Close the streamed member"):
            archive.close()
        archive.close_stream()
        with pytest.raises(RuntimeError, match="No member is being streamed"):
            archive.close_stream()


def test_rewriting_an_existing_file_truncates_it(tmp_path):
    path = tmp_path / "a.zip"
    path.write_bytes(b"\xff" * 100_000)
    _write_archive(path, {"config.json": b"{}"})
    assert path.stat().st_size < 1000
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None


def _flip_byte(path, needle, offset=0):
    raw = bytearray(path.read_bytes())
    position = bytes(raw).index(needle) + offset
    raw[position] ^= 0xFF
    path.write_bytes(bytes(raw))


def test_check_member_crc_accepts_intact_members(tmp_path):
    path = tmp_path / "a.zip"
    payload = bytes(range(256)) * 100
    _write_archive(path, {"config.json": b"{}"}, ("w.h5", payload))
    with open(path, "rb") as file:
        directory = _checked_directory(file)
        for entry in directory.entries:
            _check_member_crc(file, entry)
        assert zip_reader.read_member(file, directory.get("w.h5")) == payload


def test_check_member_crc_catches_a_damaged_stored_member(tmp_path):
    path = tmp_path / "a.zip"
    payload = b"weights:" + bytes(range(256)) * 100
    _write_archive(path, {"config.json": b"{}"}, ("w.h5", payload))
    _flip_byte(path, b"weights:", offset=5000)
    with open(path, "rb") as file:
        directory = _checked_directory(file)
        with pytest.raises(zipfile.BadZipFile, match="Bad CRC-32 for file 'w.h5'"):
            _check_member_crc(file, directory.get("w.h5"))
        with pytest.raises(zipfile.BadZipFile, match="'w.h5'.*Bad CRC-32"):
            zip_reader.read_member(file, directory.get("w.h5"))
        _check_member_crc(file, directory.get("config.json"))


def test_check_member_crc_on_a_deflated_member(tmp_path):
    path = tmp_path / "a.zip"
    payload = b"0123456789" * 10_000
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("w.h5", payload)
    with open(path, "rb") as file:
        entry = _checked_directory(file).get("w.h5")
        assert entry.compress_size < len(payload)
        member = zip_reader.open_member(file, entry)
        member.seek(-10, io.SEEK_END)
        assert member.read() == payload[-10:]
        member.seek(5)
        assert member.read(7) == payload[5:12]
    # Damage both copies of the CRC (local header and central directory) so
    # that the structures agree but the (valid) data no longer matches.
    with zipfile.ZipFile(path) as archive:
        crc = archive.getinfo("w.h5").CRC.to_bytes(4, "little")
    raw = bytearray(path.read_bytes())
    for at in (bytes(raw).index(crc), bytes(raw).rindex(crc)):
        raw[at] ^= 0xFF
    path.write_bytes(bytes(raw))
    with open(path, "rb") as file:
        entry = _checked_directory(file).get("w.h5")
        with pytest.raises(zipfile.BadZipFile, match="Bad CRC-32"):
            zip_reader.open_member(file, entry)


@pytest.mark.parametrize(
    "writes",
    [
        # (offset, size): appends, an overwrite inside a large write, a write
        # past the end (leaving a hole), then a rewrite of the first bytes.
        [(0, 100), (100, 300_000), (5_000, 10), (400_000, 70_000), (0, 8)],
        [(0, 200_000), (200_000, 200_000), (150_000, 100_000)],
        [(0, 70_000), (0, 70_000), (70_000, 5)],
        # Over 4 MiB: checksummed on another thread while being written.
        [(0, 5_000_000), (5_000_000, 6_000_000), (100, 10)],
    ],
    ids=["overwrite-hole-header", "overlapping-large", "rewrite-whole", "threaded"],
)
def test_streamed_checksum_is_right_whatever_the_write_order(tmp_path, writes):
    path = tmp_path / "a.zip"
    generator = np.random.default_rng(0)
    with open(path, "w+b") as file:
        writer = ZipWriter(file)
        window = writer.open_stream("data.bin")
        for offset, size in writes:
            window.seek(offset)
            window.write(generator.integers(0, 256, size, dtype=np.uint8).tobytes())
        writer.close_stream()
        writer.close()
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None  # every member's CRC-32 matches


def test_streamed_checksum_after_truncation(tmp_path):
    path = tmp_path / "a.zip"
    with open(path, "w+b") as file:
        writer = ZipWriter(file)
        window = writer.open_stream("data.bin")
        window.write(b"x" * 300_000)
        window.truncate(100_000)
        window.seek(100_000)
        window.write(b"y" * 50)
        writer.close_stream()
        writer.close()
    with zipfile.ZipFile(path) as archive:
        assert archive.read("data.bin") == b"x" * 100_000 + b"y" * 50
