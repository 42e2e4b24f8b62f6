"""Hostile zip containers: each attack has a benign twin that must load."""

from __future__ import annotations

import stat
import zipfile

import pytest
from security_zip_forge import build_archive, honest_list, patch_central

from kiln._src.saving.safety import archive_checks

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
