"""`kiln inspect` on a large file, as a whole process: kiln vs real Keras 3.

Run by hand from the repository root (never part of the test suite)::

    .venv/bin/python bench/bench_inspect.py             # a ~1 GB .keras, ~1 min
    .venv/bin/python bench/bench_inspect.py --gb 0.25 --repeats 5

Writes one ``.keras`` file of about ``--gb`` GiB (an MLP of Dense(4096)
layers, saved by kiln) and its sharded ``.weights.json`` copy, then times, in
fresh processes, with the files in the page cache:

- ``kiln inspect FILE`` (the installed command: the whole process, imports
  included; the target is < 0.5 s for 1 GB);
- Keras's nearest equivalent, ``keras.saving.KerasFileEditor(FILE).summary()``
  in ``python -c`` (it also lists every weight without building the model).

Prints the median wall time of each and the ratio.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KILN = os.path.join(os.path.dirname(sys.executable), "kiln")
_KERAS_SUMMARY = (
    "import sys, keras; keras.saving.KerasFileEditor(sys.argv[1]).summary()"
)


def _make_files(directory: str, gib: float) -> tuple[str, str]:
    sys.path.insert(0, ROOT)
    import kiln

    layers = max(1, round(gib * 2**30 / (4096 * 4096 * 4)))
    model = kiln.Sequential(
        [kiln.Input((4096,))] + [kiln.layers.Dense(4096) for _ in range(layers)]
    )
    path = os.path.join(directory, "big.keras")
    model.save(path)
    sharded = os.path.join(directory, "big.weights.json")
    model.save_weights(sharded, max_shard_size=0.25)
    return path, sharded


def _time(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{command[:2]} failed: {result.stderr[-1500:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dir", default=tempfile.gettempdir())
    args = parser.parse_args()
    load = os.getloadavg()
    print(
        f"machine: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} | "
        f"{os.cpu_count()} cores | Python {platform.python_version()} | load "
        f"average {load[0]:.2f}\n"
    )
    directory = tempfile.mkdtemp(prefix="bench-inspect-", dir=args.dir)
    env = dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="3")
    try:
        path, sharded = _make_files(directory, args.gb)
        size = os.path.getsize(path)
        for name in (path, sharded):  # into the page cache, untimed
            _time([KILN, "inspect", name], env)
        _time([sys.executable, "-c", _KERAS_SUMMARY, path], env)
        rows = []
        for label, command in [
            ("kiln inspect .keras", [KILN, "inspect", path]),
            ("kiln inspect .weights.json", [KILN, "inspect", sharded]),
            (
                "keras KerasFileEditor .keras",
                [sys.executable, "-c", _KERAS_SUMMARY, path],
            ),
        ]:
            times = [_time(command, env) for _ in range(args.repeats)]
            rows.append((label, statistics.median(times)))
        keras_s = rows[-1][1]
        print(f"file: {size / 2**30:.2f} GiB .keras (and its sharded copy)\n")
        print("| command (whole process) | median s | keras/kiln |")
        print("| --- | --- | --- |")
        for label, seconds in rows:
            ratio = "" if label.startswith("keras") else f"{keras_s / seconds:.1f}x"
            print(f"| {label} | {seconds:.3f} | {ratio} |")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
