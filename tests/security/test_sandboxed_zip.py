"""Zip parsing tricks, ZIP64 archives and DEFLATE time and memory bombs (issue
10, classes 2, 4 and 7), run through every entry point that reads a `.keras`
file in the sandbox (a fresh child under a 3 GiB address-space limit and a
wall-clock limit, watched by an audit hook and by inotify from outside, see
`sandbox.py`).

Each attack has a benign twin that must load. A hostile run must be refused
cleanly (`InvalidFileError`, or exit code 1 with no traceback) with no breach
(no file opened outside its own, nothing written, deleted or modified, no
global state changed). The DEFLATE file read backwards is benign: it must
load, in about the time of its forward twin.
"""

from __future__ import annotations

import io
import struct
import zipfile

import numpy as np
import pytest
from sandbox import Job, Sandbox
from security_zip_forge import (
    Forged,
    backward_deflated,
    build_archive,
    decoy_archive,
    forge,
    honest_forged,
    honest_list,
    python_zip64,
    read_members,
    with_stream,
)

import kiln
from kiln._src.saving.zip_archive import ZipWriter

pytestmark = pytest.mark.slow  # one sandbox child for every case

_MODEL = ("model", "open_weights", "inspect", "verify", "verify_build")
# Benign files that must load (and in bounded time), not be refused.
_MUST_LOAD = {"deflate-read-backwards"}


def _kiln_zip64(members: dict[str, bytes]) -> bytes:
    """kiln's own writer with every field in ZIP64 form (as past 4 GiB)."""
    buffer = io.BytesIO()
    writer = ZipWriter(buffer, zip64_threshold=0)
    for name in ("metadata.json", "config.json"):
        writer.add_bytes(name, members[name])
    window = writer.open_stream("model.weights.h5")
    window.write(members["model.weights.h5"])
    writer.close_stream()
    writer.close()
    return buffer.getvalue()


def _local_lie(members: dict[str, bytes], name: str, **overrides) -> bytes:
    forged = honest_forged(members)
    index = [m.name for m in forged].index(name)
    forged[index] = Forged(name, members[name], **overrides)
    return forge(forged)


def _hidden_in_extra(members: dict[str, bytes]) -> bytes:
    hidden = Forged("metadata.json", members["metadata.json"])
    record = hidden.local_record(0)
    wrapper = struct.pack("<HH", 0xCAFE, len(record)) + record
    config = Forged("config.json", members["config.json"], local_extra=wrapper)
    weights = Forged("model.weights.h5", members["model.weights.h5"])
    return forge([config, weights], ghosts=[(hidden, 30 + len("config.json") + 4)])


def _harmless_extra(members: dict[str, bytes]) -> bytes:
    extra = struct.pack("<HH", 0xCAFE, 16) + bytes(16)
    return _local_lie(members, "config.json", local_extra=extra)


def _overlap(members: dict[str, bytes]) -> bytes:
    forged = honest_forged(members)
    forged[1] = Forged("config.json", members["metadata.json"], central_offset=0)
    return forge(forged)


