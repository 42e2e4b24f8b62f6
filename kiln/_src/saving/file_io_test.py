"""Atomic writes and the clean-up of temporaries left by killed saves, on
real files and real processes."""

import os
import pathlib
import stat
import subprocess
import sys

import pytest

from kiln._src.saving import file_io


def _temporaries(directory):
    return [n for n in os.listdir(directory) if n.startswith(file_io.TEMP_PREFIX)]


def test_atomic_write_replaces_the_target_on_success(tmp_path):
    target = tmp_path / "model.keras"
    target.write_bytes(b"old")
    with file_io.atomic_write(str(target)) as file:
        file.write(b"new")
        # Until the block ends the old file is what readers see.
        assert target.read_bytes() == b"old"
        assert len(_temporaries(tmp_path)) == 1
    assert target.read_bytes() == b"new"
    assert _temporaries(tmp_path) == []


def test_atomic_write_failure_leaves_the_target_and_no_temporary(tmp_path):
    target = tmp_path / "model.keras"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="boom"):
        with file_io.atomic_write(str(target)) as file:
            file.write(b"half")
            raise RuntimeError("boom")
    assert target.read_bytes() == b"old"
    assert _temporaries(tmp_path) == []


def test_atomic_write_keeps_the_previous_permissions(tmp_path):
    target = tmp_path / "model.keras"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    with file_io.atomic_write(str(target)) as file:
        file.write(b"new")
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640


def test_new_file_gets_the_umask_permissions(tmp_path):
    target = tmp_path / "model.keras"
    previous = os.umask(0o022)
    try:
        with file_io.atomic_write(str(target)) as file:
            file.write(b"new")
    finally:
        os.umask(previous)
    # mkstemp alone would give 0o600; a normal `open` gives 0o666 & ~umask.
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o644


def _dead_pid():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_stale_temporaries_of_dead_processes_are_removed(tmp_path):
    target = tmp_path / "model.keras"
    stale = tmp_path / f"{file_io.TEMP_PREFIX}{_dead_pid()}-abc.part"
    ours = tmp_path / f"{file_io.TEMP_PREFIX}{os.getpid()}-abc.part"
    live = tmp_path / f"{file_io.TEMP_PREFIX}{os.getppid()}-abc.part"
    unrelated = tmp_path / "notes.part"
    odd = tmp_path / f"{file_io.TEMP_PREFIX}nopid.part"
    for path in (stale, ours, live, unrelated, odd):
        path.write_bytes(b"x")
    file_io.remove_stale_temporaries(str(target))
    assert not stale.exists()
    # A temporary being written by a running process is never touched.
    assert ours.exists() and live.exists()
    assert unrelated.exists() and odd.exists()


def test_fspath_accepts_path_objects_and_rejects_others(tmp_path):
    assert file_io.fspath(tmp_path / "a.keras") == str(tmp_path / "a.keras")
    with pytest.raises(TypeError, match="Expected a file path"):
        file_io.fspath(42)


def test_atomic_directory_replaces_the_old_directory(tmp_path):
    target = tmp_path / "saved"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with file_io.atomic_directory(str(target)) as staging:
        (pathlib.Path(staging) / "new.txt").write_text("new")
        assert (target / "old.txt").exists()  # untouched until success
    assert os.listdir(target) == ["new.txt"]
    assert os.listdir(tmp_path) == ["saved"]  # no staging or backup left


def test_atomic_directory_failure_leaves_the_old_directory(tmp_path):
    target = tmp_path / "saved"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with pytest.raises(RuntimeError, match="boom"):
        with file_io.atomic_directory(str(target)) as staging:
            (pathlib.Path(staging) / "new.txt").write_text("half")
            raise RuntimeError("boom")
    assert os.listdir(target) == ["old.txt"]
    assert os.listdir(tmp_path) == ["saved"]


def test_stale_staging_directories_are_removed(tmp_path):
    dead = _dead_pid()
    stale = tmp_path / f"{file_io.TEMP_PREFIX}{dead}-abc.part"
    backup = tmp_path / f"{file_io.TEMP_PREFIX}{dead}-abc-old.part"
    for directory in (stale, backup):
        directory.mkdir()
        (directory / "config.json").write_text("{}")
    file_io.remove_stale_temporaries(str(tmp_path / "saved"))
    assert os.listdir(tmp_path) == []


def test_errors_name_the_users_path_not_a_temporary(tmp_path):
    missing = tmp_path / "no" / "such" / "model.keras"
    with pytest.raises(FileNotFoundError) as error:
        with file_io.atomic_write(str(missing)):
            pass
    assert str(missing) in str(error.value)
    assert file_io.TEMP_PREFIX not in str(error.value)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        with file_io.atomic_directory(str(missing)):
            pass
    (tmp_path / "a_directory").mkdir()
    with pytest.raises(IsADirectoryError, match="existing directory"):
        with file_io.atomic_write(str(tmp_path / "a_directory")):
            pass
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(NotADirectoryError, match="existing file"):
        with file_io.atomic_directory(str(tmp_path / "a_file")):
            pass
    assert sorted(os.listdir(tmp_path)) == ["a_directory", "a_file"]
