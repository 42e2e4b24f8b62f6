"""`kiln verify FILE`: runs the loader's own checks on a file, in the loader's
order, and reports each one.

Each check prints one line (``ok`` or ``FAIL``, its name, what it found); the
command exits with 1 when any check fails. A warning the load would print
(an optimizer state skipped, as Keras skips it) is a note on its check's
line, never a Python warning in the middle of the report. The checks are the functions
`load_model` runs (`kiln/_src/saving/saving_lib.py`), called in the same
order, so nothing is "verified" that a load would not check, and nothing a
load refuses is passed:

- ``kiln verify FILE`` runs every stage of `load_model`: the container, the
  config's parse, envelope, fields, graph and names, the rebuild with lazy
  variables (as safe as a safe-mode load: no function a file names is called
  on file-chosen data, nothing is allocated), the memory budget, each
  variable's dataset checked and read, and the CRC-32 before anything would
  be assigned. The rebuilt model is thrown away: no variable is assigned. It
  exits with 1 exactly when `load_model(FILE)` would raise. (``--build``,
  which used to turn on the rebuild, is still accepted.)
- ``kiln verify --no-build FILE`` stops before the rebuild: the container and
  config checks, then the weights listed through the checked reader of
  `open_weights` and the CRC-32. Faster, but a file that passes
  can still fail to load (a FAIL still means that `load_model` would raise).

A file is never written, and global configuration is never changed.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import IO, Any

from kiln._src.saving import file_io
from kiln._src.saving.errors import InvalidFileError
from kiln._src.saving.safety.limits import DEFAULT_LIMITS, LoadLimits

# (status, check, detail)
Finding = tuple[str, str, str]

_LEGACY_H5 = (".h5", ".hdf5")


class _Failed(Exception):
    """Stops the checks that depend on a failed one."""


def _run(findings: list[Finding], name: str, check: Callable[[], str]) -> None:
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            detail = check()
    except (InvalidFileError, OSError) as error:
        # What the loader raises for a file it refuses (or cannot open).
        findings.append(("FAIL", name, f"{type(error).__name__}: {error}"))
        raise _Failed from None
    except Exception as error:  # noqa: BLE001 - reported, never a traceback
        # Anything else is a bug in kiln (the loader must raise
        # InvalidFileError); the file is not passed, and the user is told.
        findings.append(
            (
                "FAIL",
                name,
                f"internal error: {type(error).__name__}: {error} (the loader "
                "raised an error outside the InvalidFileError family; this is a "
                "kiln bug, please report it with the file)",
            )
        )
        raise _Failed from None
    findings.append(("ok", name, detail + _notes(caught)))


def _notes(caught: list[warnings.WarningMessage]) -> str:
    """What a stage warned, as part of its finding: the load's own warnings
    (`UserWarning`, e.g. an optimizer state skipped as Keras skips it) are
    what `load_model` would print, so verify reports them on the stage's line
    instead of letting them reach stderr mid-report. Other categories are
    re-issued unchanged."""
    notes = []
    for caught_warning in caught:
        if issubclass(caught_warning.category, UserWarning):
            notes.append(f"; note (load_model warns): {caught_warning.message}")
        else:
            warnings.warn_explicit(
                caught_warning.message,
                caught_warning.category,
                caught_warning.filename,
                caught_warning.lineno,
            )
    return "".join(notes)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def verify(
    path: str, build: bool = True, limits: LoadLimits = DEFAULT_LIMITS
) -> list[Finding]:
    """Checks `path` (a `.keras` file, a ``zipped=False`` directory, a
    `.weights.h5` file or a sharded `.weights.json` index) and returns one
    finding per check, in the loader's order; `build=False` stops a model's
    checks before the rebuild (``--no-build``). ``limits``: the caps a load
    with ``limits=`` would apply (``--max-bytes``)."""
    findings: list[Finding] = []
    try:
        if file_io.isdir(path) or path.endswith(".keras"):
            _verify_model(path, build, limits, findings)
        elif path.endswith(".weights.h5"):
            _verify_weights_file(path, findings)
        elif path.endswith(".weights.json"):
            _verify_sharded(path, limits, findings)
        else:

            def refuse() -> str:
                legacy = path.endswith(_LEGACY_H5)
                raise InvalidFileError(
                    f"'{path}' is not a file kiln loads: "
                    + (
                        "a legacy Keras 2 HDF5 model (.h5) is not read; load it in "
                        "Keras and re-save it as '.keras'."
                        if legacy
                        else "expected a '.keras' file, a directory saved with "
                        "zipped=False, a '.weights.h5' file or a sharded "
                        "'.weights.json' index."
                    )
                )

            _run(findings, "container", refuse)
    except _Failed:
        pass
    return findings


def _list_weights(path: str, reader: Any) -> tuple[int, int]:
    """(datasets, declared bytes) of a weights file, through `open_weights`'s
    checked listing (hard links only, numeric, stored in the file)."""
    from kiln._src.saving.weights_file import WeightsFile

    with WeightsFile(path, reader, None) as opened:
        infos = opened.variables()
    return len(infos), sum(info.nbytes for info in infos)


def _verify_weights_file(path: str, findings: list[Finding]) -> None:
    from kiln._src.saving.h5_store import H5Reader

    def weights() -> str:
        if not file_io.exists(path):
            raise FileNotFoundError(f"File not found: filepath={path}")
        count, declared = _list_weights(path, H5Reader(path, f"'{path}'"))
        return (
            f"{_plural(count, 'dataset')}, {declared:,} bytes declared, file "
            f"{file_io.file_size(path):,} bytes; hard links only, numeric, "
            "stored in the file"
        )

    _run(findings, "weights", weights)


def _verify_sharded(path: str, limits: LoadLimits, findings: list[Finding]) -> None:
    from kiln._src.saving.h5_store import H5Reader
    from kiln._src.saving.sharded_weights import ShardIndex

    state: dict[str, Any] = {}

    def index() -> str:
        state["index"] = ShardIndex(path, limits)
        return (
            f"{_plural(len(state['index'].shards), 'shard')} named, plain files "
            "beside the index"
        )

    _run(findings, "index", index)

    def shards() -> str:
        count = declared = 0
        for name in state["index"].shards:
            shard = state["index"].shard_path(name)
            datasets, size = _list_weights(shard, H5Reader(shard, f"'{shard}'"))
            count, declared = count + datasets, declared + size
        return (
            f"{_plural(count, 'dataset')}, {declared:,} bytes declared; hard links "
            "only, numeric, stored in the shards"
        )

    _run(findings, "shards", shards)


def _verify_model(
    path: str, build: bool, limits: LoadLimits, findings: list[Finding]
) -> None:
    from kiln._src.saving import saving_api, saving_lib

    state: dict[str, Any] = {}
    custom_objects: dict[str, Any] | None = None  # the CLI has none to give
    safe_mode = True  # load_model's defaults: safe, compiled
    member = saving_lib.CONFIG_MEMBER

    def container() -> str:
        # load_model's path rules, then the archive's own checks.
        saving_api.check_model_path(path)
        state["archive"] = saving_lib._Archive(path, limits)
        kind = "directory" if file_io.isdir(path) else "zip archive"
        return f"{kind}: expected members only, regular files, sizes within limits"

    _run(findings, "container", container)
    archive = state["archive"]
    try:

        def config() -> str:
            data, state["config"] = saving_lib.read_model_config(archive)
            saving_lib.check_model_config(
                state["config"], member, custom_objects, safe_mode
            )
            return (
                f"{len(data):,} bytes of strict JSON; envelope, fields, graph and "
                "names checked (every class and function resolves, in safe mode)"
            )

        _run(findings, "config", config)
        if build:
            _verify_build(path, state["config"], archive, findings)
            return

        def weights() -> str:
            count, declared = _list_weights(path, archive.weights_reader())
            return (
                f"{_plural(count, 'dataset')}, {declared:,} bytes declared in a "
                f"{archive.weights_size():,}-byte member; hard links only, "
                "numeric, stored in the file"
            )

        _run(findings, "weights", weights)
        _run(findings, "checksum", lambda: _checksum(path, archive))
    finally:
        archive.close()


def _checksum(path: str, archive: Any) -> str:
    if archive.verify_weights_checksum():
        return "the weights member matches its CRC-32"
    if file_io.isdir(path):
        return "none to check (a directory's files carry no checksum)"
    return "the compressed weights member matched its CRC-32 when opened"


def _verify_build(
    path: str, config: dict[str, Any], archive: Any, findings: list[Finding]
) -> None:
    """`load_model_from_path` after its config checks, stage by stage, with the
    same functions; the arrays are read (and dropped) but never assigned."""
    from kiln._src.saving import saveable_walk, saving_lib
    from kiln._src.saving.safety import budget

    state: dict[str, Any] = {}

    def structure() -> str:
        state["model"] = saving_lib.build_model(
            config, saving_lib.CONFIG_MEMBER, None, safe_mode=True
        )
        return "rebuilt with lazy variables (nothing allocated, no initializer run)"

    _run(findings, "build", structure)
    model = state["model"]
    walked = list(saveable_walk.walk(model))

    def variable_budget() -> str:
        total = budget.check_variable_budget(
            model,
            archive.weights_size(),
            f"Cannot load '{path}'",
            archive.limits,
            walked,
        )
        return f"the variables need {total:,} bytes, within the file and the cap"

    def variables() -> str:
        state["reader"] = reader = archive.weights_reader()
        assignments = saving_lib.check_weights(model, reader, False, walked)
        # Read one at a time and dropped: the load's reads, without holding
        # every array at once.
        for _, checked in assignments:
            reader.read_checked(checked)
        return (
            f"{_plural(len(assignments), 'variable')} match their datasets' "
            "shapes and dtypes, and every dataset reads"
        )

    _run(findings, "budget", variable_budget)
    try:
        _run(findings, "variables", variables)
        # As in `load_weights_into`: after the reads, before any assignment.
        _run(findings, "checksum", lambda: _checksum(path, archive))
    finally:
        if "reader" in state:
            state["reader"].close()


def report(path: str, build: bool, out: IO[str], max_bytes: int | None = None) -> int:
    """Prints the findings for `path`; returns the command's exit status.
    ``max_bytes`` (``--max-bytes``): the variable budget, as
    ``load_model(path, limits=LoadLimits(max_variable_bytes=max_bytes))``."""
    try:
        limits = (
            DEFAULT_LIMITS
            if max_bytes is None
            else LoadLimits(max_variable_bytes=max_bytes)
        )
    except ValueError as error:
        print(f"kiln verify: --max-bytes: {error}", file=out)
        return 2
    findings = verify(path, build, limits)
    width = max(len(name) for _, name, _ in findings)
    for status, name, detail in findings:
        print(f"{status:<4}  {name:<{width}}  {detail}", file=out)
    failed = [name for status, name, _ in findings if status == "FAIL"]
    if failed:
        print(f"{path}: FAILED ({', '.join(failed)})", file=out)
        return 1
    if build or not (file_io.isdir(path) or path.endswith(".keras")):
        print(f"{path}: no problem found", file=out)
    else:
        print(
            f"{path}: no problem found before the rebuild (run without "
            "--no-build to also rebuild the model and check every variable, as "
            "load_model does)",
            file=out,
        )
    return 0