def _with_comment(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.comment = b"built by a packaging tool"
        for name, data in honest_list(members):
            archive.writestr(name, data)
    return buffer.getvalue()


def _zeros_bomb(members: dict[str, bytes]) -> bytes:
    """A DEFLATED weights member declaring 2 GiB of zeros from 2 MB."""
    import zlib

    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = compressor.compress(bytes(2**20)) + compressor.flush(zlib.Z_SYNC_FLUSH)
    copies = 2048
    crc = 0
    for _ in range(copies):
        crc = zlib.crc32(bytes(2**20), crc)
    stream = chunk * copies + b"\x03\x00"
    return with_stream(members, "model.weights.h5", stream, copies * 2**20, crc)


def _longer_stream(members: dict[str, bytes]) -> bytes:
    """The weights member's DEFLATE stream inflates past its declared size."""
    import zlib

    weights = members["model.weights.h5"]
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    stream = compressor.compress(weights + bytes(100_000)) + compressor.flush()
    size, crc = len(weights), zlib.crc32(weights)
    return with_stream(members, "model.weights.h5", stream, size, crc)


class Files:
    """Writes every hostile file and twin under `root/inputs`."""

    def __init__(self, root):
        self.inputs = root / "inputs"
        self.inputs.mkdir()
        self.honest_keras = str(self.inputs / "honest.keras")
        model = kiln.Sequential([kiln.Input((3,)), kiln.layers.Dense(2, name="dense")])
        model.save(self.honest_keras)
        self.members = read_members(self.honest_keras)

    def write(self, name: str, data: bytes) -> str:
        path = str(self.inputs / name)
        with open(path, "wb") as file:
            file.write(data)
        return path

    def backward_pair(self) -> tuple[str, str]:
        units = 128
        model = kiln.Sequential(
            [kiln.Input((units,))] + [kiln.layers.Dense(units) for _ in range(200)]
        )
        generator = np.random.default_rng(0)
        for layer in model.layers:
            kernel = generator.standard_normal(layer.kernel.shape).round(1)
            layer.kernel.assign(kernel.astype("float32"))
        stored = str(self.inputs / "forward-stored.keras")
        model.save(stored)
        forward = self.write(
            "forward-deflated.keras",
            build_archive(honest_list(read_members(stored)), zipfile.ZIP_DEFLATED),
        )
        backward = str(self.inputs / "backward-deflated.keras")
        backward_deflated(stored, backward)
        return backward, forward


def _cases(files: Files) -> dict[str, tuple[str, str]]:
    """attack -> (hostile file, benign twin)."""
    m = files.members
    write = files.write
    honest = write("forged-honest.keras", forge(honest_forged(m)))
    comment = write("comment.keras", _with_comment(m))
    deflated = write("deflated.keras", forge(honest_forged(m, deflate=True)))
    python = python_zip64(honest_list(m), zipfile.ZIP_STORED)
    two_ends = forge(honest_forged(m), comment=forge(honest_forged(m))[-22:])
    comment_lie = forge(honest_forged(m), comment=b"tail", end={"comment_length": 0})
    outside = forge(honest_forged(m), end={"directory_offset": 10**9})
    local_name = _local_lie(m, "config.json", local_name=b"payload.pyc")
    local_method = _local_lie(m, "config.json", local_method=8)
    local_size = _local_lie(m, "model.weights.h5", local_file_size=7)
    return {
        "local-name": (write("local-name.keras", local_name), honest),
        "local-method": (write("local-method.keras", local_method), honest),
        "local-size": (write("local-size.keras", local_size), honest),
        "zip64-decoy-locator": (
            write("decoy.keras", decoy_archive(m, 400_000, True)),
            write("python-zip64.keras", python),
        ),
        "zip64-huge-directory": (
            write("huge-directory.keras", decoy_archive(m, 400_000, False)),
            write("kiln-zip64.keras", _kiln_zip64(m)),
        ),
        "hidden-in-local-extra": (
            write("hidden.keras", _hidden_in_extra(m)),
            write("harmless-extra.keras", _harmless_extra(m)),
        ),
        "overlapping-members": (write("overlap.keras", _overlap(m)), honest),
        "two-end-records": (write("two-ends.keras", two_ends), comment),
        "comment-length-lie": (write("comment-lie.keras", comment_lie), comment),
        "directory-outside-file": (write("outside.keras", outside), honest),
        "deflate-zeros-bomb": (write("zeros-bomb.keras", _zeros_bomb(m)), deflated),
        "deflate-longer-than-declared": (
            write("longer.keras", _longer_stream(m)),
            deflated,
        ),
        "deflate-read-backwards": files.backward_pair(),
    }


ATTACKS = (
    "local-name",
    "local-method",
    "local-size",
    "zip64-decoy-locator",
    "zip64-huge-directory",
    "hidden-in-local-extra",
    "overlapping-members",
    "two-end-records",
    "comment-length-lie",
    "directory-outside-file",
    "deflate-zeros-bomb",
    "deflate-longer-than-declared",
    "deflate-read-backwards",
)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """(attack, entry point) -> (hostile result, twin result), from one
    sandbox run: the twins first, then the hostile files."""
    root = tmp_path_factory.mktemp("sandboxed-zip")
    sandbox = Sandbox(str(root))
    cases = _cases(Files(root))
    pairs = {
        (attack, kind): (Job(hostile, kind=kind), Job(twin, kind=kind))
        for attack, (hostile, twin) in cases.items()
        for kind in _MODEL
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


@pytest.mark.parametrize("attack", sorted(set(ATTACKS) - _MUST_LOAD))
def test_hostile_files_are_refused_cleanly(outcomes, attack):
    failures = [
        result.describe()
        for (name, _), (result, _) in outcomes.items()
        if name == attack and (not result.refused_cleanly or result.breaches())
    ]
    assert failures == [], "\n\n".join(failures)


def test_deflate_read_backwards_loads_in_linear_time(outcomes):
    # Through zipfile's reader this file took 16 s per entry point.
    for (name, kind), (result, twin) in outcomes.items():
        if name != "deflate-read-backwards":
            continue
        assert result.loaded and not result.breaches(), result.describe()
        assert twin.loaded, twin.describe()
        assert result.elapsed_s < 3 * twin.elapsed_s + 2.0, (
            kind,
            result.elapsed_s,
            twin.elapsed_s,
        )


def test_refusals_name_the_rule(outcomes):
    expected = {
        "local-name": "local header names it",
        "zip64-decoy-locator": "ZIP64 locator points at offset",
        "zip64-huge-directory": "over the limit of 10000",
        "hidden-in-local-extra": "overlap",
        "two-end-records": "two end-of-central-directory records",
        "deflate-zeros-bomb": "at most 32 times its stored bytes",
        "deflate-longer-than-declared": "more than its declared",
    }
    for attack, words in expected.items():
        result, _ = outcomes[(attack, "model")]
        assert words in result.message, result.describe()
