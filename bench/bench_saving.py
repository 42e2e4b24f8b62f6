"""Saving and loading speed and memory: kiln vs real Keras 3 (JAX backend).

Run by hand from the repository root (never part of the test suite)::

    .venv/bin/python bench/bench_saving.py                  # all cases, ~4-5 min
    .venv/bin/python bench/bench_saving.py --cases vars1000 deep500 --repeats 5
    .venv/bin/python bench/bench_saving.py --big-units 1024 # a ~25 MB "big" model

For each case and repetition, one fresh worker per library saves the model
(`model.save` then `model.save_weights`) and another fresh worker loads it
(`load_model` then `load_weights` into the loaded model); which library goes
first alternates. A third worker times the raw-I/O reference: one `write` call
(and one `write` + `fsync`) of as many bytes as kiln's `.keras` file, then one
`read` call of them. Each worker also times one `write` (or `read`) of its
own file's bytes right after each operation: the "side by side" ratio uses
those, because page-cache and writeback conditions change from second to
second. Files go to ``--dir`` (default /tmp) and are deleted.

A measurement that takes longer than ``--slow-s`` is not repeated (Keras's
500-layer load takes ~30-50 s); the tables say how many runs each median has.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from typing import Any

import _harness as h

CASES = {
    "mlp400": "MLP, {big_layers} x Dense({big_units}) (~{big_mb:.0f} MB of weights)",
    "deep500": "Sequential of {deep_layers} x Dense({deep_units})",
    "vars1000": "one layer holding {vars} variables of shape ({var_size},)",
}


# -- models (built in the worker, with either library) ------------------------------


def many_vars_class(keras: Any) -> Any:
    """A layer with `count` small variables, registered for loading."""

    @keras.saving.register_keras_serializable(package="bench")
    class ManyVariables(keras.layers.Layer):
        def __init__(self, count: int = 1000, size: int = 16, **kwargs: Any):
            super().__init__(**kwargs)
            self.count = count
            self.size = size

        def build(self, input_shape: Any) -> None:
            for index in range(self.count):
                self.add_weight(
                    shape=(self.size,), initializer="ones", name=f"v{index}"
                )

        def call(self, inputs: Any) -> Any:
            return inputs

        def get_config(self) -> dict[str, Any]:
            return {**super().get_config(), "count": self.count, "size": self.size}

    return ManyVariables


def build_model(keras: Any, case: str, sizes: dict[str, int]) -> Any:
    layers = keras.layers
    if case == "mlp400":
        units = sizes["big_units"]
        return keras.Sequential(
            [keras.Input((units,))]
            + [layers.Dense(units) for _ in range(sizes["big_layers"])]
        )
    if case == "deep500":
        units = sizes["deep_units"]
        return keras.Sequential(
            [keras.Input((units,))]
            + [layers.Dense(units) for _ in range(sizes["deep_layers"])]
        )
    if case == "vars1000":
        many = many_vars_class(keras)
        return keras.Sequential(
            [
                keras.Input((sizes["var_size"],)),
                many(count=sizes["vars"], size=sizes["var_size"]),
            ]
        )
    raise ValueError(f"Unknown case {case!r}; expected one of {sorted(CASES)}")


# -- the worker ---------------------------------------------------------------


def _ready(model: Any) -> int:
    """Waits until every weight holds its value; returns the weights' bytes."""
    import jax
    import numpy as np

    values = [v.value for v in model.weights]
    jax.block_until_ready(values)
    return int(sum(np.dtype(v.dtype).itemsize * v.size for v in values))


def _measure(function: Any) -> tuple[Any, float, int]:
    """Runs `function`; returns (result, seconds, peak RSS growth in bytes)."""
    gc.collect()
    h.reset_peak_rss()
    before = h.proc_status_kb("VmRSS")
    start = time.perf_counter()
    result = function()
    seconds = time.perf_counter() - start
    peak = h.proc_status_kb("VmHWM")
    return result, seconds, (peak - before) * 1024


def _warm_up(keras: Any, directory: str) -> None:
    """Saves and loads a tiny model so lazy imports are not timed."""
    tiny = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    base = os.path.join(directory, f"bench_warmup_{os.getpid()}")
    try:
        tiny.save(base + ".keras")
        tiny.save_weights(base + ".weights.h5")
        keras.saving.load_model(base + ".keras").load_weights(base + ".weights.h5")
    finally:
        for suffix in (".keras", ".weights.h5"):
            if os.path.exists(base + suffix):
                os.remove(base + suffix)


def _raw_write(directory: str, size: int) -> float:
    """One `write` call of `size` bytes to a new file (then removed)."""
    path = os.path.join(directory, f"bench_side_{os.getpid()}.bin")
    data = bytes(bytearray(b"\x5a") * size)
    try:
        start = time.perf_counter()
        with open(path, "wb") as file:
            file.write(data)
        return time.perf_counter() - start
    finally:
        os.remove(path)


def _raw_read(path: str) -> float:
    """One `read` call of the whole file."""
    start = time.perf_counter()
    with open(path, "rb") as file:
        file.read()
    return time.perf_counter() - start


