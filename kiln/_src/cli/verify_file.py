"""`kiln verify FILE`: runs every safety check of a load on a file, without
building the model (unless ``--build``) and without reading variable data
except to check the weights member's CRC-32.

Each check prints one line (``ok``, ``note`` or ``FAIL``, its name, what it
found); the command exits with 1 when any check fails. The checks are the
loader's own (`kiln/_src/saving/safety`), so a file that verifies passes the
same checks when `load_model` opens it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, Any

from kiln._src.saving import file_io
from kiln._src.saving.errors import InvalidFileError

# (status, check, detail)
Finding = tuple[str, str, str]


class _Failed(Exception):
    """Stops the checks that depend on a failed one."""


def _run(findings: list[Finding], name: str, check: Callable[[], str]) -> Any:
    try:
        detail = check()
    except (InvalidFileError, TypeError, ValueError, OSError, KeyError) as error:
        findings.append(("FAIL", name, str(error)))
        raise _Failed from None
    findings.append(("ok", name, detail))


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def verify(path: str, build: bool = False) -> list[Finding]:
    """Checks `path` (a `.keras` file, a ``zipped=False`` directory or a
    `.weights.h5` file) and returns one finding per check."""
    findings: list[Finding] = []
    try:
        if path.endswith(".weights.h5") and not file_io.isdir(path):
            _verify_weights_only(path, findings)
        else:
            _verify_model(path, build, findings)
    except _Failed:
        pass
    return findings


def _verify_weights_only(path: str, findings: list[Finding]) -> None:
    from kiln._src.saving.weights_file import open_weights

    def weights() -> str:
        with open_weights(path) as opened:
            infos = opened.variables()
        declared = sum(info.nbytes for info in infos)
        return (
            f"{_plural(len(infos), 'dataset')}, {declared:,} bytes declared, "
            f"file {file_io.file_size(path):,} bytes; hard links only, numeric, "
            "stored in the file"
        )

    _run(findings, "weights", weights)


def _verify_model(path: str, build: bool, findings: list[Finding]) -> None:
    from kiln._src.saving import saving_lib
    from kiln._src.saving.safety import config_checks, graph_checks

    state: dict[str, Any] = {}

    def container() -> str:
        if not file_io.exists(path):
            raise FileNotFoundError(f"No such file or directory: '{path}'")
        state["archive"] = saving_lib._Archive(path)
        kind = "directory" if file_io.isdir(path) else "zip archive"
        return f"{kind}: expected members only, regular files, sizes within limits"

    _run(findings, "container", container)
    archive = state["archive"]
    try:

        def config() -> str:
            data = archive.read_member(
                saving_lib.CONFIG_MEMBER, saving_lib.MAX_CONFIG_BYTES
            )
            where = f"'{path}' member '{saving_lib.CONFIG_MEMBER}'"
            state["config"] = saving_lib._parse_config(data, where)
            if not isinstance(state["config"], dict):
                raise InvalidFileError(f"{where} must hold a JSON object.")
            return f"{len(data):,} bytes of strict JSON (bounded depth and sizes)"

        _run(findings, "config", config)
        model_config = state["config"]

        def fields() -> str:
            config_checks.check_config(model_config, saving_lib.CONFIG_MEMBER)
            return "every checked field has the right type and range"

        def graph() -> str:
            graph_checks.check_graph(model_config, saving_lib.CONFIG_MEMBER)
            return "layer references resolve, no cycles, names unique"

        _run(findings, "fields", fields)
        _run(findings, "graph", graph)
        _note_custom_classes(model_config, findings)

        def weights() -> str:
            from kiln._src.saving.weights_file import WeightsFile

            state["weights"] = opened = WeightsFile(
                path, archive.weights_reader(), None
            )
            infos = opened.variables()
            declared = sum(info.nbytes for info in infos)
            stored = archive.weights_size()
            if declared > stored:
                raise InvalidFileError(
                    f"The weights member declares {declared:,} bytes of datasets "
                    f"but stores only {stored:,} bytes."
                )
            return (
                f"{_plural(len(infos), 'dataset')}, {declared:,} bytes in a "
                f"{stored:,}-byte member; hard links only, numeric, stored in "
                "the file"
            )

        _run(findings, "weights", weights)

        def checksum() -> str:
            if archive.verify_weights_checksum():
                return "the weights member matches its CRC-32"
            if file_io.isdir(path):
                return "none to check (a directory's files carry no checksum)"
            return "the compressed weights member matched its CRC-32 when opened"

        _run(findings, "checksum", checksum)
        if build:
            _verify_build(path, model_config, archive, findings)
    finally:
        if "weights" in state:
            state["weights"].close()
        archive.close()


def _note_custom_classes(config: dict[str, Any], findings: list[Finding]) -> None:
    from kiln._src.saving.serialization_lib import check_all_classes_resolvable

    try:
        check_all_classes_resolvable(config, None)
    except TypeError as error:
        findings.append(
            (
                "note",
                "classes",
                "needs custom objects (pass custom_objects= to load_model): "
                + str(error).splitlines()[0],
            )
        )
        raise _Failed from None
    findings.append(
        ("ok", "classes", "every class resolves (kiln's built-ins, registered classes)")
    )


def _verify_build(
    path: str, config: dict[str, Any], archive: Any, findings: list[Finding]
) -> None:
    from kiln._src.saving import saving_lib
    from kiln._src.saving.object_sharing import ObjectSharingScope
    from kiln._src.saving.safety import budget, config_checks
    from kiln._src.saving.serialization_lib import deserialize_keras_object

    state: dict[str, Any] = {}

    def structure() -> str:
        try:
            with ObjectSharingScope():
                state["model"] = deserialize_keras_object(config, safe_mode=True)
        except InvalidFileError:
            raise
        except Exception as error:
            raise config_checks.build_error(error, "config.json") from error
        return "built with lazy variables (nothing allocated, no initializer run)"

    _run(findings, "structure", structure)
    model = state["model"]

    def variable_budget() -> str:
        total = budget.check_variable_budget(
            model, archive.weights_size(), f"Cannot load '{path}'"
        )
        return f"the variables need {total:,} bytes, within the file and the cap"

    def variables() -> str:
        reader = archive.weights_reader()
        try:
            count = len(saving_lib.check_weights(model, reader))
        finally:
            reader.close()
        return f"{_plural(count, 'variable')} match their datasets' shapes and dtypes"

    _run(findings, "budget", variable_budget)
    _run(findings, "variables", variables)


def report(path: str, build: bool, out: IO[str]) -> int:
    """Prints the findings for `path`; returns the command's exit status."""
    findings = verify(path, build)
    width = max(len(name) for _, name, _ in findings)
    for status, name, detail in findings:
        print(f"{status:<4}  {name:<{width}}  {detail}", file=out)
    failed = [name for status, name, _ in findings if status == "FAIL"]
    if failed:
        print(f"{path}: FAILED ({', '.join(failed)})", file=out)
        return 1
    print(f"{path}: no problem found", file=out)
    return 0
