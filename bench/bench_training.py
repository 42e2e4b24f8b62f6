"""Training, predict and import speed: kiln vs real Keras 3 (JAX backend).

Run by hand from the repository root (never part of the test suite)::

    .venv/bin/python bench/bench_training.py                # everything, ~4 min
    .venv/bin/python bench/bench_training.py --models mlp --repeats 3
    .venv/bin/python bench/bench_training.py --profile kiln # cProfile one worker

Each repetition starts one fresh worker process per library (alternating which
goes first); a worker builds the model, compiles it, warms `fit` and `predict`
up, then times them. Reported numbers are medians over the repetitions.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from typing import Any

import _harness as h

# -- the models: one named entry per model -----------------------------------------


@dataclass(frozen=True)
class ModelSpec:
    description: str
    input_shape: tuple[int, ...]
    classes: int
    # Layer classes both libraries must have; the entry is skipped otherwise.
    needs: tuple[str, ...]
    # Defaults for --steps (batches per timed fit) and --fits (timed fits per
    # worker): slow models take fewer so the whole run stays short.
    steps: int = 50
    fits: int = 3


def build_mlp(keras: Any, spec: ModelSpec) -> Any:
    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input(spec.input_shape),
            layers.Dense(128, activation="relu"),
            layers.Dense(64, activation="relu"),
            layers.Dense(spec.classes, activation="softmax"),
        ]
    )


def build_cnn(keras: Any, spec: ModelSpec) -> Any:
    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input(spec.input_shape),
            layers.Conv2D(16, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(spec.classes, activation="softmax"),
        ]
    )


def build_small_cnn(keras: Any, spec: ModelSpec) -> Any:
    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input(spec.input_shape),
            layers.Conv2D(16, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(32, 3, activation="relu"),
            layers.GlobalAveragePooling2D(),
            layers.Dense(spec.classes, activation="softmax"),
        ]
    )


MODELS: dict[str, tuple[ModelSpec, Any]] = {
    "mlp": (
        ModelSpec("MLP 784-128-64-10", (784,), 10, ("Dense",)),
        build_mlp,
    ),
    "cnn": (
        ModelSpec(
            "CNN 28x28x1, conv16-pool-conv32-pool-dense10",
            (28, 28, 1),
            10,
            ("Conv2D", "MaxPooling2D", "Flatten", "Dense"),
            steps=20,
            fits=2,
        ),
        build_cnn,
    ),
    "small_cnn": (
        ModelSpec(
            "small CNN 28x28x1, conv16-maxpool-conv32-globalavgpool-dense10",
            (28, 28, 1),
            10,
            ("Conv2D", "MaxPooling2D", "GlobalAveragePooling2D", "Dense"),
            steps=20,
            fits=2,
        ),
        build_small_cnn,
    ),
}


# -- workers ------------------------------------------------------------------


def _timed_median(function: Any, calls: int) -> float:
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return h.median(times)


def train_worker(
    spec: dict[str, Any], profilers: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Times `fit`, `predict(x1)` and `model(x1)`. With `profilers`
    (``{"fit": cProfile.Profile, "predict": ..., "call": ...}``) each one is
    switched on around its timed section only."""
    import contextlib

    import numpy as np

    def section(name: str) -> Any:
        profiler = (profilers or {}).get(name)
        return profiler if profiler is not None else contextlib.nullcontext()

    keras = h.import_lib(spec["lib"])
    model_spec, build = MODELS[spec["model"]]
    missing = [n for n in model_spec.needs if not hasattr(keras.layers, n)]
    if missing:
        return {"skipped": f"{spec['lib']} has no {', '.join(missing)}"}
    batch, steps = spec["batch_size"], spec["steps"]
    rng = np.random.default_rng(0)
    x = rng.random((batch * steps, *model_spec.input_shape), dtype=np.float32)
    y = rng.integers(0, model_spec.classes, size=(batch * steps,))
    model = build(keras, model_spec)
    model.compile(
        optimizer="adam",
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"] if spec["metrics"] else None,
    )

    def fit() -> None:
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0)

    # Warm-up: traces and compiles the train step (a few batches are enough).
    warm = batch * min(steps, 5)
    model.fit(x[:warm], y[:warm], batch_size=batch, epochs=1, verbose=0)
    fit_times = []
    with section("fit"):
        for _ in range(spec["fits"]):
            start = time.perf_counter()
            fit()
            fit_times.append(time.perf_counter() - start)
    x1 = x[:1]
    for _ in range(5):  # warm-up: traces the predict step / the eager call
        model.predict(x1, verbose=0)
        np.asarray(model(x1))
    with section("predict"):
        predict_s = _timed_median(lambda: model.predict(x1, verbose=0), spec["calls"])
    with section("call"):
        call_s = _timed_median(lambda: np.asarray(model(x1)), spec["calls"])
    return {
        "steps_per_s": steps / h.median(fit_times),
        "predict_ms": predict_s * 1e3,
        "call_ms": call_s * 1e3,
    }


def import_worker(spec: dict[str, Any]) -> dict[str, Any]:
    """`import_s`: the import statement alone (kiln imports lazily, so this is
    small); `ready_s`: import plus first use of what every script touches
    (`Sequential`, `Input`, `layers.Dense`, `ops.matmul`, `optimizers.Adam`)."""
    start = time.perf_counter()
    if spec["lib"] == "jax":
        import jax
        import jax.numpy as jnp

        imported = time.perf_counter()
        _ = jax.jit, jnp.matmul
    else:
        keras = h.import_lib(spec["lib"])
        imported = time.perf_counter()
        _ = (
            keras.Sequential,
            keras.Input,
            keras.layers.Dense,
            keras.ops.matmul,
            keras.optimizers.Adam,
        )
    ready = time.perf_counter()
    return {"import_s": imported - start, "ready_s": ready - start}


