"""Special files, links and memory bombs (issue 10, classes 3 and 5), run
through every entry point that reads their kind of file in the sandbox (a
fresh child under a 3 GiB address-space limit and a wall-clock limit, watched
by an audit hook and by inotify from outside, see `sandbox.py`).

Each attack has a benign twin that must load. A hostile run must leave no
breach (no file opened outside its own, nothing written, deleted or
modified, no global state changed); where an entry point must refuse it,
it refuses cleanly (`InvalidFileError`, or exit code 1 with no traceback).
A FIFO never blocks: a blocking open would show as a timeout.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil

import h5py
import numpy as np
import pytest
from sandbox import Job, Sandbox
from security_zip_forge import archive_with, edit_h5, read_members
from test_json_attacks import long_nested_keys

import kiln

pytestmark = pytest.mark.slow  # one sandbox child for every case

# Entry points per kind of file.
_MODEL = ("model", "open_weights", "inspect", "verify", "verify_build")
_WEIGHTS = ("weights", "open_weights", "weights_subset", "inspect", "verify")
_INDEX = ("weights", "inspect", "verify")
# Memory bombs in ignored fields: a run may load or refuse, never crash.
_MAY_LOAD = {
    "json-long-keys-config",
    "json-long-keys-model-json",
    "json-long-keys-index",
}


def _dense() -> kiln.Model:
    return kiln.Sequential([kiln.Input((3,)), kiln.layers.Dense(2, name="dense")])


class Files:
    """Writes every hostile file and twin under `root/inputs`."""

    def __init__(self, root):
        self.root = root
        self.inputs = root / "inputs"
        self.inputs.mkdir()
        self.scratch = root / "scratch"
        self.scratch.mkdir()
        self.honest_keras = str(self.inputs / "honest.keras")
        _dense().save(self.honest_keras)
        self.members = read_members(self.honest_keras)
        self.honest_weights = str(self.inputs / "honest.weights.h5")
        _dense().save_weights(self.honest_weights)
        self.honest_directory = str(self.inputs / "honest-dir")
        _dense().save(self.honest_directory, zipped=False)
        self.honest_index = self.sharded("honest-index")
        # A file outside every job's own files, that links try to reach.
        self.secret_h5 = str(root / "secret.h5")
        with h5py.File(self.secret_h5, "w") as h5:
            h5.create_dataset("layers/dense/vars/0", data=np.full((3, 2), 7, "f4"))
            h5.create_dataset("layers/dense/vars/1", data=np.zeros(2, "f4"))

    def path(self, name: str) -> str:
        return str(self.inputs / name)

    def sharded(self, name: str) -> str:
        """A sharded save of the Dense model in its own directory (two
        shards: the kernel in 00000, the bias in 00001)."""
        directory = self.inputs / name
        directory.mkdir()
        path = str(directory / "s.weights.json")
        _dense().save_weights(path, max_shard_size=30 / 1024**3)
        return path

    def fifo(self, name: str) -> str:
        path = self.path(name)
        os.mkfifo(path)
        return path


def _unallocated_kernel(h5: h5py.File) -> None:
    del h5["layers/dense/vars/0"]
    h5.create_dataset("layers/dense/vars/0", shape=(3, 2), dtype="f4")


def _cases(files: Files) -> dict[str, tuple[Job, Job, tuple[str, ...]]]:
    """attack -> (hostile job, twin job, entry points)."""
    weights_job = {"kind": "weights", "model": files.honest_keras}
    cases: dict[str, tuple[Job, Job, tuple[str, ...]]] = {}

    # -- FIFOs: every path a load opens --
    cases["fifo-model"] = (
        Job(files.fifo("fifo.keras")),
        Job(files.honest_keras),
        _MODEL,
    )
    cases["fifo-weights"] = (
        Job(files.fifo("fifo.weights.h5"), **weights_job),
        Job(files.honest_weights, **weights_job),
        _WEIGHTS,
    )
    cases["fifo-index"] = (
        Job(files.fifo("fifo.weights.json"), **weights_job),
        Job(files.honest_index, **weights_job),
        _INDEX,
    )
    index = files.sharded("fifo-shard")
    shard = os.path.join(os.path.dirname(index), "s_00001.weights.h5")
    os.remove(shard)
    os.mkfifo(shard)
    cases["fifo-shard"] = (
        Job(index, **weights_job),
        Job(files.honest_index, **weights_job),
        _INDEX,
    )
    directory = files.path("fifo-member")
    shutil.copytree(files.honest_directory, directory)
    os.remove(os.path.join(directory, "model.weights.h5"))
    os.mkfifo(os.path.join(directory, "model.weights.h5"))
    cases["fifo-directory-member"] = (
        Job(directory),
        Job(files.honest_directory),
        ("model", "open_weights", "inspect", "verify"),
    )

    # -- shards that stand for a file elsewhere --
    index = files.sharded("hard-linked-shard")
    shard = os.path.join(os.path.dirname(index), "s_00000.weights.h5")
    os.remove(shard)
    os.link(files.secret_h5, shard)
    cases["shard-hard-link-outside"] = (
        Job(index, **weights_job),
        Job(files.honest_index, **weights_job),
        _INDEX,
    )
    index = files.sharded("symlinked-shard")
    shard = os.path.join(os.path.dirname(index), "s_00000.weights.h5")
    os.remove(shard)
    os.symlink(files.secret_h5, shard)
    cases["shard-symlink-outside"] = (
        Job(index, **weights_job),
        Job(files.honest_index, **weights_job),
        _INDEX,
    )
    index = files.sharded("external-link-shard")
    shard = os.path.join(os.path.dirname(index), "s_00000.weights.h5")
    with h5py.File(shard, "a") as h5:
        del h5["layers/dense/vars"]
        h5["layers/dense/vars"] = h5py.ExternalLink(
            files.secret_h5, "/layers/dense/vars"
        )
    cases["shard-external-link"] = (
        Job(index, **weights_job),
        Job(files.honest_index, **weights_job),
        _INDEX,
    )

    # -- storage never written: nothing to allocate for --
    weights = edit_h5(
        files.members["model.weights.h5"], _unallocated_kernel, str(files.scratch)
    )
    path = files.path("unallocated.keras")
    with open(path, "wb") as f:
        f.write(archive_with(files.members, model_weights_h5=weights))
    cases["unallocated-keras"] = (Job(path), Job(files.honest_keras), _MODEL)
    with open(files.honest_weights, "rb") as f:
        honest = f.read()
    path = files.path("unallocated.weights.h5")
    with open(path, "wb") as f:
        f.write(edit_h5(honest, _unallocated_kernel, str(files.scratch)))
    cases["unallocated-weights"] = (
        Job(path, **weights_job),
        Job(files.honest_weights, **weights_job),
        _WEIGHTS,
    )

    # -- memory bombs in JSON: long nested keys --
    config = files.members["config.json"].decode()
    bomb = config[:-1] + f', "extra": {long_nested_keys()}}}'
    twin = config[:-1] + f', "extra": {long_nested_keys(key_chars=1, leaves=50)}}}'
    for label, text in [("bomb", bomb), ("twin", twin)]:
        with open(files.path(f"long-keys-{label}.keras"), "wb") as f:
            f.write(archive_with(files.members, config_json=text.encode()))
    cases["json-long-keys-config"] = (
        Job(files.path("long-keys-bomb.keras")),
        Job(files.path("long-keys-twin.keras")),
        _MODEL,
    )
    for label, text in [("bomb", bomb), ("twin", twin)]:
        with open(files.path(f"long-keys-{label}.json"), "w") as f:
            f.write(text)
    cases["json-long-keys-model-json"] = (
        Job(files.path("long-keys-bomb.json")),
        Job(files.path("long-keys-twin.json")),
        ("model_from_json",),
    )
    paths = {}
    for label, value in [
        ("bomb", long_nested_keys()),
        ("twin", long_nested_keys(key_chars=1, leaves=50)),
    ]:
        paths[label] = files.sharded(f"long-keys-index-{label}")
        with open(paths[label]) as f:
            text = json.dumps(json.load(f))
        with open(paths[label], "w") as f:
            f.write(text[:-1] + f', "extra": {value}}}')
    cases["json-long-keys-index"] = (
        Job(paths["bomb"], **weights_job),
        Job(paths["twin"], **weights_job),
        _INDEX,
    )
    return cases


ATTACKS = [
    "fifo-model",
    "fifo-weights",
    "fifo-index",
    "fifo-shard",
    "fifo-directory-member",
    "shard-hard-link-outside",
    "shard-symlink-outside",
    "shard-external-link",
    "unallocated-keras",
    "unallocated-weights",
    "json-long-keys-config",
    "json-long-keys-model-json",
    "json-long-keys-index",
]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """(attack, entry point) -> (hostile result, twin result), from one
    sandbox run: the twins first, then the hostile files."""
    root = tmp_path_factory.mktemp("sandboxed-files")
    sandbox = Sandbox(str(root))
    cases = _cases(Files(root))
    pairs = {
        (attack, kind): (
            dataclasses.replace(job, kind=kind),
            dataclasses.replace(twin, kind=kind),
        )
        for attack, (job, twin, kinds) in cases.items()
        for kind in kinds
    }
    return sandbox.run_with_twins(pairs, timeout_s=120)


def test_every_attack_is_run(outcomes):
    assert sorted({attack for attack, _ in outcomes}) == sorted(ATTACKS)


def test_benign_twins_load(outcomes):
    failures = [
        twin.describe()
        for _, twin in outcomes.values()
        if not twin.loaded or twin.breaches()
    ]
    assert failures == [], "\n\n".join(failures)


@pytest.mark.parametrize("attack", ATTACKS)
def test_hostile_files_are_refused_cleanly(outcomes, attack):
    failures = []
    for (name, _kind), (result, _) in outcomes.items():
        if name != attack:
            continue
        refused = result.refused_cleanly
        if attack in _MAY_LOAD:
            refused = refused or result.loaded
        if not refused or result.breaches():
            failures.append(result.describe())
    assert failures == [], "\n\n".join(failures)


def test_nothing_follows_a_link_to_the_secret(outcomes):
    # libhdf5 opens files from C: only inotify, from outside, would see it
    # open the secret, and the secret's values must never be loaded.
    for (attack, _), (result, _) in outcomes.items():
        if attack.startswith("shard-"):
            assert not any("secret.h5" in e for e in result.file_events_outside), (
                result.describe()
            )