def save_worker(spec: dict[str, Any]) -> dict[str, Any]:
    keras = h.import_lib(spec["lib"])
    model = build_model(keras, spec["case"], spec["sizes"])
    weights_bytes = _ready(model)
    _warm_up(keras, spec["dir"])
    _, save_s, save_extra = _measure(lambda: model.save(spec["model_path"]))
    save_raw_s = _raw_write(spec["dir"], os.path.getsize(spec["model_path"]))
    _, weights_s, weights_extra = _measure(
        lambda: model.save_weights(spec["weights_path"])
    )
    weights_raw_s = _raw_write(spec["dir"], os.path.getsize(spec["weights_path"]))
    return {
        "save_raw_s": save_raw_s,
        "save_weights_raw_s": weights_raw_s,
        "weights_bytes": weights_bytes,
        "file_bytes": os.path.getsize(spec["model_path"]),
        "weights_file_bytes": os.path.getsize(spec["weights_path"]),
        "save_s": save_s,
        "save_extra": save_extra,
        "save_weights_s": weights_s,
        "save_weights_extra": weights_extra,
    }


def load_worker(spec: dict[str, Any]) -> dict[str, Any]:
    keras = h.import_lib(spec["lib"])
    if spec["case"] == "vars1000":
        many_vars_class(keras)  # registers the class under "bench>..."
    _warm_up(keras, spec["dir"])
    result: dict[str, Any] = {}
    if "load" in spec["ops"]:

        def load() -> Any:
            loaded = keras.saving.load_model(spec["model_path"])
            _ready(loaded)
            return loaded

        model, result["load_s"], result["load_extra"] = _measure(load)
        result["load_raw_s"] = _raw_read(spec["model_path"])
    else:
        model = build_model(keras, spec["case"], spec["sizes"])
        _ready(model)
    if "load_weights" in spec["ops"]:

        def load_weights() -> None:
            model.load_weights(spec["weights_path"])
            _ready(model)

        _, result["load_weights_s"], result["load_weights_extra"] = _measure(
            load_weights
        )
        result["load_weights_raw_s"] = _raw_read(spec["weights_path"])
    return result


