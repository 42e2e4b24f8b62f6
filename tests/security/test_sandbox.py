"""The sandbox sees every kind of breach: each test runs a script that
misbehaves on purpose (a "script" job) and checks that the breach is
reported, so that an empty `breaches()` in the attack tests means something.
"""

from __future__ import annotations

import os
import textwrap

import h5py
import numpy as np
import pytest
from inotify_watch import InotifyWatch
from sandbox import Job, Sandbox


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> Sandbox:
    root = tmp_path_factory.mktemp("sandbox")
    box = Sandbox(str(root))
    with h5py.File(root / "secret.h5", "w") as f:
        f.create_dataset("x", data=np.zeros(3))
    (root / "secret.txt").write_text("secret")
    (root / "victim.txt").write_text("victim")
    (root / "doomed.txt").write_text("doomed")
    return box


def _script(sandbox: Sandbox, name: str, body: str) -> Job:
    path = os.path.join(sandbox.root, "scripts", name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(textwrap.dedent(body))
    return Job(path, kind="script")


@pytest.fixture(scope="module")
def results(sandbox):
    root = sandbox.root
    jobs = {
        "quiet": _script(sandbox, "quiet.py", "x = 1 + 1\n"),
        "python-read": _script(
            sandbox, "read.py", f"open({root + '/secret.txt'!r}).read()\n"
        ),
        "c-read": _script(
            sandbox,
            "c_read.py",
            f"import h5py\nh5py.File({root + '/secret.h5'!r}, 'r').close()\n",
        ),
        "modify": _script(
            sandbox,
            "modify.py",
            f"import os\nfd = os.open({root + '/victim.txt'!r}, os.O_WRONLY)\n"
            "os.write(fd, b'X')\nos.close(fd)\n",
        ),
        "delete": _script(
            sandbox, "delete.py", f"import os\nos.remove({root + '/doomed.txt'!r})\n"
        ),
        "system": _script(sandbox, "system.py", "import os\nos.system('true')\n"),
        "config": _script(
            sandbox, "config.py", "import kiln\nkiln.config.set_epsilon(0.5)\n"
        ),
        "hang": _script(sandbox, "hang.py", "while True:\n    pass\n"),
        "after-hang": _script(sandbox, "after.py", "x = 2\n"),
    }
    ordered = list(jobs)
    outcome = sandbox.load_all([jobs[name] for name in ordered], timeout_s=10)
    return dict(zip(ordered, outcome, strict=True))


def test_a_quiet_job_has_no_breach(results):
    assert results["quiet"].loaded, results["quiet"].describe()
    assert results["quiet"].breaches() == []


def test_python_open_outside_is_seen_inside_and_outside(results):
    result = results["python-read"]
    assert any(p.endswith("secret.txt") for p in result.opened_outside)
    assert "OPEN secret.txt" in result.file_events_outside


def test_c_level_open_is_seen_by_inotify(results):
    # libhdf5 opens the file from C: no audit event, but inotify sees it.
    assert "OPEN secret.h5" in results["c-read"].file_events_outside


def test_writes_and_deletes_are_seen(results):
    assert results["modify"].modified_files == ["victim.txt"]
    assert "MODIFY victim.txt" in results["modify"].file_events_outside
    assert results["delete"].deleted_files == ["doomed.txt"]
    assert any("os.remove" in e for e in results["delete"].forbidden_events)


def test_processes_and_global_config_are_seen(results):
    assert any(e.startswith("os.system") for e in results["system"].forbidden_events)
    config = results["config"]
    assert config.config_after["epsilon"] != config.config_before["epsilon"]
    assert config.breaches()


def test_a_hang_times_out_and_the_next_job_still_runs(results):
    assert results["hang"].status == "timeout"
    assert results["after-hang"].loaded, results["after-hang"].describe()


def test_inotify_watch_sees_new_directories(tmp_path):
    watch = InotifyWatch(str(tmp_path))
    try:
        (tmp_path / "new").mkdir()
        watch.events_outside([])  # registers the new directory
        (tmp_path / "new" / "f").write_text("x")
        events = watch.events_outside([])
        assert "CREATE new/f" in events
        (tmp_path / "new" / "g").write_text("x")
        assert watch.events_outside([str(tmp_path / "new" / "g")]) == []
    finally:
        watch.close()
