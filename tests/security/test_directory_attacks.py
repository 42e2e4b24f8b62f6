"""Hostile directory-form models (``model.save(path, zipped=False)``): each
attack must raise `InvalidFileError` before a member is read, and the benign
twin loads."""

from __future__ import annotations

import os

import numpy as np
import pytest

import kiln
from kiln._src.saving.errors import InvalidFileError
from kiln._src.saving.safety.archive_checks import MAX_CONFIG_BYTES


@pytest.fixture(autouse=True, scope="module")
def _warm(tmp_path_factory):
    """One benign load first, so the modules a load imports are imported
    before `expect_rejected` compares `sys.modules`."""
    path = tmp_path_factory.mktemp("warm") / "model"
    kiln.Sequential([kiln.Input((3,)), kiln.layers.Dense(2)]).save(
        str(path), zipped=False
    )
    kiln.saving.load_model(str(path))


@pytest.fixture
def model_directory(tmp_path):
    """A Dense model saved as a directory, and a secret file outside it."""
    path = tmp_path / "model"
    model = kiln.Sequential([kiln.Input((3,)), kiln.layers.Dense(2, name="dense")])
    model.save(str(path), zipped=False)
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"TOP-SECRET")
    return path, secret


def test_benign_directory_loads(model_directory, expect_loads):
    path, _ = model_directory
    assert sorted(os.listdir(path)) == [
        "config.json",
        "metadata.json",
        "model.weights.h5",
    ]
    expect_loads(str(path))


def test_benign_directory_with_assets_loads(model_directory, expect_loads):
    path, _ = model_directory
    (path / "assets").mkdir()
    (path / "assets" / "vocab.txt").write_bytes(b"a\nb\n")
    expect_loads(str(path))


@pytest.mark.parametrize("member", ["config.json", "metadata.json", "model.weights.h5"])
def test_symlinked_member_is_refused(model_directory, expect_rejected, member):
    path, _ = model_directory
    # The link points at an honest copy of the member: only the link is wrong.
    outside = path.parent / f"outside-{member}"
    os.replace(path / member, outside)
    os.symlink(outside, path / member)
    expect_rejected(str(path), f"'{member}'.*symbolic link")


def test_symlinked_weights_to_another_model_is_refused(
    tmp_path, model_directory, expect_rejected
):
    path, _ = model_directory
    other = tmp_path / "other"
    kiln.Sequential([kiln.Input((3,)), kiln.layers.Dense(2, name="dense")]).save(
        str(other), zipped=False
    )
    os.remove(path / "model.weights.h5")
    os.symlink(other / "model.weights.h5", path / "model.weights.h5")
    expect_rejected(str(path), "symbolic link")


def test_symlinked_assets_directory_is_refused(model_directory, expect_rejected):
    path, secret = model_directory
    os.symlink(secret.parent, path / "assets")
    expect_rejected(str(path), "'assets'.*symbolic link; expected a directory")


def test_symlink_inside_assets_is_refused(model_directory, expect_rejected):
    path, secret = model_directory
    (path / "assets").mkdir()
    os.symlink(secret, path / "assets" / "vocab.txt")
    expect_rejected(str(path), "'assets/vocab.txt'.*symbolic link")


@pytest.mark.parametrize("member", ["config.json", "model.weights.h5"])
def test_fifo_member_is_refused_without_blocking(
    model_directory, expect_rejected, member
):
    # Opening a FIFO for reading would block until a writer comes.
    path, _ = model_directory
    os.remove(path / member)
    os.mkfifo(path / member)
    expect_rejected(str(path), f"'{member}'.*FIFO")


def test_hard_linked_member_is_refused(model_directory, expect_rejected):
    path, secret = model_directory
    os.remove(path / "metadata.json")
    os.link(secret, path / "metadata.json")
    expect_rejected(str(path), "'metadata.json'.*2 hard links")


@pytest.mark.parametrize("name", ["payload.py", "config.json.bak", ".hidden", "sub"])
def test_unexpected_entry_is_refused(model_directory, expect_rejected, name):
    path, _ = model_directory
    if name == "sub":
        (path / name).mkdir()
    else:
        (path / name).write_bytes(b"x")
    expect_rejected(str(path), f"'{name}'.*unexpected entry")


def test_oversized_config_is_refused_without_reading(model_directory, expect_rejected):
    path, _ = model_directory
    # A sparse file: its size is over the cap, its blocks cost nothing.
    with open(path / "config.json", "r+b") as file:
        file.truncate(MAX_CONFIG_BYTES + 1)
    expect_rejected(str(path), "'config.json'.*over the 67108864-byte limit")


def test_load_weights_from_a_directory_follows_the_same_rules(model_directory):
    path, secret = model_directory
    model = kiln.Sequential([kiln.Input((3,)), kiln.layers.Dense(2, name="dense")])
    model.load_weights(str(path))  # benign
    before = [np.array(w) for w in model.get_weights()]
    os.remove(path / "model.weights.h5")
    os.symlink(secret, path / "model.weights.h5")
    with pytest.raises(InvalidFileError, match="symbolic link"):
        model.load_weights(str(path))
    for old, new in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(old, np.array(new))
