"""Crash safety: a save killed part-way (SIGKILL, in a real process) never
damages the file it was replacing, and the next save cleans up after it."""

import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import kiln
from kiln._src.saving.file_io import TEMP_PREFIX

# A child process that builds a ~64 MB model and saves it over `target`.
_CHILD = textwrap.dedent(
    """
    import sys
    import numpy as np
    import kiln

    target, kind = sys.argv[1], sys.argv[2]
    inputs = kiln.Input((1024,))
    x = inputs
    for _ in range(16):
        x = kiln.layers.Dense(1024, use_bias=False)(x)
    model = kiln.Model(inputs, x)
    for variable in model.weights:  # materialize before the save starts
        np.asarray(variable.value)
    if kind == "model":
        model.save(target)
    else:
        model.save_weights(target)
    """
)


def _temporaries(directory):
    return sorted(n for n in os.listdir(directory) if n.startswith(TEMP_PREFIX))


def _kill_mid_save(target, kind):
    """Starts the child and SIGKILLs it once its temporary file has grown
    past 1 MiB, i.e. while the save is writing. Returns the child's pid."""
    directory = os.path.dirname(os.path.abspath(target))
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, target, kind],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and child.poll() is None:
            sizes = []
            for name in _temporaries(directory):
                try:
                    sizes.append(os.path.getsize(os.path.join(directory, name)))
                except FileNotFoundError:
                    pass
            if any(size > 1024 * 1024 for size in sizes):
                child.send_signal(signal.SIGKILL)
                break
            time.sleep(0.001)
    finally:
        if child.poll() is None and time.monotonic() >= deadline:
            child.kill()
        _, stderr = child.communicate()
    assert child.returncode == -signal.SIGKILL, (
        "The child was not killed during its save (it finished or failed "
        f"first): rc={child.returncode}, stderr={stderr.decode()[-2000:]}"
    )
    return child.pid


def _small_model():
    return kiln.Sequential([kiln.Input((4,)), kiln.layers.Dense(3)])


@pytest.mark.slow
def test_killed_model_save_leaves_the_previous_file_loadable(tmp_path):
    target = str(tmp_path / "model.keras")
    x = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    good = _small_model()
    good.save(target)
    expected = np.asarray(good(x))
    before = pathlib.Path(target).read_bytes()

    pid = _kill_mid_save(target, "model")

    assert pathlib.Path(target).read_bytes() == before
    np.testing.assert_array_equal(
        np.asarray(kiln.models.load_model(target)(x)), expected
    )
    stale = _temporaries(tmp_path)
    assert stale and all(name.startswith(f"{TEMP_PREFIX}{pid}-") for name in stale)

    # The next successful save removes the dead process's temporary.
    replacement = _small_model()
    replacement.save(target)
    assert _temporaries(tmp_path) == []
    np.testing.assert_array_equal(
        np.asarray(kiln.models.load_model(target)(x)), np.asarray(replacement(x))
    )


@pytest.mark.slow
def test_killed_save_weights_leaves_the_previous_file_loadable(tmp_path):
    target = str(tmp_path / "model.weights.h5")
    good = _small_model()
    good.save_weights(target)
    expected = good.get_weights()

    pid = _kill_mid_save(target, "weights")

    fresh = _small_model()
    fresh.load_weights(target)
    for a, b in zip(fresh.get_weights(), expected):
        np.testing.assert_array_equal(a, b)
    stale = _temporaries(tmp_path)
    assert stale and all(name.startswith(f"{TEMP_PREFIX}{pid}-") for name in stale)

    fresh.save_weights(target)
    assert _temporaries(tmp_path) == []


def test_failed_save_touches_nothing(tmp_path):
    class Unsaveable(kiln.layers.Layer):
        def __init__(self, inner, **kwargs):
            super().__init__(**kwargs)
            self.inner = inner

        def call(self, x):
            return self.inner(x)

    target = tmp_path / "model.keras"
    good = _small_model()
    good.save(target)
    before = target.read_bytes()
    inputs = kiln.Input((4,))
    bad = kiln.Model(inputs, Unsaveable(kiln.layers.Dense(2))(inputs))
    with pytest.raises(NotImplementedError, match="get_config"):
        bad.save(target)
    assert target.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["model.keras"]


def test_unzipped_save_leaves_nothing_beside_it_and_cleans_stale_staging(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f"{TEMP_PREFIX}{dead.pid}-x.part"  # a killed staging dir
    stale.mkdir()
    (stale / "model.weights.h5").write_bytes(b"half")
    model = _small_model()
    model.save(tmp_path / "saved", zipped=False)
    model.save(tmp_path / "saved", zipped=False)  # replacing an existing one
    assert sorted(os.listdir(tmp_path)) == ["saved"]
    x = np.ones((2, 4), "float32")
    np.testing.assert_array_equal(
        np.asarray(kiln.models.load_model(tmp_path / "saved")(x)), np.asarray(model(x))
    )
