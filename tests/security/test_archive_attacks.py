"""Hostile zip containers: each attack has a benign twin that must load."""

from __future__ import annotations

import io
import json
import stat
import struct
import tracemalloc
import zipfile
import zlib

import pytest
from security_zip_forge import (
    MEMBERS,
    Forged,
    backward_deflated,
    build_archive,
    decoy_archive,
    forge,
    honest_forged,
    honest_list,
    patch_central,
    python_zip64,
    read_members,
    with_stream,
    zip64_extra,
)

from kiln._src.saving.safety import archive_checks
from kiln._src.saving.zip_archive import ZipWriter

# -- unexpected members --


@pytest.mark.parametrize(
    "name", ["payload.py", "model.weights.npz", "config.json.bak", "assetsX/a"]
)
def test_unexpected_member_rejected(honest_members, write_file, expect_rejected, name):
    data = build_archive(honest_list(honest_members) + [(name, b"x")])
    expect_rejected(write_file(data), f"{name}.*unexpected member")


def test_asset_member_loads(honest_members, write_file, expect_loads):
    data = build_archive(honest_list(honest_members) + [("assets/vocab.txt", b"a")])
    expect_loads(write_file(data))


# -- duplicate names --


@pytest.mark.parametrize(
    "first, second",
    [
        ("config.json", "config.json"),
        ("assets/a.txt", "assets/a.txt"),
        ("assets/Vocab.txt", "assets/vocab.txt"),  # case-folded
        ("assets/caf\u00e9", "assets/cafe\u0301"),  # NFC vs NFD
    ],
    ids=["config", "asset", "case", "unicode"],
)
def test_duplicate_member_rejected(
    honest_members, write_file, expect_rejected, first, second
):
    # A reader taking the first copy and one taking the last disagree.
    members = honest_list(honest_members)
    members += [(first, b'{"class_name": "Evil"}'), (second, b"{}")]
    expect_rejected(write_file(build_archive(members)), "used twice")


def test_distinct_asset_names_load(honest_members, write_file, expect_loads):
    members = honest_list(honest_members)
    members += [("assets/a.txt", b"1"), ("assets/b.txt", b"2")]
    expect_loads(write_file(build_archive(members)))


# -- path tricks --


@pytest.mark.parametrize(
    "name, rule",
    [
        ("/etc/passwd", "absolute path"),
        ("C:/config.json", "absolute path"),
        ("assets/../../evil", r"'\.\.' path component"),
        ("assets/./a", r"'\.' or"),
        ("assets//a", "empty"),
        ("assets\\..\\evil", "backslash"),
        ("assets/a\x01b", "control character"),
        ("assets/" + "a" * 600, "longer than 512"),
    ],
)
def test_path_trick_rejected(honest_members, write_file, expect_rejected, name, rule):
    members = honest_list(honest_members) + [(zipfile.ZipInfo(name), b"x")]
    data = build_archive(members)
    expect_rejected(write_file(data), rule)


def test_nul_in_name_rejected(honest_members, write_file, expect_rejected):
    # zipfile cuts names at a NUL; the check must see the stored name.
    honest = build_archive(honest_list(honest_members) + [("assets/aXb", b"x")])
    data = honest.replace(b"assets/aXb", b"assets/a\x00b")
    expect_rejected(write_file(data), "NUL")


def test_nested_asset_path_loads(honest_members, write_file, expect_loads):
    members = honest_list(honest_members) + [("assets/layer/sub/file.txt", b"x")]
    expect_loads(write_file(build_archive(members)))


# -- symlinks, devices, directories ---------------------------------------------------


@pytest.mark.parametrize(
    "mode, rule",
    [
        (stat.S_IFLNK | 0o777, "symbolic link"),
        (stat.S_IFCHR | 0o600, "not a regular file"),
        (stat.S_IFIFO | 0o600, "not a regular file"),
    ],
)
def test_special_file_member_rejected(
    honest_members, write_file, expect_rejected, mode, rule
):
    data = build_archive(honest_list(honest_members))
    data = patch_central(data, "config.json", external_attr=mode << 16)
    expect_rejected(write_file(data), rule)


