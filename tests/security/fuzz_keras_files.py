"""A structure-aware fuzzer for `kiln.saving.load_model` on `.keras` files.

Seeds are small models saved by kiln (Sequential; Functional with a shared
layer and a nested model; compiled and trained, with optimizer state). Each
input is one seed with one to three mutations at the zip, JSON or HDF5 level
(the JSON and HDF5 ones are re-wrapped in a valid zip with the right CRCs, so
they reach the parsers behind the container checks).

Oracle: a load either succeeds or raises `InvalidFileError` (or a subclass).
Anything else (another exception, a hang past the per-input timeout, a
crash of the loading process) is a finding; loads run in child processes
(`sandbox.py`), so a crash in libhdf5 cannot take the fuzzer down. Each
finding's input is saved under the findings directory, next to a JSON
description (mutations, exception, message, traceback).

Usage:
    python tests/security/fuzz_keras_files.py --seconds 600 --seed 0 \\
        --out /tmp/fuzz-findings
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import os
import random
import shutil
import struct
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sandbox import Job, LoadResult, Sandbox  # noqa: E402
from security_zip_forge import build_archive  # noqa: E402

Members = list[tuple[str, bytes]]


# -- seeds --


def make_seeds(directory: str) -> dict[str, bytes]:
    """Saves the seed models with kiln; returns name -> archive bytes."""
    import numpy as np

    import kiln

    models = {}
    models["sequential"] = kiln.Sequential(
        [kiln.Input((4,)), kiln.layers.Dense(3), kiln.layers.Dense(2)]
    )
    a, b = kiln.Input((4,), name="a"), kiln.Input((4,), name="b")
    shared = kiln.layers.Dense(4, name="shared")
    inner = kiln.Sequential([kiln.Input((4,)), kiln.layers.Dense(4)], name="inner")
    merged = kiln.layers.Add()([shared(a), shared(b)])
    outputs = kiln.layers.Dense(2, name="head")(inner(merged))
    models["functional"] = kiln.Model([a, b], outputs)
    trained = kiln.Sequential([kiln.Input((4,)), kiln.layers.Dense(2)])
    trained.compile(optimizer="adam", loss="mse", metrics=["mae"])
    x = np.random.default_rng(0).normal(size=(8, 4)).astype("float32")
    trained.fit(x, x[:, :2], epochs=1, batch_size=4, verbose=0)
    models["trained"] = trained
    seeds = {}
    for name, model in models.items():
        path = os.path.join(directory, f"{name}.keras")
        model.save(path)
        with open(path, "rb") as f:
            seeds[name] = f.read()
    return seeds


def _members(archive: bytes) -> Members:
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        return [(info.filename, z.read(info)) for info in z.infolist()]


# -- JSON mutations --

_REPLACEMENTS: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    1,
    2**31,
    2**62,
    -(2**62),
    1e308,
    -0.5,
    "",
    "x",
    "float64",
    "../../etc/passwd",
    [],
    [None],
    [1, 2, 3],
    {},
    {"class_name": "Dense", "config": {}},
    {"class_name": "__numpy__", "config": {"value": [1], "dtype": "float32"}},
]
_CLASS_NAMES = [
    "Dense",
    "Functional",
    "Sequential",
    "InputLayer",
    "Add",
    "Adam",
    "GlorotUniform",
    "Zeros",
    "DTypePolicy",
    "__keras_tensor__",
    "__numpy__",
    "__lambda__",
    "function",
    "Nope",
    "",
]


def _nodes(value: Any, path: tuple = ()) -> list[tuple[tuple, Any]]:
    """Every (path, value) in a JSON document, the root included."""
    found = [(path, value)]
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(_nodes(item, path + (key,)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_nodes(item, path + (index,)))
    return found


def _set(document: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return document


_NEST = "<<kiln-fuzz-nest>>"


def mutate_json(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    """One structural change to a JSON document; returns (bytes, description)."""
    document = json.loads(data)
    nodes = _nodes(document)
    path, value = rng.choice(nodes)
    choice = rng.randrange(8)
    if choice == 0:
        new = rng.choice(_REPLACEMENTS)
        document = _set(document, path, json.loads(json.dumps(new)))
        what = f"replace {path} with {new!r}"
    elif choice == 1:
        containers = [(p, v) for p, v in nodes if isinstance(v, dict) and v]
        if not containers:
            return data, "no-op"
        path, value = rng.choice(containers)
        key = rng.choice(list(value))
        del value[key]
        what = f"delete key {key!r} at {path}"
    elif choice == 2:
        containers = [(p, v) for p, v in nodes if isinstance(v, dict)]
        path, value = rng.choice(containers)
        key = rng.choice(["extra", "name", "dtype", "shared_object_id", "module"])
        value[key] = rng.choice(_REPLACEMENTS)
        what = f"add key {key!r} at {path}"
    elif choice == 3:
        numbers = [
            (p, v)
            for p, v in nodes
            if isinstance(v, int | float) and not isinstance(v, bool)
        ]
        if not numbers:
            return data, "no-op"
        path, _ = rng.choice(numbers)
        new = rng.choice([10**18, -(10**18), 2**63 - 1, 60000, 10**6, -7, 0, 1e300])
        document = _set(document, path, new)
        what = f"number at {path} -> {new!r}"
    elif choice == 4:
        depth = rng.choice([50, 99, 101, 500, 5000])
        document = _set(document, path, _NEST)
        text = json.dumps(document).replace(
            json.dumps(_NEST), "[" * depth + "1" + "]" * depth, 1
        )
        return text.encode(), f"json: nest {depth} deep at {path}"
    elif choice == 5:
        named = [(p, v) for p, v in nodes if p and p[-1] == "class_name"]
        if not named:
            return data, "no-op"
        path, _ = rng.choice(named)
        new = rng.choice(_CLASS_NAMES)
        document = _set(document, path, new)
        what = f"class_name at {path} -> {new!r}"
    elif choice == 6:
        histories = [
            (p, v)
            for p, v in nodes
            if p and p[-1] == "keras_history" and isinstance(v, list) and len(v) == 3
        ]
        if not histories:
            return data, "no-op"
        path, history = rng.choice(histories)
        slot = rng.randrange(3)
        history[slot] = rng.choice([-1, 1, 2, 99, "missing", None, "a"])
        what = f"keras_history {path}[{slot}] -> {history[slot]!r}"
    else:
        strings = [(p, v) for p, v in nodes if isinstance(v, str)]
        if not strings:
            return data, "no-op"
        path, _ = rng.choice(strings)
        new = rng.choice(["", "a/b", "x" * 300, "\u00e9", "float16", "int8", "None"])
        document = _set(document, path, new)
        what = f"string at {path} -> {new!r}"
    return json.dumps(document).encode(), "json: " + what


# -- zip mutations (on the raw archive) --


def _signatures(data: bytes, signature: bytes) -> list[int]:
    found, start = [], 0
    while (index := data.find(signature, start)) >= 0:
        found.append(index)
        start = index + 1
    return found


def mutate_zip(rng: random.Random, archive: bytes) -> tuple[bytes, str]:
    members = _members(archive)
    choice = rng.randrange(8)
    if choice == 0:
        cut = rng.randrange(len(archive))
        return archive[:cut], f"zip: truncate at {cut}/{len(archive)}"
    if choice == 1:
        headers = _signatures(archive, b"PK\x01\x02") + _signatures(
            archive, b"PK\x03\x04"
        )
        headers += _signatures(archive, b"PK\x05\x06")
        at = rng.choice(headers) + rng.randrange(4, 46)
        at = min(at, len(archive) - 1)
        patched = bytearray(archive)
        patched[at] ^= 1 << rng.randrange(8)
        return bytes(patched), f"zip: flip a bit of header byte {at}"
    if choice == 2:
        name, data = rng.choice(members)
        return build_archive(members + [(name, data)]), f"zip: duplicate {name}"
    if choice == 3:
        index = rng.randrange(len(members))
        name = members[index][0]
        new = rng.choice(
            ["CONFIG.JSON", "config.json", "x", "assets/a", "model.weights.npz", "../a"]
        )
        members[index] = (new, members[index][1])
        return build_archive(members), f"zip: rename {name} -> {new}"
    if choice == 4:
        index = rng.randrange(len(members))
        name = members.pop(index)[0]
        return build_archive(members), f"zip: drop {name}"
    if choice == 5:
        return build_archive(members, zipfile.ZIP_DEFLATED), "zip: deflate all"
    if choice == 6:
        centrals = _signatures(archive, b"PK\x01\x02")
        at = rng.choice(centrals)
        offset = rng.choice([20, 24, 42])  # compressed, uncompressed, offset
        value = rng.choice([0, 1, 2**31, 2**32 - 1, rng.randrange(2**20)])
        patched = bytearray(archive)
        struct.pack_into("<I", patched, at + offset, value)
        return bytes(patched), f"zip: central field +{offset} of {at} = {value}"
    local = rng.choice(_signatures(archive, b"PK\x03\x04"))
    offset = rng.choice([8, 18, 22, 26])  # method, sizes, name length
    patched = bytearray(archive)
    struct.pack_into("<H", patched, local + offset, rng.randrange(2**16))
    return bytes(patched), f"zip: local field +{offset} of {local}"


# -- HDF5 mutations (weights member, re-zipped) --


def mutate_h5(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    patched = bytearray(data)
    count = rng.choice([1, 1, 2, 4, 16])
    # Headers and B-trees sit near the start; data at the end.
    limit = len(data) if rng.random() < 0.3 else min(len(data), 4096)
    spots = []
    for _ in range(count):
        at = rng.randrange(limit)
        if rng.random() < 0.5:
            patched[at] ^= 1 << rng.randrange(8)
        else:
            patched[at] = rng.choice([0x00, 0xFF, 0x7F, 0x80, rng.randrange(256)])
        spots.append(at)
    return bytes(patched), f"h5: overwrite bytes {sorted(spots)}"


def _rewrap(name: str, mutate: Callable[[random.Random, bytes], tuple]):
    """A mutator that changes member `name` and re-zips with valid CRCs."""

    def apply(rng: random.Random, archive: bytes) -> tuple[bytes, str]:
        current = _members(archive)
        for index, (member, data) in enumerate(current):
            if member == name:
                new, what = mutate(rng, data)
                current[index] = (member, new)
                return build_archive(current), f"{what} [{name}]"
        return archive, "no-op"

    return apply


_MUTATORS = [
    (3, _rewrap("config.json", mutate_json)),
    (1, _rewrap("metadata.json", mutate_json)),
    (2, _rewrap("model.weights.h5", mutate_h5)),
    (2, mutate_zip),
]


def mutate(rng: random.Random, seed: bytes) -> tuple[bytes, list[str]]:
    """One to three mutations of `seed`, in random order; the chain stops
    early when an earlier mutation left an archive the next cannot open."""
    data, steps = seed, []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        weights = [weight for weight, _ in _MUTATORS]
        _, mutator = rng.choices(_MUTATORS, weights)[0]
        try:
            data, what = mutator(rng, data)
        except Exception:  # noqa: BLE001 - zipfile/json on an earlier mutant
            break
        steps.append(what)
    return data, steps


# -- running --


@dataclasses.dataclass
class Report:
    tried: int
    findings: list[dict[str, Any]]


def _is_finding(result: LoadResult) -> bool:
    return not (result.loaded or result.invalid_file_error)


def fuzz(seconds: float, seed: int, out: str, timeout_s: float = 30.0) -> Report:
    """Mutates and loads inputs until `seconds` have passed; saves each
    finding (input and description) under `out`."""
    started = time.monotonic()
    rng = random.Random(seed)
    os.makedirs(out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="kiln-fuzz-")
    try:
        seeds = make_seeds(work)
        sandbox = Sandbox(os.path.join(work, "sandbox"))
        inputs = os.path.join(work, "inputs")
        os.makedirs(inputs)
        tried, findings = 0, []
        per_input = 0.25  # seconds; re-estimated after each batch
        while True:
            left = seconds - (time.monotonic() - started)
            # One batch is one child (about 3 s to import JAX) plus its loads.
            size = int(min(400, (left - 4) / per_input))
            if size < 5:
                break
            batch = []
            for index in range(size):
                name = rng.choice(sorted(seeds))
                data, steps = mutate(rng, seeds[name])
                path = os.path.join(inputs, f"{tried + index:06d}.keras")
                with open(path, "wb") as f:
                    f.write(data)
                batch.append((Job(path), name, steps))
            batch_started = time.monotonic()
            results = sandbox.load_all([job for job, _, _ in batch], timeout_s)
            elapsed = time.monotonic() - batch_started
            per_input = max(0.01, (elapsed - 3) / len(batch))
            for (job, name, steps), result in zip(batch, results, strict=True):
                if _is_finding(result):
                    findings.append(_save_finding(out, job.path, name, steps, result))
                os.remove(job.path)
            tried += len(batch)
        return Report(tried, findings)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _save_finding(
    out: str, path: str, seed_name: str, steps: list[str], result: LoadResult
) -> dict[str, Any]:
    kind = result.exception or result.status
    target = os.path.join(out, f"{kind}-{os.path.basename(path)}")
    shutil.copyfile(path, target)
    finding = {
        "file": target,
        "seed": seed_name,
        "mutations": steps,
        "status": result.status,
        "exception": result.exception,
        "message": result.message[:2000],
        "traceback": result.traceback[-3000:] or result.stderr[-3000:],
    }
    with open(target + ".json", "w") as f:
        json.dump(finding, f, indent=1)
    return finding


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="/tmp/fuzz-findings")
    args = parser.parse_args(argv)
    report = fuzz(args.seconds, args.seed, args.out)
    print(f"inputs tried: {report.tried}")
    print(f"findings: {len(report.findings)} (saved under {args.out})")
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for finding in report.findings:
        by_kind.setdefault(finding["exception"] or finding["status"], []).append(
            finding
        )
    for kind, group in sorted(by_kind.items(), key=lambda item: -len(item[1])):
        example = group[0]
        print(f"  {len(group):4d} x {kind}, e.g. {example['file']}")
        print(f"         mutations: {example['mutations']}"[:400])
        print(f"         message: {example['message'].splitlines()[0]}"[:400])
    return 1 if report.findings else 0


if __name__ == "__main__":
    sys.exit(main())