def raw_io_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """One `write` call (with and without `fsync`) and one `read` call of
    `size` bytes: the disk-speed reference."""
    path = os.path.join(spec["dir"], f"bench_raw_{os.getpid()}.bin")
    data = bytes(bytearray(b"\x5a") * spec["size"])
    try:
        start = time.perf_counter()
        with open(path, "wb") as file:
            file.write(data)
        write_s = time.perf_counter() - start
        os.remove(path)
        start = time.perf_counter()
        with open(path, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        write_fsync_s = time.perf_counter() - start
        del data
        start = time.perf_counter()
        with open(path, "rb") as file:
            read_bytes = len(file.read())
        read_s = time.perf_counter() - start
    finally:
        if os.path.exists(path):
            os.remove(path)
    return {
        "write_s": write_s,
        "write_fsync_s": write_fsync_s,
        "read_s": read_s,
        "bytes": read_bytes,
    }


def worker(spec: dict[str, Any]) -> None:
    kind = spec["kind"]
    if kind == "save":
        h.emit(save_worker(spec))
    elif kind == "load":
        h.emit(load_worker(spec))
    else:
        h.emit(raw_io_worker(spec))


# -- the parent ---------------------------------------------------------------

KEYS = (
    "save_s",
    "save_extra",
    "save_weights_s",
    "save_weights_extra",
    "load_s",
    "load_extra",
    "load_weights_s",
    "load_weights_extra",
    # The same worker's one `write` (or `read`) of the file's bytes, timed
    # right after the operation: page-cache and writeback conditions on this
    # machine change from second to second, so the ratio to raw I/O is taken
    # between side-by-side measurements.
    "save_raw_s",
    "save_weights_raw_s",
    "load_raw_s",
    "load_weights_raw_s",
)


def _remove(*paths: str) -> None:
    for path in paths:
        if os.path.exists(path):
            os.remove(path)


def run_case(case: str, args: argparse.Namespace, sizes: dict[str, int]) -> dict:
    samples: dict[str, dict[str, list[float]]] = {
        lib: {key: [] for key in KEYS} for lib in h.LIBS
    }
    info: dict[str, dict[str, int]] = {}
    raw: list[dict[str, float]] = []
    slow: dict[str, set[str]] = {lib: set() for lib in h.LIBS}
    for repetition in range(args.repeats):
        for lib in h.lib_order(repetition):
            base = os.path.join(args.dir, f"bench_{lib}_{case}_{os.getpid()}")
            paths = {
                "model_path": base + ".keras",
                "weights_path": base + ".weights.h5",
            }
            common = {"lib": lib, "case": case, "sizes": sizes, "dir": args.dir}
            try:
                saved = h.run_worker(__file__, {"kind": "save", **common, **paths})
                info[lib] = {
                    k: saved[k]
                    for k in ("weights_bytes", "file_bytes", "weights_file_bytes")
                }
                ops = [op for op in ("load", "load_weights") if op not in slow[lib]]
                loaded = h.run_worker(
                    __file__, {"kind": "load", "ops": ops, **common, **paths}
                )
            finally:
                _remove(*paths.values())
            for result in (saved, loaded):
                for key, value in result.items():
                    if key in samples[lib]:
                        samples[lib][key].append(value)
            for op in ("load", "load_weights"):
                if loaded.get(f"{op}_s", 0) > args.slow_s:
                    slow[lib].add(op)
            print(
                f"  {case} rep {repetition + 1} {lib}: "
                + ", ".join(
                    f"{k}={v:.3f}"
                    for k, v in {**saved, **loaded}.items()
                    if k.endswith("_s") and k != "wall_s"
                ),
                flush=True,
            )
        size = info["kiln"]["file_bytes"]
        raw.append(
            h.run_worker(__file__, {"kind": "raw", "size": size, "dir": args.dir})
        )
    return {"samples": samples, "info": info, "raw": raw}


def _mb(value: float) -> str:
    return f"{value / 2**20:.1f}"


def report(case: str, description: str, data: dict[str, Any]) -> None:
    samples, info, raw = data["samples"], data["info"], data["raw"]
    med = {lib: {k: h.median(v) for k, v in samples[lib].items()} for lib in h.LIBS}
    count = {lib: {k: len(v) for k, v in samples[lib].items()} for lib in h.LIBS}
    write_s = h.median([r["write_s"] for r in raw])
    write_fsync_s = h.median([r["write_fsync_s"] for r in raw])
    read_s = h.median([r["read_s"] for r in raw])
    weights = info["kiln"]["weights_bytes"]
    print(f"### {case}: {description}")
    print(
        f"weights {_mb(weights)} MiB; .keras file kiln "
        f"{_mb(info['kiln']['file_bytes'])} MiB / keras "
        f"{_mb(info['keras']['file_bytes'])} MiB; raw I/O of "
        f"{_mb(raw[0]['bytes'])} MiB: write {write_s:.3f} s, write+fsync "
        f"{write_fsync_s:.3f} s, read {read_s:.3f} s\n"
    )
    rows = []
    for op, reference, label in (
        ("save", write_s, "write"),
        ("save_weights", write_s, "write"),
        ("load", read_s, "read"),
        ("load_weights", read_s, "read"),
    ):
        kiln_s, keras_s = med["kiln"][f"{op}_s"], med["keras"][f"{op}_s"]
        n = f"{count['kiln'][f'{op}_s']}/{count['keras'][f'{op}_s']}"
        paired = [
            kiln_one / raw_one
            for kiln_one, raw_one in zip(
                samples["kiln"][f"{op}_s"], samples["kiln"][f"{op}_raw_s"]
            )
            if raw_one > 0
        ]
        side_by_side = f"{h.median(paired):.2f}x" if paired else ""
        rows.append(
            [
                op,
                f"{kiln_s:.3f}",
                f"{keras_s:.3f}",
                h.ratio(keras_s, kiln_s),
                h.ratio(kiln_s, reference) + f" {label}",
                side_by_side,
                h.ratio(kiln_s, write_fsync_s) if op.startswith("save") else "",
                _mb(med["kiln"][f"{op}_extra"]),
                _mb(med["keras"][f"{op}_extra"]),
                h.ratio(med["kiln"][f"{op}_extra"], weights),
                n,
            ]
        )
    h.print_table(
        [
            "op",
            "kiln s",
            "keras s",
            "keras/kiln (speed-up)",
            "kiln/raw I/O",
            "kiln/raw, side by side",
            "kiln/(write+fsync)",
            "kiln extra MiB",
            "keras extra MiB",
            "kiln extra/weights",
            "runs kiln/keras",
        ],
        rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--slow-s",
        type=float,
        default=20.0,
        help="a load slower than this is not repeated for that library",
    )
    parser.add_argument("--big-layers", type=int, default=6)
    parser.add_argument("--big-units", type=int, default=4096)
    parser.add_argument("--deep-layers", type=int, default=500)
    parser.add_argument("--deep-units", type=int, default=16)
    parser.add_argument("--vars", type=int, default=1000)
    parser.add_argument("--var-size", type=int, default=16)
    parser.add_argument("--dir", default="/tmp")
    args = parser.parse_args()
    if args.worker:
        worker(json.loads(args.worker))
        return
    sizes = {
        "big_layers": args.big_layers,
        "big_units": args.big_units,
        "deep_layers": args.deep_layers,
        "deep_units": args.deep_units,
        "vars": args.vars,
        "var_size": args.var_size,
    }
    big_mb = args.big_layers * (args.big_units + 1) * args.big_units * 4 / 1e6
    print(f"machine: {h.machine_info()}\n")
    start = time.perf_counter()
    results = {}
    for case in args.cases:
        results[case] = run_case(case, args, sizes)
    print(
        f"\n(total {time.perf_counter() - start:.0f} s; load average at the end "
        f"{h.load_average()})\n"
    )
    for case in args.cases:
        description = CASES[case].format(big_mb=big_mb, **sizes)
        report(case, description, results[case])


if __name__ == "__main__":
    sys.exit(main())