def test_regular_file_modes_load(honest_members, write_file, expect_loads):
    data = build_archive(honest_list(honest_members))
    data = patch_central(
        data, "config.json", external_attr=(stat.S_IFREG | 0o644) << 16
    )
    expect_loads(write_file(data))


def test_directory_tricks_rejected(honest_members, write_file, expect_rejected):
    # A top-level directory entry, and a member named like a directory.
    data = build_archive(honest_list(honest_members) + [("evil/", b"")])
    expect_rejected(write_file(data), "unexpected member")
    data = build_archive(honest_list(honest_members) + [("assets/d/", b"x")])
    expect_rejected(write_file(data), "empty directory")
    data = build_archive(honest_list(honest_members))
    data = patch_central(data, "config.json", external_attr=0x10)
    expect_rejected(write_file(data), "marked as a directory")


def test_asset_directory_entry_loads(honest_members, write_file, expect_loads):
    info = zipfile.ZipInfo("assets/")
    info.external_attr = (stat.S_IFDIR | 0o755) << 16
    data = build_archive(honest_list(honest_members) + [(info, b"")])
    expect_loads(write_file(data))


# -- compression methods and encryption --


@pytest.mark.parametrize(
    "method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA, 99], ids=["bzip2", "lzma", "99"]
)
def test_other_compression_rejected(
    honest_members, write_file, expect_rejected, method
):
    data = build_archive(honest_list(honest_members))
    data = patch_central(data, "config.json", method=method)
    expect_rejected(write_file(data), f"compression method {method}")


def test_deflated_archive_loads(honest_members, write_file, expect_loads):
    data = build_archive(honest_list(honest_members), zipfile.ZIP_DEFLATED)
    expect_loads(write_file(data))


def test_encrypted_member_rejected(honest_members, write_file, expect_rejected):
    data = build_archive(honest_list(honest_members))
    data = patch_central(data, "config.json", flags=0x1)
    expect_rejected(write_file(data), "encrypted")


# -- declared sizes: caps, bombs, lies ----------------------------------------------


def test_deflate_bomb_ratio_rejected(honest_members, write_file, expect_rejected):
    data = build_archive(honest_list(honest_members), zipfile.ZIP_DEFLATED)
    info = zipfile.ZipFile(write_file(data)).getinfo("config.json")
    lie = info.compress_size * (archive_checks.MAX_DEFLATE_RATIO + 1)
    data = patch_central(data, "config.json", file_size=lie)
    expect_rejected(write_file(data), "config.json.*ratio over the 1100:1")


def test_highly_compressible_config_loads(honest_members, write_file, expect_loads):
    # 1 MiB of JSON whitespace deflates about 1000:1 and is honest.
    config = honest_members["config.json"] + b" " * (1 << 20)
    members = dict(honest_members, **{"config.json": config})
    data = build_archive(honest_list(members), zipfile.ZIP_DEFLATED)
    expect_loads(write_file(data))


def test_config_over_cap_rejected(honest_members, write_file, expect_rejected):
    data = build_archive(honest_list(honest_members), zipfile.ZIP_DEFLATED)
    info = zipfile.ZipFile(write_file(data)).getinfo("config.json")
    assert info.compress_size * 1000 > 64 * 2**20 or True
    cap = archive_checks.MAX_CONFIG_BYTES
    data = patch_central(data, "config.json", file_size=cap + 1)
    expect_rejected(write_file(data), f"over the {cap}-byte limit")


def test_metadata_over_cap_rejected(honest_members, write_file, expect_rejected):
    members = dict(honest_members)
    members["metadata.json"] = b" " * (archive_checks.MAX_METADATA_BYTES + 1)
    data = build_archive(honest_list(members), zipfile.ZIP_DEFLATED)
    expect_rejected(write_file(data), "metadata.json.*limit")


def test_stored_size_lie_rejected(honest_members, write_file, expect_rejected):
    data = build_archive(honest_list(honest_members))
    info = zipfile.ZipFile(write_file(data)).getinfo("model.weights.h5")
    data = patch_central(data, "model.weights.h5", file_size=info.file_size * 1000)
    expect_rejected(write_file(data), "STORED member must store exactly")


