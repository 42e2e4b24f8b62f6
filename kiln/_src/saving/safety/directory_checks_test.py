"""Directory-form model checks, on real directories."""

import os

import pytest

from kiln._src.saving.errors import InvalidFileError
from kiln._src.saving.safety import directory_checks
from kiln._src.saving.safety.archive_checks import MAX_METADATA_BYTES


def _model_directory(tmp_path):
    path = tmp_path / "model"
    path.mkdir()
    (path / "config.json").write_bytes(b"{}")
    (path / "metadata.json").write_bytes(b"{}")
    (path / "model.weights.h5").write_bytes(b"w" * 10)
    return path


def test_expected_members_pass_and_sizes_are_returned(tmp_path):
    path = _model_directory(tmp_path)
    (path / "assets" / "sub").mkdir(parents=True)
    (path / "assets" / "sub" / "vocab.txt").write_bytes(b"abc")
    sizes = directory_checks.check_model_directory(str(path))
    assert sizes == {"config.json": 2, "metadata.json": 2, "model.weights.h5": 10}


@pytest.mark.parametrize(
    "make, rule",
    [
        (lambda p, o: (p / "extra.py").write_bytes(b"x"), "unexpected entry"),
        (lambda p, o: (p / "sub").mkdir(), "unexpected entry"),
        (
            lambda p, o: (
                (p / "config.json").unlink(),
                os.symlink(o, p / "config.json"),
            ),
            "symbolic link",
        ),
        (
            lambda p, o: ((p / "config.json").unlink(), os.mkfifo(p / "config.json")),
            "FIFO",
        ),
        (lambda p, o: os.link(o, p / "assets.bin") and None, "unexpected"),
        (
            lambda p, o: (
                (p / "metadata.json").unlink(),
                os.link(o, p / "metadata.json"),
            ),
            "2 hard links",
        ),
        (
            lambda p, o: (p / "metadata.json").write_bytes(
                b" " * (MAX_METADATA_BYTES + 1)
            ),
            "over the 1048576-byte limit",
        ),
        (
            lambda p, o: os.symlink(o, p / "assets"),
            "symbolic link; expected a directory",
        ),
        (lambda p, o: (p / "assets").write_bytes(b"x"), "expected a directory"),
        (
            lambda p, o: ((p / "assets").mkdir(), os.symlink(o, p / "assets" / "v")),
            "symbolic link",
        ),
    ],
    ids=[
        "extra-file",
        "extra-dir",
        "symlink",
        "fifo",
        "extra-hardlink",
        "hardlink",
        "oversized",
        "assets-symlink",
        "assets-file",
        "asset-symlink",
    ],
)
def test_broken_rules_are_refused(tmp_path, make, rule):
    path = _model_directory(tmp_path)
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"secret")
    make(path, str(outside))
    with pytest.raises(InvalidFileError, match=rule):
        directory_checks.check_model_directory(str(path))


def test_assets_depth_is_capped(tmp_path):
    path = _model_directory(tmp_path)
    deep = path / "assets"
    for _ in range(directory_checks.MAX_ASSETS_DEPTH + 1):
        deep = deep / "d"
    deep.mkdir(parents=True)
    with pytest.raises(InvalidFileError, match="nested over 32 levels"):
        directory_checks.check_model_directory(str(path))


# -- check_member_file: the rule shared with the shards of a sharded index --


def _fail(member, rule):
    return InvalidFileError(f"{member}: {rule}")


def test_member_file_rules(tmp_path):
    (tmp_path / "own.h5").write_bytes(b"12345")
    assert directory_checks.check_member_file(str(tmp_path), "own.h5", 5, _fail) == 5
    with pytest.raises(InvalidFileError, match="own.h5: it is 5 bytes, over the 4"):
        directory_checks.check_member_file(str(tmp_path), "own.h5", 4, _fail)
    os.symlink("own.h5", tmp_path / "link.h5")
    with pytest.raises(InvalidFileError, match="link.h5: it is a symbolic link"):
        directory_checks.check_member_file(str(tmp_path), "link.h5", 5, _fail)
    (tmp_path / "sub").mkdir()
    os.link(tmp_path / "own.h5", tmp_path / "sub" / "hard.h5")
    with pytest.raises(InvalidFileError, match="sub/hard.h5: it has 2 hard links"):
        directory_checks.check_member_file(str(tmp_path), "sub/hard.h5", 5, _fail)
    os.mkfifo(tmp_path / "pipe.h5")
    with pytest.raises(InvalidFileError, match="pipe.h5: it is a FIFO"):
        directory_checks.check_member_file(str(tmp_path), "pipe.h5", 5, _fail)
    with pytest.raises(FileNotFoundError):
        directory_checks.check_member_file(str(tmp_path), "none.h5", 5, _fail)
