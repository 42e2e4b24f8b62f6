"""Crash safety at random moments: a real saving process is SIGKILLed after
a seeded random delay drawn over the measured length of its save. After each
kill the file it was replacing is either untouched (byte for byte) or, when
the kill came after the final rename, the complete new file; and a later
successful save leaves no temporaries behind.

(`test_atomic_writes.py` kills at one chosen point, mid-write; this file
spreads the kills over the whole save.)
"""

import os
import pathlib
import random
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from test_atomic_writes import _temporaries

import kiln

ITERATIONS = 5  # each is a fresh process importing JAX (~3 s)

# Builds a 16-layer 1024x1024 model (64 MB of float32) whose every weight is
# `fill`, prints SAVING right before the save and DONE (with the save's
# duration) after it.
_CHILD = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    import kiln

    target, kind, fill = sys.argv[1], sys.argv[2], float(sys.argv[3])
    inputs = kiln.Input((1024,))
    x = inputs
    for _ in range(16):
        x = kiln.layers.Dense(1024, use_bias=False)(x)
    model = kiln.Model(inputs, x)
    for variable in model.weights:
        variable.assign(np.full(variable.shape, fill, "float32"))
        np.asarray(variable.value)
    print("SAVING", flush=True)
    started = time.perf_counter()
    if kind == "model":
        model.save(target)
    else:
        model.save_weights(target)
    print("DONE", time.perf_counter() - started, flush=True)
    """
)


def _start(target, kind, fill):
    return subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(target), kind, str(fill)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _complete_save(target, kind, fill):
    """Runs a child to the end; returns the duration of its save."""
    child = _start(target, kind, fill)
    out, err = child.communicate(timeout=300)
    assert child.returncode == 0, err[-2000:]
    return float(out.split("DONE")[1])


def _kill_during_save(target, kind, fill, delay):
    """Starts a child, waits for it to begin saving, sleeps `delay`, SIGKILLs
    it. Returns True when the kill came before the save returned."""
    child = _start(target, kind, fill)
    try:
        line = child.stdout.readline()
        assert line.strip() == "SAVING", child.stderr.read()[-2000:]
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        out, _ = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    return "DONE" not in out


def _constant_weights(weights):
    return {float(np.unique(np.asarray(w))[0]) for w in weights}


def _load(target, kind):
    if kind == "model":
        return kiln.models.load_model(target)
    inputs = kiln.Input((1024,))
    x = inputs
    for _ in range(16):
        x = kiln.layers.Dense(1024, use_bias=False)(x)
    model = kiln.Model(inputs, x)
    model.load_weights(target)
    return model


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["model", "weights"])
def test_random_kills_never_damage_the_previous_file(tmp_path, kind):
    target = tmp_path / ("m.keras" if kind == "model" else "m.weights.h5")
    duration = _complete_save(target, kind, fill=0.25)
    before = target.read_bytes()
    expected = 0.25
    rng = random.Random(f"kill-{kind}")
    mid_save = 0
    for _ in range(ITERATIONS):
        delay = rng.uniform(0.0, duration)
        mid_save += _kill_during_save(target, kind, 0.5, delay)
        after = target.read_bytes()
        if after != before:
            # Only a kill after the final rename may change the file, and
            # then it must be the whole new file.
            expected = 0.5
            assert _constant_weights(_load(target, kind).weights) == {0.5}
            before = after
    print(
        f"{kind}: save takes {duration:.2f} s; {mid_save}/{ITERATIONS} kills mid-save"
    )
    assert _constant_weights(_load(target, kind).weights) == {expected}

    # A later successful save removes every dead process's temporary.
    _complete_save(target, kind, fill=0.75)
    assert _temporaries(tmp_path) == []
    assert _constant_weights(_load(target, kind).weights) == {0.75}
    assert sorted(os.listdir(tmp_path)) == [pathlib.Path(target).name]