def test_size_beyond_file_rejected(honest_members, write_file, expect_rejected):
    data = build_archive(honest_list(honest_members))
    big = len(data) * 4
    data = patch_central(data, "model.weights.h5", file_size=big, compressed_size=big)
    expect_rejected(write_file(data), "more than the .*-byte archive holds")


def test_overlapping_members_rejected(honest_members, write_file, expect_rejected):
    # The config entry points at the metadata's local header: both read the
    # same bytes (the non-recursive zip bomb trick).
    members = honest_list(honest_members)
    members[1] = ("config.json", honest_members["metadata.json"])
    data = build_archive(members)
    data = patch_central(data, "config.json", header_offset=0)
    expect_rejected(write_file(data), "overlap")


# -- member count and directory size --


def test_too_many_members_rejected(honest_members, write_file, expect_rejected):
    extra = [(f"assets/{i}", b"") for i in range(archive_checks.MAX_MEMBERS)]
    data = build_archive(honest_list(honest_members) + extra)
    expect_rejected(write_file(data), "10003 members, over the limit of 10000")


def test_many_asset_members_load(honest_members, write_file, expect_loads):
    extra = [(f"assets/{i}", b"") for i in range(500)]
    expect_loads(write_file(build_archive(honest_list(honest_members) + extra)))


# -- not a zip at all --


