"""Checks on a model saved as a directory (``model.save(path, zipped=False)``),
run before any member is read.

The same containment rules as for a `.keras` zip (`archive_checks.py`): only
the expected members, each a regular file seen with `lstat` (a symbolic link
is refused, never followed), within the same size caps. A member with more
than one hard link is refused too: kiln and Keras write each member as a new
file, so a second link means the entry was made to stand for a file that
lives elsewhere (copy the directory with ``cp -r`` rather than ``cp -al``).
Names are only the fixed member names and the entries listed under
``assets/``; nothing read from the files is used as a path.

Not covered: a directory that another process changes while it is loaded
(the checks and the later reads are separate steps).
"""

from __future__ import annotations

import stat
from collections.abc import Callable

from kiln._src.saving import file_io
from kiln._src.saving.errors import InvalidFileError
from kiln._src.saving.safety.archive_checks import (
    CAP_FIELDS,
    CONFIG_MEMBER,
    MAX_MEMBERS,
    METADATA_MEMBER,
    WEIGHTS_MEMBER,
    member_caps,
)
from kiln._src.saving.safety.limits import DEFAULT_LIMITS, LoadLimits, raise_hint

ASSETS_DIRECTORY = "assets"
MAX_ASSETS_DEPTH = 32


def _fail(path: str, member: str, rule: str) -> InvalidFileError:
    return InvalidFileError(
        f"Refusing to load member {member!r} of the model directory '{path}': "
        f"{rule} kiln only loads model directories laid out as Keras and kiln "
        "write them (see the 'Limits' section of kiln's FORMAT.md)."
    )


def check_member_file(
    directory: str,
    member: str,
    cap: int,
    fail: Callable[[str, str], Exception],
    cap_field: str | None = None,
) -> int:
    """Checks the entry ``member`` (a relative path with ``/``) of
    ``directory`` as a file of its own there, from `lstat` alone: a regular
    file (a symbolic link is refused, never followed), with one hard link
    (a second link lets the entry stand for a file that lives elsewhere),
    of at most ``cap`` bytes (``cap_field``: the `LoadLimits` field that
    raises it, named in the refusal). Returns its size; raises
    ``fail(member, rule)``.

    The one rule for files that stand beside each other as parts of one
    save: model-directory members here, and the shards of a sharded weights
    index (`sharded_weights.ShardIndex.shard_path`)."""
    info = file_io.lstat(file_io.join(directory, member))
    if not stat.S_ISREG(info.st_mode):
        raise fail(
            member,
            f"it is {file_io.kind_of(info.st_mode)}; only regular files are allowed.",
        )
    if info.st_nlink > 1:
        raise fail(
            member,
            f"it has {info.st_nlink} hard links; it must be a file of its own "
            "(copy it instead of linking it).",
        )
    if info.st_size > cap:
        raise fail(
            member,
            f"it is {info.st_size} bytes, over the {cap}-byte limit for this file."
            + ("" if cap_field is None else " " + raise_hint(cap_field, info.st_size)),
        )
    return info.st_size


def _check_file(path: str, member: str, cap: int, cap_field: str | None) -> int:
    """Checks one member file of the model directory; returns its size."""
    return check_member_file(
        path, member, cap, lambda name, rule: _fail(path, name, rule), cap_field
    )


def check_model_directory(
    path: str, limits: LoadLimits = DEFAULT_LIMITS
) -> dict[str, int]:
    """Checks every entry of the model directory ``path``, with the size caps
    of ``limits``, and returns the sizes of the top-level member files (by
    name). Raises `InvalidFileError` at the first broken rule. Reads no file
    contents."""
    caps = member_caps(limits)
    sizes: dict[str, int] = {}
    for name in file_io.listdir(path):
        if name in caps:
            sizes[name] = _check_file(path, name, caps[name], CAP_FIELDS.get(name))
        elif name == ASSETS_DIRECTORY:
            _check_assets(path, limits.max_assets_bytes)
        else:
            raise _fail(
                path,
                name,
                "unexpected entry. A model directory holds only "
                f"'{METADATA_MEMBER}', '{CONFIG_MEMBER}', '{WEIGHTS_MEMBER}' and "
                f"'{ASSETS_DIRECTORY}/'.",
            )
    return sizes


def _check_assets(path: str, max_bytes: int) -> None:
    """Walks ``assets/`` without following links: directories and regular
    files only, at most `MAX_MEMBERS` entries, `MAX_ASSETS_DEPTH` levels and
    ``max_bytes`` in total."""
    pending = [(ASSETS_DIRECTORY, 0)]
    count = 0
    total = 0
    while pending:
        member, depth = pending.pop()
        info = file_io.lstat(file_io.join(path, member))
        if not stat.S_ISDIR(info.st_mode):
            raise _fail(
                path,
                member,
                f"it is {file_io.kind_of(info.st_mode)}; expected a directory.",
            )
        if depth >= MAX_ASSETS_DEPTH:
            raise _fail(
                path, member, f"assets are nested over {MAX_ASSETS_DEPTH} levels deep."
            )
        for name in file_io.listdir(file_io.join(path, member)):
            count += 1
            if count > MAX_MEMBERS:
                raise _fail(
                    path,
                    ASSETS_DIRECTORY,
                    f"it holds more than {MAX_MEMBERS} entries.",
                )
            child = f"{member}/{name}"
            mode = file_io.lstat(file_io.join(path, child)).st_mode
            if stat.S_ISDIR(mode):
                pending.append((child, depth + 1))
                continue
            total += _check_file(path, child, max_bytes, "max_assets_bytes")
            if total > max_bytes:
                raise _fail(
                    path,
                    child,
                    f"assets hold more than {max_bytes} bytes in total. "
                    + raise_hint("max_assets_bytes", total),
                )
