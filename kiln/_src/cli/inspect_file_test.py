"""`kiln inspect` on honest and hostile files: every kind goes through the
loader's checked readers, and every failure is one clean line."""

import io
import json
import os
import subprocess
import sys
import zipfile

import h5py
import numpy as np
import pytest

import kiln
from kiln._src.cli.inspect_file import describe
from kiln._src.saving.errors import InvalidFileError

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))


def _model():
    return kiln.Sequential([kiln.Input((3,)), kiln.layers.Dense(2, name="dense")])


def _cli(path, timeout=60):
    """`kiln inspect path` in a child, under a timeout (a FIFO would hang)."""
    return subprocess.run(
        [sys.executable, "-m", "kiln._src.cli.main", "inspect", str(path)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=dict(os.environ, PYTHONPATH=REPO_ROOT),
    )


def _refused(path, match):
    out = io.StringIO()
    with pytest.raises(InvalidFileError, match=match) as info:
        describe(str(path), out)
    assert out.getvalue() == ""  # nothing printed for a refused file
    assert "\n" not in str(info.value)
    return str(info.value)


@pytest.fixture
def sharded(tmp_path):
    directory = tmp_path / "d"
    directory.mkdir()
    path = directory / "s.weights.json"
    _model().save_weights(str(path), max_shard_size=30 / 1024**3)
    return path


def test_external_link_in_a_shard_is_refused_not_followed(tmp_path, sharded):
    # The shard's group links to another file's datasets; a listing that
    # followed it would print them.
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as h5:
        h5.create_dataset("secret/vars/0", data=np.ones((7, 7), "f4"))
    shard = sharded.parent / "s_00000.weights.h5"
    with h5py.File(shard, "a") as h5:
        del h5["layers/dense/vars"]
        h5["layers/dense/vars"] = h5py.ExternalLink(str(other), "/secret/vars")
    message = _refused(sharded, "layers/dense/vars.*ExternalLink")
    assert "(7, 7)" not in message
    # The twin: the honest shard lists its datasets.
    _model().save_weights(str(sharded), max_shard_size=30 / 1024**3)
    out = io.StringIO()
    describe(str(sharded), out)
    assert "layers/dense/vars/0  (3, 2)" in out.getvalue()


def test_external_link_dataset_in_a_shard_is_refused(tmp_path, sharded):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as h5:
        h5.create_dataset("x", data=np.ones((3, 2), "f4"))
    shard = sharded.parent / "s_00000.weights.h5"
    with h5py.File(shard, "a") as h5:
        del h5["layers/dense/vars/0"]
        h5["layers/dense/vars/0"] = h5py.ExternalLink(str(other), "/x")
    _refused(sharded, "'layers/dense/vars/0' is a ExternalLink")


def test_hard_linked_shard_is_refused(tmp_path, sharded):
    shard = sharded.parent / "s_00001.weights.h5"
    outside = tmp_path / "elsewhere.h5"
    os.replace(shard, outside)
    os.link(outside, shard)
    _refused(sharded, "shard 's_00001.weights.h5': it has 2 hard links")


def test_unallocated_dataset_is_refused(tmp_path):
    path = tmp_path / "w.weights.h5"
    _model().save_weights(str(path))
    with h5py.File(path, "a") as h5:
        del h5["layers/dense/vars/0"]
        h5.create_dataset("layers/dense/vars/0", shape=(3, 2), dtype="f4")
    _refused(path, "'layers/dense/vars/0' declares 24 bytes but its storage holds 0")


def test_truncated_files_say_so(tmp_path):
    model = _model()
    model.save(str(tmp_path / "m.keras"))
    model.save_weights(str(tmp_path / "w.weights.h5"))
    for name in ("m.keras", "w.weights.h5"):
        data = (tmp_path / name).read_bytes()
        (tmp_path / f"cut-{name}").write_bytes(data[: len(data) // 2])
    _refused(tmp_path / "cut-m.keras", "not a readable zip.*truncated")
    _refused(tmp_path / "cut-w.weights.h5", "is truncated")


def test_kind_from_the_first_bytes_when_the_name_says_nothing(tmp_path):
    model = _model()
    model.save(str(tmp_path / "m.keras"))
    model.save_weights(str(tmp_path / "w.weights.h5"))
    os.replace(tmp_path / "m.keras", tmp_path / "model.bin")
    os.replace(tmp_path / "w.weights.h5", tmp_path / "weights.bin")
    out = io.StringIO()
    describe(str(tmp_path / "model.bin"), out)
    describe(str(tmp_path / "weights.bin"), out)
    assert "Keras 3 model archive" in out.getvalue()
    assert "weights.bin: weights file" in out.getvalue()
    (tmp_path / "other.bin").write_bytes(b"\x00garbage")
    _refused(tmp_path / "other.bin", "neither a zip archive")


def _archive_with_config(tmp_path, config):
    honest = tmp_path / "honest.keras"
    _model().save(str(honest))
    path = tmp_path / "edited.keras"
    with zipfile.ZipFile(honest) as source, zipfile.ZipFile(path, "w") as out:
        for name in source.namelist():
            data = source.read(name)
            if name == "config.json":
                data = json.dumps(config).encode()
            out.writestr(name, data)
    return path


@pytest.mark.parametrize(
    "config",
    [
        {"class_name": ["a"], "config": ["not", "an", "object"]},
        {"class_name": "Sequential", "config": {"name": {"x": 1}, "layers": [1, None]}},
        {"class_name": "S", "config": {"layers": [{"config": []}]}},
        {"class_name": "S", "config": {}, "compile_config": {"optimizer": [1]}},
        {"class_name": "S", "config": {}, "compile_config": ["x"]},
    ],
    ids=["config-list", "odd-layers", "layer-config-list", "optimizer-list", "cc"],
)
def test_any_config_shape_is_described_without_crashing(tmp_path, config):
    out = io.StringIO()
    describe(str(_archive_with_config(tmp_path, config)), out)
    assert "Keras 3 model archive" in out.getvalue()


def test_values_from_the_file_cannot_drive_the_terminal(tmp_path):
    config = {
        "class_name": "Seq\x1b[2J",
        "config": {"name": "n\x1b]0;pwned\x07", "layers": [{"name": "a\rb"}]},
    }
    out = io.StringIO()
    describe(str(_archive_with_config(tmp_path, config)), out)
    text = out.getvalue()
    assert "\x1b" not in text and "\x07" not in text and "\r" not in text
    assert "Seq\\x1b[2J" in text


def test_a_top_level_that_is_not_an_object_is_refused(tmp_path):
    _refused(_archive_with_config(tmp_path, [1, 2]), "must be a JSON object")


@pytest.mark.parametrize("where", ["model", "weights", "index", "member", "shard"])
def test_a_fifo_is_refused_in_one_line_without_blocking(tmp_path, sharded, where):
    if where == "member":
        path = tmp_path / "m_dir"
        _model().save(str(path), zipped=False)
        os.remove(path / "model.weights.h5")
        os.mkfifo(path / "model.weights.h5")
    elif where == "shard":
        path = sharded
        os.remove(sharded.parent / "s_00001.weights.h5")
        os.mkfifo(sharded.parent / "s_00001.weights.h5")
    else:
        name = {"model": "m.keras", "weights": "w.weights.h5", "index": "i.json"}
        path = tmp_path / name[where]
        os.mkfifo(path)
    result = _cli(path)
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr and "FIFO" in result.stderr


def test_honest_files_of_every_kind_are_described(tmp_path, sharded):
    model = _model()
    model.save(str(tmp_path / "m.keras"))
    model.save(str(tmp_path / "m_dir"), zipped=False)
    model.save_weights(str(tmp_path / "w.weights.h5"))
    for path, header in [
        (tmp_path / "m.keras", "Keras 3 model archive"),
        (tmp_path / "m_dir", "Keras 3 model directory"),
        (tmp_path / "w.weights.h5", "weights file"),
        (sharded, "sharded weights index (2 shards)"),
    ]:
        out = io.StringIO()
        describe(str(path), out)
        assert header in out.getvalue()
        assert "layers/dense/vars/0  (3, 2)" in out.getvalue()


def test_nothing_at_the_path_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        describe(str(tmp_path / "none.keras"), io.StringIO())


def test_a_model_without_config_is_refused_as_load_model_refuses_it(tmp_path):
    empty = tmp_path / "empty.keras"
    empty.mkdir()
    _refused(empty, "has no config.json")
    with pytest.raises(InvalidFileError):
        kiln.saving.load_model(str(empty))
