"""Shared plumbing for the benchmark scripts (not a benchmark itself).

Every measurement runs in a fresh subprocess (``<script> --worker JSON``) so
each library is imported cleanly and memory high-water marks start from
scratch. The worker prints one ``BENCH_RESULT {json}`` line; the parent
collects those, alternates libraries and takes medians.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULT_PREFIX = "BENCH_RESULT "
LIBS = ("kiln", "keras")


# -- inside a worker ----------------------------------------------------------
def import_lib(lib: str) -> Any:
    """Imports `kiln` or real Keras (JAX backend) and returns the module."""
    if lib == "kiln":
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))
        import kiln

        return kiln
    if lib == "keras":
        os.environ["KERAS_BACKEND"] = "jax"
        import keras

        return keras
    raise ValueError(f"lib must be 'kiln' or 'keras'. Received: lib={lib!r}")


def proc_status_kb(field: str) -> int:
    """A ``/proc/self/status`` field in kB (e.g. ``VmRSS``, ``VmHWM``)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field} field")


def reset_peak_rss() -> None:
    """Resets ``VmHWM`` to the current RSS (Linux >= 4.0)."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def emit(result: dict[str, Any]) -> None:
    print(RESULT_PREFIX + json.dumps(result), flush=True)


class WorkerError(RuntimeError):
    """A worker process failed; `summary` is its last error line."""

    def __init__(self, message: str, summary: str):
        super().__init__(message)
        self.summary = summary


# -- in the parent ------------------------------------------------------------
def run_worker(script: str, spec: dict[str, Any], timeout: float = 900) -> dict:
    """Runs ``script --worker SPEC`` in a fresh interpreter; returns its result
    plus ``wall_s``, the whole process's wall time."""
    env = dict(os.environ)
    env["KERAS_BACKEND"] = "jax"
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    command = [sys.executable, script, "--worker", json.dumps(spec)]
    start = time.perf_counter()
    process = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=timeout
    )
    wall = time.perf_counter() - start
    for line in reversed(process.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            result = json.loads(line[len(RESULT_PREFIX) :])
            result["wall_s"] = wall
            return result
    lines = [line for line in process.stderr.splitlines() if line.strip()]
    summary = lines[-1] if lines else f"exit status {process.returncode}"
    for line in reversed(lines):
        if "Error" in line.split(":", 1)[0]:
            summary = line
            break
    raise WorkerError(
        f"worker {spec} failed (exit {process.returncode}):\n"
        f"{process.stdout[-2000:]}\n{process.stderr[-4000:]}",
        summary,
    )


def median(values: list[float]) -> float:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else float("nan")


def lib_order(repetition: int) -> tuple[str, str]:
    """kiln first on even repetitions, Keras first on odd ones."""
    return LIBS if repetition % 2 == 0 else LIBS[::-1]


def machine_info() -> str:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    versions = []
    for name in ("jax", "keras", "numpy", "h5py"):
        try:
            from importlib.metadata import version

            versions.append(f"{name} {version(name)}")
        except Exception:
            versions.append(f"{name} ?")
    load = load_average()
    return (
        f"{time.strftime('%Y-%m-%d %H:%M %Z')} | {os.cpu_count()} cores ({cpu}) | "
        f"{memory_gib:.0f} GiB RAM | Python {platform.python_version()} | "
        + ", ".join(versions)
        + f" | load average {load}"
    )


def load_average() -> str:
    """The 1/5/15-minute load averages: other work on the machine skews
    timings, so each script prints them at its start and end."""
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())


def print_table(header: list[str], rows: list[list[str]]) -> None:
    """A Markdown table (pastes straight into RESULTS.md)."""
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows)]

    def line(cells: list[str]) -> str:
        padded = (str(c).ljust(w) for c, w in zip(cells, widths))
        return "| " + " | ".join(padded) + " |"

    print(line(header))
    print("| " + " | ".join("-" * w for w in widths) + " |")
    for row in rows:
        print(line(row))
    print()


def ratio(numerator: float, denominator: float) -> str:
    if not denominator or denominator != denominator or numerator != numerator:
        return "n/a"
    return f"{numerator / denominator:.2f}x"
