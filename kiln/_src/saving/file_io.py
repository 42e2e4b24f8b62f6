"""The one seam through which kiln's saving code touches storage.

Every file kiln reads or writes goes through these functions, so a remote
backend (fsspec: s3://, gs://, memory://) can be added here alone. Writes are
atomic: data goes to a temporary file beside the target, is flushed to disk,
and replaces the target with one rename, so a crash never leaves a half-written
file where a good one was.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from typing import IO, Any

from kiln._src.saving.errors import InvalidFileError

try:
    import fcntl
except ImportError:  # Windows: no FIFOs to guard against, no O_NONBLOCK
    fcntl = None  # type: ignore[assignment]

TEMP_PREFIX = ".kiln-tmp-"


def fspath(path: Any) -> str:
    try:
        return os.fspath(path)
    except TypeError:
        raise TypeError(
            f"Expected a file path (str or os.PathLike). Received: {path!r}"
        ) from None


def exists(path: str) -> bool:
    return os.path.exists(path)


def isdir(path: str) -> bool:
    return os.path.isdir(path)


def isfile(path: str) -> bool:
    return os.path.isfile(path)


def listdir(path: str) -> list[str]:
    return sorted(os.listdir(path))


def lstat(path: str) -> os.stat_result:
    """The entry at `path` itself (a symbolic link is not followed)."""
    return os.lstat(path)


def join(directory: str, name: str) -> str:
    return os.path.join(directory, name)


def makedirs(path: str) -> None:
    os.makedirs(path, exist_ok=True)


def kind_of(mode: int) -> str:
    """What a file of this `st_mode` is, for messages."""
    if stat.S_ISREG(mode):
        return "a regular file"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _not_regular(path: str, mode: int) -> InvalidFileError:
    return InvalidFileError(
        f"Cannot read '{path}': it is {kind_of(mode)}, not a regular file. kiln "
        "reads model and weights files only from regular files (a FIFO or "
        "device would block or never end); copy the data to a file first."
    )


# Opening a FIFO for reading blocks until a writer appears, so files are
# opened non-blocking, checked with `fstat`, and only then made blocking.
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_OPEN_FLAGS = (
    os.O_RDONLY
    | _NONBLOCK
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


def open_read(path: str) -> IO[bytes]:
    """Opens the regular file at `path` for reading, without ever blocking.

    A FIFO, device, socket or directory is refused with `InvalidFileError`:
    `stat` first (so a device is never opened), then the opened descriptor's
    own `fstat`, which is what is read from whatever happened to the path in
    between. A symbolic link given by the caller is followed (the caller
    chose it); members and shards are checked with `lstat` by their own
    rules before they get here."""
    before = os.stat(path)
    if not stat.S_ISREG(before.st_mode):
        raise _not_regular(path, before.st_mode)
    fd = os.open(path, _OPEN_FLAGS)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _not_regular(path, info.st_mode)
        if fcntl is not None and _NONBLOCK:
            flags = fcntl.fcntl(fd, fcntl.F_GETFL)
            fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~_NONBLOCK)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def native_path(file: IO[bytes]) -> str | None:
    """A name by which a C library (libhdf5) opens the very file that the
    open `file` is, whatever has happened to its path since (``None`` where
    the platform has no such names). Opening it again reaches the same
    inode, so the checks `open_read` made still hold."""
    for directory in ("/proc/self/fd", "/dev/fd"):
        if os.path.isdir(directory):
            name = f"{directory}/{file.fileno()}"
            with contextlib.suppress(OSError):
                if os.path.samestat(os.stat(name), os.fstat(file.fileno())):
                    return name
    return None


def file_size(path: str) -> int:
    return os.path.getsize(path)


def _target_directory(path: str, kind: str) -> str:
    """The directory a save to `path` writes in, after checking that it
    exists and that `path` is not of the other kind (file vs directory), so
    errors name the user's path rather than a temporary."""
    directory = os.path.dirname(os.path.abspath(path)) or "."
    if not os.path.isdir(directory):
        raise FileNotFoundError(
            f"Cannot save to '{path}': the directory '{directory}' does not "
            "exist. Create it first (e.g. `os.makedirs(directory)`)."
        )
    if kind == "file" and os.path.isdir(path):
        raise IsADirectoryError(
            f"Cannot save to '{path}': it is an existing directory. Choose a "
            "file path, or remove the directory first."
        )
    if kind == "directory" and os.path.exists(path) and not os.path.isdir(path):
        raise NotADirectoryError(
            f"Cannot save to '{path}' with zipped=False: it is an existing "
            "file. Choose a directory path, or remove the file first."
        )
    return directory


def _temporary_prefix() -> str:
    # The writer's pid is in the name, so a later save can tell a temporary
    # left by a killed process from one still being written.
    return f"{TEMP_PREFIX}{os.getpid()}-"


@contextlib.contextmanager
def atomic_write(path: str) -> Iterator[IO[bytes]]:
    """Yields a binary file opened for read/write; on success it replaces
    `path` at once, on failure it is removed and `path` is untouched."""
    directory = _target_directory(path, "file")
    handle, temp_path = tempfile.mkstemp(
        prefix=_temporary_prefix(), suffix=".part", dir=directory
    )
    try:
        # No fsync: atomicity against a killed process comes from the rename
        # alone, and an fsync would double the time of a save (Keras does not
        # sync either). Durability across power loss is the filesystem's.
        with os.fdopen(handle, "w+b") as file:
            yield file
        if os.path.exists(path):
            # Keep the previous file's permissions, as an in-place write would.
            os.chmod(temp_path, os.stat(path).st_mode & 0o7777)
        else:
            os.chmod(temp_path, 0o666 & ~_umask())
        os.replace(temp_path, path)
        _fsync_directory(directory)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temp_path)
        raise


@contextlib.contextmanager
def atomic_directory(path: str) -> Iterator[str]:
    """Yields an empty staging directory; on success it replaces the
    directory `path` (the old one is moved aside, then removed), on failure
    it is removed and `path` is untouched."""
    directory = _target_directory(path, "directory")
    staging = tempfile.mkdtemp(
        prefix=_temporary_prefix(), suffix=".part", dir=directory
    )
    try:
        yield staging
        if os.path.exists(path):
            # Two renames: a crash between them leaves the old model in the
            # `-old.part` directory, which the next save beside it removes.
            backup = staging[: -len(".part")] + "-old.part"
            os.replace(path, backup)
            os.replace(staging, path)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            os.replace(staging, path)
        _fsync_directory(directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def remove_stale_temporaries(path: str) -> None:
    """Removes temporaries (files or staging directories) that a killed save
    left beside `path`."""
    directory = os.path.dirname(os.path.abspath(path)) or "."
    for name in os.listdir(directory):
        if name.startswith(TEMP_PREFIX) and name.endswith(".part"):
            with contextlib.suppress(OSError):
                full = os.path.join(directory, name)
                if not _owner_is_gone(full):
                    continue
                if os.path.isdir(full) and not os.path.islink(full):
                    shutil.rmtree(full)
                else:
                    os.remove(full)


def _owner_is_gone(path: str) -> bool:
    """True when the process that created this temporary no longer runs."""
    name = os.path.basename(path)[len(TEMP_PREFIX) :]
    pid_text = name.split("-", 1)[0]
    if not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_directory(directory: str) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
