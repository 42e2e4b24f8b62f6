"""Watches a directory tree from outside a process, with Linux inotify.

An audit hook inside a process sees only Python-level file access; libhdf5
(and any other C code) opens files directly. inotify reports every open,
read, write, create, move and delete of a file under the watched directories,
whoever does it, so the sandbox watches its root with it (through ctypes:
the standard library has no inotify binding).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import struct

IN_ACCESS = 0x001
IN_MODIFY = 0x002
IN_ATTRIB = 0x004
IN_CLOSE_WRITE = 0x008
IN_OPEN = 0x020
IN_MOVED_FROM = 0x040
IN_MOVED_TO = 0x080
IN_CREATE = 0x100
IN_DELETE = 0x200
IN_Q_OVERFLOW = 0x4000
IN_ISDIR = 0x40000000
IN_NONBLOCK = os.O_NONBLOCK
IN_CLOEXEC = os.O_CLOEXEC

_NAMES = {
    IN_ACCESS: "ACCESS",
    IN_MODIFY: "MODIFY",
    IN_ATTRIB: "ATTRIB",
    IN_CLOSE_WRITE: "CLOSE_WRITE",
    IN_OPEN: "OPEN",
    IN_MOVED_FROM: "MOVED_FROM",
    IN_MOVED_TO: "MOVED_TO",
    IN_CREATE: "CREATE",
    IN_DELETE: "DELETE",
}
_MASK = sum(_NAMES)
# Reading a directory (a walk, a listing) is not access to a file.
_DIRECTORY_READS = IN_OPEN | IN_ACCESS
_HEADER = struct.Struct("iIII")


class InotifyWatch:
    """Every directory under `root` (and each one created later), watched
    for file events until `close()`."""

    def __init__(self, root: str):
        self._libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        self.root = os.path.abspath(root)
        self._fd = self._libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if self._fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")
        self._directories: dict[int, str] = {}
        for base, _, _ in os.walk(self.root):
            self._watch(base)

    def _watch(self, directory: str) -> None:
        wd = self._libc.inotify_add_watch(self._fd, os.fsencode(directory), _MASK)
        if wd >= 0:
            self._directories[wd] = directory

    def _read_events(self) -> list[tuple[str, str]]:
        """(event name, absolute path) of everything queued so far."""
        events: list[tuple[str, str]] = []
        while True:
            try:
                data = os.read(self._fd, 1 << 20)
            except BlockingIOError:
                return events
            except OSError as error:  # pragma: no cover - EINTR
                if error.errno == errno.EINTR:
                    continue
                raise
            offset = 0
            while offset < len(data):
                wd, mask, _, length = _HEADER.unpack_from(data, offset)
                offset += _HEADER.size
                name = (
                    data[offset : offset + length]
                    .rstrip(b"\0")
                    .decode("utf-8", "surrogateescape")
                )
                offset += length
                if mask & IN_Q_OVERFLOW:
                    events.append(("OVERFLOW", self.root))
                    continue
                directory = self._directories.get(wd)
                if directory is None:
                    continue
                path = os.path.join(directory, name) if name else directory
                is_dir = bool(mask & IN_ISDIR)
                if is_dir and mask & IN_CREATE:
                    self._watch(path)
                for bit, label in _NAMES.items():
                    if mask & bit and not (is_dir and bit & _DIRECTORY_READS):
                        events.append((label, path))

    def events_outside(self, own_files: list[str]) -> list[str]:
        """Drains the queue; returns ``"EVENT relative/path"`` for each event
        on a path that is neither one of `own_files` nor inside one of them
        (a directory-form model)."""
        owned = tuple(os.path.abspath(path) for path in own_files)
        found = []
        for label, path in self._read_events():
            if any(path == own or path.startswith(own + os.sep) for own in owned):
                continue
            found.append(f"{label} {os.path.relpath(path, self.root)}")
        return sorted(set(found))

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