def worker(spec: dict[str, Any]) -> None:
    kind = spec["kind"]
    result = train_worker(spec) if kind == "train" else import_worker(spec)
    h.emit(result)


# -- the parent ---------------------------------------------------------------


def _train_spec(args: argparse.Namespace, lib: str, name: str) -> dict[str, Any]:
    model_spec, _ = MODELS[name]
    return {
        "kind": "train",
        "lib": lib,
        "model": name,
        "batch_size": args.batch_size,
        "steps": args.steps or model_spec.steps,
        "fits": args.fits or model_spec.fits,
        "calls": args.calls,
        "metrics": not args.no_metrics,
    }


def bench_training(args: argparse.Namespace) -> None:
    for name in args.models:
        model_spec, _ = MODELS[name]
        results: dict[str, list[dict[str, Any]]] = {lib: [] for lib in h.LIBS}
        skipped = None
        for repetition in range(args.repeats):
            for lib in h.lib_order(repetition):
                spec = _train_spec(args, lib, name)
                try:
                    result = h.run_worker(__file__, spec)
                except h.WorkerError as error:
                    if args.verbose:
                        print(error)
                    result = {"skipped": f"{lib} failed: {error.summary}"}
                if "skipped" in result:
                    skipped = result["skipped"]
                    break
                results[lib].append(result)
            if skipped:
                break
        title = (
            f"### {name}: {model_spec.description}, batch {args.batch_size}, "
            f"{args.steps or model_spec.steps} steps/fit"
        )
        print(title)
        if skipped:
            print(f"skipped: {skipped}\n")
            continue
        medians = {
            lib: {
                key: h.median([r[key] for r in results[lib]])
                for key in ("steps_per_s", "predict_ms", "call_ms")
            }
            for lib in h.LIBS
        }
        kiln, keras = medians["kiln"], medians["keras"]
        rows = [
            [
                "fit steps/s (higher is better)",
                f"{kiln['steps_per_s']:.0f}",
                f"{keras['steps_per_s']:.0f}",
                h.ratio(kiln["steps_per_s"], keras["steps_per_s"]),
                ">= 1.00x",
            ],
            [
                "predict(x1) ms (lower is better)",
                f"{kiln['predict_ms']:.3f}",
                f"{keras['predict_ms']:.3f}",
                h.ratio(kiln["predict_ms"], keras["predict_ms"]),
                "<= 0.50x",
            ],
            [
                "model(x1) ms (lower is better)",
                f"{kiln['call_ms']:.3f}",
                f"{keras['call_ms']:.3f}",
                h.ratio(kiln["call_ms"], keras["call_ms"]),
                "<= 0.50x",
            ],
        ]
        h.print_table(["measure", "kiln", "keras", "kiln/keras", "target"], rows)
        if args.verbose:
            print(json.dumps(results, indent=1))


def bench_import(args: argparse.Namespace) -> None:
    results: dict[str, list[dict[str, Any]]] = {"jax": [], "kiln": [], "keras": []}
    for repetition in range(args.import_repeats):
        for lib in ("jax", *h.lib_order(repetition)):
            results[lib].append(h.run_worker(__file__, {"kind": "import", "lib": lib}))
    print("### import (fresh process each time)")
    medians = {
        lib: {
            key: h.median([r[key] for r in runs])
            for key in ("import_s", "ready_s", "wall_s")
        }
        for lib, runs in results.items()
    }
    rows = [
        [
            lib,
            f"{medians[lib]['import_s']:.3f}",
            f"{medians[lib]['ready_s']:.3f}",
            f"{medians[lib]['wall_s']:.3f}",
            h.ratio(medians[lib]["ready_s"], medians["keras"]["ready_s"]),
        ]
        for lib in ("jax", "kiln", "keras")
    ]
    h.print_table(
        [
            "library",
            "import s",
            "import + first use s",
            "whole process s",
            "first use vs keras",
        ],
        rows,
    )


def profile(args: argparse.Namespace) -> None:
    """Runs one training worker in this process and prints, for each timed
    section (fit, predict, call), the functions that cost the most."""
    import cProfile
    import pstats

    spec = _train_spec(args, args.profile, args.models[0])
    profilers = {name: cProfile.Profile() for name in ("fit", "predict", "call")}
    print(train_worker(spec, profilers))
    for name, profiler in profilers.items():
        print(f"\n===== {args.profile}: {name} =====")
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(args.profile_lines)
        stats.sort_stats("cumulative").print_stats(args.profile_lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument(
        "--models", nargs="+", default=list(MODELS), choices=list(MODELS)
    )
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--import-repeats", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument(
        "--steps", type=int, help="steps per timed fit (default: per model, 50)"
    )
    parser.add_argument(
        "--fits", type=int, help="timed fits per worker (default: per model, 3)"
    )
    parser.add_argument(
        "--calls", type=int, default=200, help="timed predict/call calls per worker"
    )
    parser.add_argument(
        "--no-metrics", action="store_true", help="compile without metrics"
    )
    parser.add_argument("--skip-import", action="store_true")
    parser.add_argument(
        "--profile",
        choices=h.LIBS,
        help="profile one in-process worker of this library instead",
    )
    parser.add_argument("--profile-lines", type=int, default=30)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    if args.worker:
        worker(json.loads(args.worker))
        return
    if args.profile:
        profile(args)
        return
    print(f"machine: {h.machine_info()}\n")
    start = time.perf_counter()
    bench_training(args)
    if not args.skip_import:
        bench_import(args)
    print(
        f"(total {time.perf_counter() - start:.0f} s; load average at the end "
        f"{h.load_average()})"
    )


if __name__ == "__main__":
    sys.exit(main())