@pytest.mark.parametrize(
    "make",
    [
        lambda honest: b"",
        lambda honest: b"not a zip file\n",
        lambda honest: honest[: len(honest) // 2],
        lambda honest: honest[:-10],
    ],
    ids=["empty", "text", "truncated-half", "truncated-end"],
)
def test_not_a_zip_rejected(honest_members, write_file, expect_rejected, make):
    honest = build_archive(honest_list(honest_members))
    expect_rejected(write_file(make(honest)), "not a valid .keras file")


def test_honest_archive_loads(honest_members, write_file, expect_loads):
    expect_loads(write_file(build_archive(honest_list(honest_members))))


# -- local headers against the central directory -------------------------------------
#
# `zipfile` reads names, sizes and methods from the central directory only; a
# streaming reader (or an extractor) reads the local headers. A file that says
# different things in each shows each reader a different archive.


def _forged_with(honest_members, name, **overrides):
    members = honest_forged(honest_members)
    index = MEMBERS.index(name)
    old = members[index]
    members[index] = Forged(old.name, old.raw, **overrides)
    return forge(members)


def test_forged_honest_archive_loads(honest_members, write_file, expect_loads):
    # The forge's own honest layout, the twin of every lie below.
    expect_loads(write_file(forge(honest_forged(honest_members))))
    expect_loads(write_file(forge(honest_forged(honest_members, deflate=True))))


@pytest.mark.parametrize(
    "name, overrides, rule",
    [
        ("config.json", {"local_name": b"payload.pyc"}, "local header names it"),
        ("config.json", {"local_name": b"evil.py"}, "name is 7 bytes long"),
        ("config.json", {"local_method": 8}, "compression method 8, the central"),
        ("model.weights.h5", {"local_file_size": 1}, "disagree on its CRC-32 and"),
        ("config.json", {"local_compressed_size": 3}, "disagree on its CRC-32 and"),
        ("metadata.json", {"local_crc": 0}, "disagree on its CRC-32 and"),
        ("config.json", {"local_flags": 0x800}, "local header's flags"),
    ],
    ids=["name", "name-length", "method", "size", "compressed-size", "crc", "flags"],
)
def test_local_header_disagreeing_with_directory_rejected(
    honest_members, write_file, expect_rejected, name, overrides, rule
):
    data = _forged_with(honest_members, name, **overrides)
    expect_rejected(write_file(data), rule)


def test_stored_member_data_descriptor_lie_rejected(
    honest_members, write_file, expect_rejected, expect_loads
):
    config = honest_members["config.json"]
    honest = struct.pack("<IIII", 0x08074B50, zlib.crc32(config), *[len(config)] * 2)
    zeros = {"local_crc": 0, "local_compressed_size": 0, "local_file_size": 0}
    flags = {"local_flags": 0x8, "central_flags": 0x8}
    # Twin: sizes in a descriptor after the data, as a streaming writer does.
    twin = _forged_with(honest_members, "config.json", suffix=honest, **zeros, **flags)
    expect_loads(write_file(twin))
    lie = honest[:-4] + struct.pack("<I", len(config) + 1)
    data = _forged_with(honest_members, "config.json", suffix=lie, **zeros, **flags)
    expect_rejected(write_file(data), "data descriptor .* does not repeat")


class _Unseekable(io.RawIOBase):
    def __init__(self):
        self.data = bytearray()

    def writable(self):
        return True

    def write(self, b):
        self.data += b
        return len(b)


def test_zip_written_to_a_pipe_loads(honest_members, write_file, expect_loads):
    # zipfile writes data descriptors when the output cannot seek.
    out = _Unseekable()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in honest_list(honest_members):
            archive.writestr(name, data)
    assert b"PK\x07\x08" in out.data
    expect_loads(write_file(bytes(out.data)))


# -- bytes shared between members, or belonging to none ------------------------------


def test_member_hidden_in_local_extra_field_rejected(
    honest_members, write_file, expect_rejected, expect_loads
):
    # metadata.json's whole local record sits inside config.json's local extra
    # field: the old no-overlap rule, which ignored local extra fields, passed
    # it, and the two members shared bytes.
    hidden = Forged("metadata.json", honest_members["metadata.json"])
    record = hidden.local_record(0)
    wrapper = struct.pack("<HH", 0xCAFE, len(record)) + record
    config = Forged("config.json", honest_members["config.json"], local_extra=wrapper)
    weights = Forged("model.weights.h5", honest_members["model.weights.h5"])
    at = 30 + len("config.json") + 4
    data = forge([config, weights], ghosts=[(hidden, at)])
    expect_rejected(write_file(data), "config.json.*overlap")
    # Twin: a harmless local extra field of the same kind.
    members = honest_forged(honest_members)
    members[1] = Forged(
        "config.json",
        honest_members["config.json"],
        local_extra=struct.pack("<HH", 0xCAFE, 16) + bytes(16),
    )
    expect_loads(write_file(forge(members)))


def test_deflated_member_swallowing_the_next_header_rejected(
    honest_members, write_file, expect_rejected
):
    members = honest_forged(honest_members, deflate=True)
    stored = len(members[1].stored)
    members[1] = Forged(
        "config.json",
        honest_members["config.json"],
        deflate=True,
        central_compressed_size=stored + 40,
    )
    expect_rejected(write_file(forge(members)), "config.json.*overlap")


@pytest.mark.parametrize(
    "layout, rule",
    [
        ({"prefix": b"#!/bin/sh\nexit 0\n"}, "belong to no member"),
        ({"between": b"\0" * 64}, "belong to no member"),
    ],
    ids=["prepended", "before-directory"],
)
def test_unaccounted_bytes_rejected(
    honest_members, write_file, expect_rejected, layout, rule
):
    expect_rejected(write_file(forge(honest_forged(honest_members), **layout)), rule)


def test_gap_between_members_rejected(honest_members, write_file, expect_rejected):
    members = honest_forged(honest_members)
    members[0].suffix = b"\0" * 30  # after metadata.json's data
    expect_rejected(write_file(forge(members)), "config.json.*belong to no member")


# -- end records ---------------------------------------------------------------------


def test_two_end_records_rejected(honest_members, write_file, expect_rejected):
    members = honest_forged(honest_members)
    honest = forge(members)
    # The comment is itself an end record (pointing at the same directory):
    # backward and forward searches find different records.
    inner = honest[-22:]
    data = forge(members, comment=inner)
    expect_rejected(write_file(data), "two end-of-central-directory records")
    data = forge(members, comment=b"note PK\x05\x06 note")
    expect_rejected(write_file(data), "two end-of-central-directory records")


@pytest.mark.parametrize(
    "end, comment",
    [({"comment_length": 10}, b""), ({"comment_length": 0}, b"trailing")],
    ids=["longer", "shorter"],
)
def test_comment_length_lie_rejected(
    honest_members, write_file, expect_rejected, end, comment
):
    data = forge(honest_forged(honest_members), end=end, comment=comment)
    expect_rejected(write_file(data), "comment but .* bytes follow it")


def test_overlong_comment_rejected(honest_members, write_file, expect_rejected):
    comment = b"x" * (archive_checks.MAX_COMMENT_BYTES + 1)
    data = forge(honest_forged(honest_members), comment=comment)
    expect_rejected(write_file(data), "not a valid .keras file|bytes follow it")


def test_archive_comment_loads(honest_members, write_file, expect_loads):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.comment = b"built by a packaging tool"
        for name, data in honest_list(honest_members):
            archive.writestr(name, data)
    expect_loads(write_file(buffer.getvalue()))


@pytest.mark.parametrize(
    "end, rule",
    [
        ({"directory_offset": 10**6}, "directory must end where the end records"),
        ({"directory_offset": 0}, "directory must end where the end records"),
        ({"directory_size": 40}, "directory must end where the end records"),
        ({"count": 2}, "bytes after the 2 entries"),
        ({"count": 4}, "fewer than the 4 entries|at least 46"),
    ],
    ids=["offset-outside", "offset-inside", "size", "count-low", "count-high"],
)
def test_directory_location_lie_rejected(
    honest_members, write_file, expect_rejected, end, rule
):
    data = forge(honest_forged(honest_members), end=end)
    expect_rejected(write_file(data), rule)


# -- ZIP64 end records -----------------------------------------------------------------


def test_zip64_end_records_load(honest_members, write_file, expect_loads):
    # What kiln and zipfile write for archives over 4 GiB (or 65535 members),
    # on a small archive: members and end records in ZIP64 form.
    expect_loads(write_file(forge(honest_forged(honest_members), zip64_end=True)))
    for compression in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        data = python_zip64(honest_list(honest_members), compression)
        assert b"PK\x06\x06" in data and b"PK\x06\x07" in data
        expect_loads(write_file(data))


def test_kiln_writer_zip64_records_load(honest_members, write_file, expect_loads):
    buffer = io.BytesIO()
    writer = ZipWriter(buffer, zip64_threshold=0)  # every field in ZIP64 form
    writer.add_bytes("metadata.json", honest_members["metadata.json"])
    writer.add_bytes("config.json", honest_members["config.json"])
    window = writer.open_stream("model.weights.h5")
    window.write(honest_members["model.weights.h5"])
    writer.close_stream()
    writer.close()
    data = buffer.getvalue()
    end = struct.unpack_from("<IHHHHIIH", data, len(data) - 22)
    assert end[3:7] == (0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF)
    expect_loads(write_file(data))


@pytest.mark.parametrize(
    "locator_at_decoy, rule",
    [
        (True, "locator points at offset .* immediately before the locator"),
        (False, "declares 400004 members, over the limit of 10000"),
    ],
    ids=["decoy-record", "honest-locator"],
)
def test_zip64_decoy_locator_rejected_before_the_directory_is_read(
    honest_members, write_file, expect_rejected, locator_at_decoy, rule
):
    # 400 000 entries: ~22 MB of directory that zipfile would turn into
    # ~400 000 ZipInfo objects (the 119 MB original used 1.2 GB).
    path = write_file(decoy_archive(honest_members, 400_000, locator_at_decoy))
    tracemalloc.start()
    try:
        expect_rejected(path, rule)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20, f"refusing the decoy allocated {peak} bytes"


def test_zip64_record_disagreeing_with_end_record_rejected(
    honest_members, write_file, expect_rejected
):
    data = forge(honest_forged(honest_members), zip64_end=True)
    # The end record gives a real count (not the placeholder) that differs.
    at = len(data) - 22
    patched = (
        data[:at] + struct.pack("<IHHHH", 0x06054B50, 0, 0, 2, 2) + data[at + 12 :]
    )
    expect_rejected(write_file(patched), "member count .* disagrees with its ZIP64")
    # Placeholders with no ZIP64 records at all.
    data = forge(honest_forged(honest_members), end={"count": 0xFFFF})
    expect_rejected(write_file(data), "placeholders .* but no ZIP64 locator")


def test_zip64_extra_field_lies_rejected(
    honest_members, write_file, expect_rejected, expect_loads
):
    weights = honest_members["model.weights.h5"]
    size = len(weights)
    placeholders = {
        "central_file_size": 0xFFFFFFFF,
        "central_compressed_size": 0xFFFFFFFF,
    }
    # Twin: the sizes as ZIP64 placeholders, the real ones in the extra field.
    twin = _forged_with(
        honest_members, "model.weights.h5",
        central_extra=zip64_extra(size, size), **placeholders,
    )  # fmt: skip
    expect_loads(write_file(twin))
    for extra, rule in [
        (zip64_extra(size, size + 1), "STORED member must store exactly"),
        (zip64_extra(size - 1, size - 1), "disagree on its CRC-32"),
        (zip64_extra(size), "too short for the fields"),
        (zip64_extra(size, size, 0), "holds 24 bytes, not the 16"),
        (zip64_extra(size, size) + zip64_extra(size, size), "0x0001 twice"),
    ]:
        data = _forged_with(
            honest_members, "model.weights.h5", central_extra=extra, **placeholders
        )
        expect_rejected(write_file(data), rule)
    # A ZIP64 field with no placeholder to replace.
    data = _forged_with(honest_members, "config.json", central_extra=zip64_extra(1, 1))
    expect_rejected(write_file(data), "holds 16 bytes, not the 0")


def test_unicode_path_extra_naming_another_file_rejected(
    honest_members, write_file, expect_rejected, expect_loads
):
    def unicode_path(name: bytes) -> bytes:
        body = b"\x01" + struct.pack("<I", zlib.crc32(b"config.json")) + name
        return struct.pack("<HH", 0x7075, len(body)) + body

    data = _forged_with(
        honest_members, "config.json", central_extra=unicode_path(b"evil.py")
    )
    expect_rejected(write_file(data), "Unicode path extra field names another")
    twin = _forged_with(
        honest_members, "config.json", central_extra=unicode_path(b"config.json")
    )
    expect_loads(write_file(twin))


# -- DEFLATE read backwards (a time bomb) ----------------------------------------------
#
# zipfile's member reader re-inflates from the member's first byte on every
# backward seek. An HDF5 weights member whose datasets were written last to
# first, then DEFLATED, makes every read seek backwards: 200 layers (a 4 MB
# file) took 16 s to read through zipfile, 800 layers about four minutes.
# kiln inflates a member once, forward, so the backward file costs what the
# forward one does.

_BACKWARD_LAYERS = 200
_TIMED_LOADS = """
import contextlib, io, json, sys, time
import kiln, kiln.saving
from kiln._src.cli.main import main

def load_model(path):
    kiln.saving.load_model(path)

def open_weights(path):
    with kiln.saving.open_weights(path) as weights:
        for info in weights.variables():
            weights.read(info.path)

def cli(command):
    def run(path):
        with contextlib.redirect_stdout(io.StringIO()) as out:
            code = main([command, path])
        assert code == 0, out.getvalue()[-2000:]
    return run

times = {}
for name, load in [("load_model", load_model), ("open_weights", open_weights),
                   ("inspect", cli("inspect")), ("verify", cli("verify"))]:
    for kind, path in [("forward", sys.argv[1]), ("backward", sys.argv[2])]:
        start = time.perf_counter()
        load(path)
        times[f"{name} {kind}"] = time.perf_counter() - start
print(json.dumps(times))
"""


@pytest.mark.slow
def test_backward_deflated_weights_load_in_linear_time(tmp_path):
    import subprocess
    import sys

    import numpy as np

    import kiln

    units = 128
    model = kiln.Sequential(
        [kiln.Input((units,))]
        + [kiln.layers.Dense(units) for _ in range(_BACKWARD_LAYERS)]
    )
    generator = np.random.default_rng(0)
    for layer in model.layers:  # compressible values, as trained weights are
        kernel = generator.standard_normal(layer.kernel.shape).round(1)
        layer.kernel.assign(kernel.astype("float32"))
    forward = str(tmp_path / "forward.keras")
    backward = str(tmp_path / "backward.keras")
    model.save(forward)
    backward_deflated(forward, backward)
    with zipfile.ZipFile(backward) as archive:
        info = archive.getinfo("model.weights.h5")
        assert info.compress_type == zipfile.ZIP_DEFLATED
        assert info.compress_size < info.file_size / 2
    # The loaded weights are the saved ones.
    loaded = kiln.saving.load_model(backward)
    for saved, read in zip(model.weights, loaded.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(saved), np.asarray(read))
    result = subprocess.run(
        [sys.executable, "-c", _TIMED_LOADS, forward, backward],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    times = json.loads(result.stdout.strip().splitlines()[-1])
    for entry in ("load_model", "open_weights", "inspect", "verify"):
        honest, bomb = times[f"{entry} forward"], times[f"{entry} backward"]
        # zipfile's reader took 16 s for this file (30x the forward load).
        assert bomb < 3 * honest + 2.0, times


@pytest.mark.slow
def test_keras_archive_deflated_loads(tmp_path):
    # The benign twin from real Keras: its archive (STORED, as Keras 3.15.1
    # writes it with `zipfile.ZipFile(fileobj, "w")`) re-zipped DEFLATED, as
    # zip tools do, loads with the same predictions.
    import os

    import numpy as np

    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras

    import kiln

    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(8), keras.layers.Dense(2)]
    )
    path = str(tmp_path / "keras.keras")
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        assert {i.compress_type for i in archive.infolist()} == {zipfile.ZIP_STORED}
    deflated = str(tmp_path / "deflated.keras")
    with open(deflated, "wb") as file:
        file.write(
            build_archive(list(read_members(path).items()), zipfile.ZIP_DEFLATED)
        )
    x = np.linspace(-1, 1, 12, dtype="float32").reshape(3, 4)
    loaded = kiln.saving.load_model(deflated)
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), rtol=1e-6)


