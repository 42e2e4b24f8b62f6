"""The README's main job, `examples/guide_walkthrough.py`, runs to the end
as a user runs it (a fresh process) and leaves no temporary directory."""

import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.slow
def test_walkthrough_runs_and_cleans_up(tmp_path):
    env = dict(os.environ, TMPDIR=str(tmp_path), JAX_PLATFORMS="cpu")
    done = subprocess.run(
        [sys.executable, os.path.join(REPO, "examples", "guide_walkthrough.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "no problem found" in done.stdout  # its `kiln verify` step
    assert "predicts exactly what the original did" in done.stdout
    leftovers = [n for n in os.listdir(tmp_path) if n.startswith("kiln-walkthrough-")]
    assert leftovers == []
