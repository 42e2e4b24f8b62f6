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


# -- open_read: regular files only, never blocking --


def test_open_read_reads_a_regular_file_in_blocking_mode(tmp_path):
    import fcntl

    path = tmp_path / "m.keras"
    path.write_bytes(b"data")
    with file_io.open_read(str(path)) as file:
        assert not fcntl.fcntl(file.fileno(), fcntl.F_GETFL) & os.O_NONBLOCK
        assert file.read() == b"data"
        name = file_io.native_path(file)
        assert name is not None and os.path.samestat(os.stat(name), os.stat(path))


def test_open_read_follows_a_link_the_caller_gives(tmp_path):
    (tmp_path / "real.keras").write_bytes(b"data")
    os.symlink("real.keras", tmp_path / "link.keras")
    with file_io.open_read(str(tmp_path / "link.keras")) as file:
        assert file.read() == b"data"


@pytest.mark.parametrize(
    "make, kind",
    [
        (lambda p: os.mkfifo(p), "a FIFO"),
        (lambda p: os.mkdir(p), "a directory"),
        (lambda p: os.symlink("/dev/null", p), "a device"),
    ],
    ids=["fifo", "directory", "device"],
)
def test_open_read_refuses_what_is_not_a_regular_file(tmp_path, make, kind):
    from kiln._src.saving.errors import InvalidFileError

    path = tmp_path / "m.keras"
    make(str(path))
    if kind == "a FIFO":
        # In a child with a timeout: a blocking open would hang forever.
        code = (
            "from kiln._src.saving import file_io\n"
            "try:\n"
            f"    file_io.open_read({str(path)!r})\n"
            "except file_io.InvalidFileError as error:\n"
            "    print('refused:', error)\n"
        )
        result = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=dict(os.environ, PYTHONPATH=str(pathlib.Path(__file__).parents[3])),
        )
        assert "refused:" in result.stdout and kind in result.stdout, result.stderr
        return
    with pytest.raises(InvalidFileError, match=f"it is {kind}, not a regular file"):
        file_io.open_read(str(path))


def test_open_read_of_nothing_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        file_io.open_read(str(tmp_path / "missing.keras"))