# -- DEFLATE streams that lie ----------------------------------------------------------


def _deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize(
    "make, rule",
    [
        # The stream inflates to more than declared: stopped at the first
        # byte past the declared size.
        (lambda c: (_deflate(c + b" " * 5000), len(c), zlib.crc32(c)), "more than"),
        (lambda c: (_deflate(c)[:-8], len(c), zlib.crc32(c)), "ends early"),
        (lambda c: (_deflate(c) + b"junk", len(c), zlib.crc32(c)), "ends before"),
        (lambda c: (_deflate(c), len(c), zlib.crc32(c) ^ 1), "Bad CRC-32"),
        (lambda c: (b"\xff" * 64, len(c), zlib.crc32(c)), "damaged"),
    ],
    ids=["longer", "truncated", "trailing", "crc", "garbage"],
)
def test_lying_deflate_stream_rejected(
    honest_members, write_file, expect_rejected, make, rule
):
    config = honest_members["config.json"]
    stream, size, crc = make(config)
    data = with_stream(honest_members, "config.json", stream, size, crc)
    expect_rejected(write_file(data), f"config.json.*{rule}")


def test_deflated_weights_memory_bomb_rejected(
    honest_members, write_file, expect_rejected
):
    # 256 MiB of zeros in 256 KB: under DEFLATE's 1100:1 but, inflated into
    # memory, 1000 times what the file holds.
    size = 256 * 2**20
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = compressor.compress(bytes(2**20)) + compressor.flush(zlib.Z_SYNC_FLUSH)
    stream = chunk * 256 + b"\x03\x00"  # 256 copies, then an empty final block
    crc = 0
    for _ in range(256):
        crc = zlib.crc32(bytes(2**20), crc)
    data = with_stream(honest_members, "model.weights.h5", stream, size, crc)
    expect_rejected(write_file(data), "may declare at most 32 times its stored")
