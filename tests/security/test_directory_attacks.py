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


# -- FIFOs anywhere a file is read: refused, never waited on --


@pytest.mark.slow
def test_fifos_are_refused_without_blocking(tmp_path):
    """A FIFO as the model path, as the weights path, as a shard, as the
    index and as a directory member: each entry point refuses it with
    `InvalidFileError` at once (opening one for reading would block until a
    writer comes, forever). Run in a child under a timeout so that a
    regression fails instead of hanging the suite; the honest files are the
    twins, in the same child."""
    from isolated import run_calls

    model = kiln.Sequential([kiln.Input((3,)), kiln.layers.Dense(2, name="dense")])
    honest = tmp_path / "honest.keras"
    model.save(str(honest))
    model.save_weights(str(tmp_path / "honest.weights.h5"))
    (tmp_path / "honest-dir").mkdir()
    model.save(str(tmp_path / "honest-dir" / "m"), zipped=False)
    for name in ("sharded", "honest-sharded"):
        (tmp_path / name).mkdir()
        model.save_weights(
            str(tmp_path / name / "s.weights.json"), max_shard_size=30 / 1024**3
        )
    os.remove(tmp_path / "sharded" / "s_00001.weights.h5")
    os.mkfifo(tmp_path / "sharded" / "s_00001.weights.h5")
    for member in ("config.json", "model.weights.h5"):
        directory = tmp_path / f"fifo-{member.split('.')[0]}"
        model.save(str(directory), zipped=False)
        os.remove(directory / member)
        os.mkfifo(directory / member)
    for name in ("fifo.keras", "fifo.weights.h5", "fifo.weights.json"):
        os.mkfifo(tmp_path / name)

    load = "import kiln; kiln.saving.load_model({!r}); result = 'loaded'"
    into = (
        "import kiln; m = kiln.saving.load_model(" + repr(str(honest)) + "); "
        "m.load_weights({!r}); result = 'loaded'"
    )
    lazy = (
        "import kiln\n"
        "with kiln.saving.open_weights({!r}) as w:\n"
        "    result = [w.read(i.path).shape for i in w.variables()]"
    )
    hostile = {
        "model path": load.format(str(tmp_path / "fifo.keras")),
        "weights path": into.format(str(tmp_path / "fifo.weights.h5")),
        "index path": into.format(str(tmp_path / "fifo.weights.json")),
        "shard": into.format(str(tmp_path / "sharded" / "s.weights.json")),
        "directory config.json": load.format(str(tmp_path / "fifo-config")),
        "directory weights": load.format(str(tmp_path / "fifo-model")),
        "open_weights model": lazy.format(str(tmp_path / "fifo.keras")),
        "open_weights weights": lazy.format(str(tmp_path / "fifo.weights.h5")),
        "open_weights member": lazy.format(str(tmp_path / "fifo-model")),
    }
    twins = {
        "twin model": load.format(str(honest)),
        "twin weights": into.format(str(tmp_path / "honest.weights.h5")),
        "twin shard": into.format(str(tmp_path / "honest-sharded" / "s.weights.json")),
        "twin directory": load.format(str(tmp_path / "honest-dir" / "m")),
        "twin open_weights": lazy.format(str(honest)),
    }
    outcomes = run_calls({**twins, **hostile}, timeout_s=240)
    for label in twins:
        assert outcomes[label].status == "returned", (label, str(outcomes[label]))
    for label in hostile:
        outcome = outcomes[label]
        assert outcome.invalid_file_error, (label, str(outcome))
        assert "FIFO" in outcome.message, (label, str(outcome))


# -- shards follow the directory-member rules --


@pytest.fixture
def sharded(tmp_path):
    (tmp_path / "index").mkdir()
    path = tmp_path / "index" / "m.weights.json"
    model = kiln.Sequential([kiln.Input((3,)), kiln.layers.Dense(2, name="dense")])
    model.save_weights(str(path), max_shard_size=30 / 1024**3)
    return path


def _refused_into_a_model(path, match):
    model = kiln.Sequential([kiln.Input((3,)), kiln.layers.Dense(2, name="dense")])
    before = [np.array(w) for w in model.get_weights()]
    with pytest.raises(InvalidFileError, match=match):
        model.load_weights(str(path))
    for old, new in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(old, np.array(new))


def test_shard_hard_linked_to_a_file_outside_is_refused(sharded, tmp_path):
    # A hard link cannot be told from the file it links by its path alone:
    # the shard would read whatever file elsewhere it was linked to.
    outside = tmp_path / "secret.weights.h5"
    shard = sharded.parent / "m_00000.weights.h5"
    os.replace(shard, outside)
    os.link(outside, shard)
    _refused_into_a_model(sharded, "shard 'm_00000.weights.h5': it has 2 hard links")
    # The twin: the same bytes, copied, load.
    os.remove(shard)
    shard.write_bytes(outside.read_bytes())
    kiln.Sequential(
        [kiln.Input((3,)), kiln.layers.Dense(2, name="dense")]
    ).load_weights(str(sharded))


@pytest.mark.parametrize("target", ["outside", "beside"])
def test_shard_symlink_is_refused(sharded, tmp_path, target):
    shard = sharded.parent / "m_00001.weights.h5"
    moved = (tmp_path if target == "outside" else sharded.parent) / "real.h5"
    os.replace(shard, moved)
    os.symlink(moved, shard)
    _refused_into_a_model(sharded, "shard 'm_00001.weights.h5': it is a symbolic link")
