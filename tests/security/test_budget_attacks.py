"""Budget before build: a config that declares far more variable bytes than
its weights member holds fails before anything is allocated."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from security_zip_forge import archive_with

from kiln._src.saving.safety import budget


def _dense_config(members: dict[str, bytes], units: int, width: int) -> bytes:
    """The honest Dense model's archive with its config rewritten to
    Dense(units) on a `width`-wide input; the small weights member is kept."""
    config = json.loads(members["config.json"])
    layers = config["config"]["layers"]
    layers[0]["config"]["batch_shape"] = [None, width]
    dense = layers[1]
    dense["config"]["units"] = units
    dense["build_config"] = {"input_shape": [None, width]}
    return archive_with(members, config_json=json.dumps(config).encode())


@pytest.fixture(autouse=True, scope="module")
def _warm(honest_members, tmp_path_factory):
    """One benign load first, so the modules a load imports are imported
    before `expect_rejected` compares `sys.modules`."""
    import kiln

    path = tmp_path_factory.mktemp("warm") / "warm.keras"
    path.write_bytes(_dense_config(honest_members, 2, 3))
    kiln.saving.load_model(str(path))


def test_small_file_declaring_huge_dense_is_refused(
    honest_members, write_file, expect_rejected
):
    # 60000 x 60000 float32 = 14.4 GB declared by a file of a few KB.
    data = _dense_config(honest_members, 60_000, 60_000)
    assert len(data) < 20_000
    expect_rejected(
        write_file(data),
        r"'dense/kernel' \(60000, 60000\) = 14400000000 bytes.*nothing was allocated",
    )


def test_declaring_more_than_the_weights_member_holds_is_refused(
    honest_members, write_file, expect_rejected
):
    # 1000 x 1000 float32 = 4 MB, under the hard cap, but the member is tiny.
    data = _dense_config(honest_members, 1000, 1000)
    expect_rejected(write_file(data), "more than the weights file could hold")


def test_benign_twin_loads(honest_members, write_file, expect_loads):
    expect_loads(write_file(_dense_config(honest_members, 2, 3)))


_CHILD = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
import kiln
from kiln._src.saving.errors import InvalidFileError

def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

kiln.saving.load_model(sys.argv[1])  # the benign twin: every code path once
before = peak()
try:
    kiln.saving.load_model(sys.argv[2])
except InvalidFileError as error:
    print("refused:", str(error).replace("\\n", " "))
print(peak() - before)
"""


def test_refusal_allocates_nothing(honest_members, tmp_path):
    """In a child capped at 2 GiB of address space (JAX starts fine under
    it), loading the 14.4 GB-declaring file is refused and the peak memory
    does not grow."""
    benign = tmp_path / "benign.keras"
    benign.write_bytes(_dense_config(honest_members, 2, 3))
    bomb = tmp_path / "bomb.keras"
    bomb.write_bytes(_dense_config(honest_members, 60_000, 60_000))
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(benign), str(bomb)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.strip().splitlines()
    assert lines[-2].startswith("refused:") and "14400000000 bytes" in lines[-2]
    grown = int(lines[-1])
    assert grown < 32 << 20, f"peak memory grew by {grown} bytes"


@pytest.mark.parametrize("limit", [budget.MAX_TOTAL_VARIABLE_BYTES])
def test_hard_cap_is_documented_default(limit):
    assert limit == 8 * 1024**3
