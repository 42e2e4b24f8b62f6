"""`kiln inspect FILE`: what a `.keras` file, model directory, `.weights.h5` or
`.weights.json` holds, read from its config, index and HDF5 metadata only (no
weight data, no model building, no JAX).

Every kind of file is read through the loader's own checked readers: the
archive or directory rules of `_Archive`, the bounded JSON parser, `H5Reader`
(through `WeightsFile`) and, for a sharded index, `ShardIndex` and
`ShardedReader`. Inspecting a hostile file is as safe as loading it, and
fails the same way: `InvalidFileError` with a one-line message (or an
`OSError` when the path cannot be opened at all). Values taken from the file
are printed with control characters escaped, so a name cannot drive the
terminal.
"""

from __future__ import annotations

from typing import IO, Any

from kiln._src.saving import file_io
from kiln._src.saving.errors import InvalidFileError
from kiln._src.saving.h5_store import H5Reader, natural_key
from kiln._src.saving.safety import json_checks
from kiln._src.saving.safety.archive_checks import (
    CONFIG_MEMBER,
    MAX_CONFIG_BYTES,
    MAX_METADATA_BYTES,
    METADATA_MEMBER,
    WEIGHTS_MEMBER,
)
from kiln._src.saving.saving_lib import _Archive
from kiln._src.saving.weights_file import WeightInfo, WeightsFile

_ZIP_MAGIC = b"PK"
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
# Longest value taken from a file that one line shows.
_MAX_SHOWN = 200


def _format_bytes(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:,.2f} {unit}"
        count /= 1024
    return f"{count:,.2f} GB"


def _text(value: Any) -> str:
    """A value from the file as printable text: non-printable characters
    escaped (no terminal control sequences), at most `_MAX_SHOWN` long."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) > _MAX_SHOWN:
        text = text[:_MAX_SHOWN] + "..."
    if not text.isprintable():
        text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text


def _get(value: Any, *keys: str) -> Any:
    """``value[k1][k2]...`` through JSON objects only; None where a level is
    missing or not an object (a file's config may have any shape)."""
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _name_of(value: Any) -> str:
    """A class name from a serialized object or a plain string."""
    if isinstance(value, dict):
        return _text(value.get("class_name", "?"))
    return _text(value)


def _layers_of(config: dict[str, Any]) -> list[tuple[str, str]]:
    layers = _get(config, "config", "layers")
    if not isinstance(layers, list):
        return []
    rows = []
    for layer in layers:
        if isinstance(layer, dict):
            name = layer.get("name") or _get(layer, "config", "name") or "?"
            rows.append((_text(name), _text(layer.get("class_name", "?"))))
    return rows


def describe(path: str, out: IO[str]) -> None:
    """Writes what `path` holds to `out`.

    Raises:
        FileNotFoundError: nothing exists at `path`.
        InvalidFileError: the file is not one kiln reads, or breaks a rule of
            the loader's checked readers (one-line message; nothing is
            written to `out`).
    """
    if not file_io.exists(path):
        raise FileNotFoundError(f"File not found: {path}")
    lines: list[str] = []
    try:
        _describe(path, lines.append)
    except InvalidFileError as error:
        raise InvalidFileError(" ".join(str(error).split())) from None
    except MemoryError:
        raise InvalidFileError(
            f"'{path}': describing it needs more memory than this process may use."
        ) from None
    out.write("".join(line + "\n" for line in lines))


def _describe(path: str, say: Any) -> None:
    kind = _kind_of(path)
    if kind == "index":
        _describe_sharded(path, say)
    elif kind == "weights":
        _describe_weights(path, say)
    else:
        _describe_model(path, kind, say)


def _kind_of(path: str) -> str:
    """'directory', 'archive', 'weights' or 'index': from what the path is
    and its extension, and for any other name from the file's first bytes
    (read through `file_io.open_read`, so a FIFO or device is refused)."""
    if file_io.isdir(path):
        return "directory"
    if path.endswith(".json"):
        return "index"
    if path.endswith(".keras"):
        return "archive"
    if path.endswith((".h5", ".hdf5")):
        return "weights"
    with file_io.open_read(path) as file:
        start = file.read(len(_HDF5_MAGIC))
    if start.startswith(_ZIP_MAGIC):
        return "archive"
    if start == _HDF5_MAGIC:
        return "weights"
    raise InvalidFileError(
        f"'{path}' is neither a zip archive (.keras) nor an HDF5 file "
        f"(.weights.h5): it starts with {start!r}. kiln inspect reads .keras "
        "files, model directories, .weights.h5 files and .weights.json indexes."
    )


def _describe_weights(path: str, say: Any) -> None:
    with _open_weights_file(path) as weights:
        infos = weights.variables()
    say(f"{path}: weights file")
    _print_weights(infos, say)


def _open_weights_file(path: str) -> WeightsFile:
    return WeightsFile(path, H5Reader(path, f"'{path}'"), None)


def _describe_sharded(path: str, say: Any) -> None:
    from kiln._src.saving.sharded_weights import ShardIndex, iter_shard_datasets

    index = ShardIndex(path)
    rows = sorted(iter_shard_datasets(index), key=lambda row: natural_key(row[1]))
    say(f"{path}: sharded weights index ({len(index.shards)} shards)")
    total = sum(row[4] for row in rows)
    say(f"  weights ({len(rows)} arrays, {_format_bytes(total)}):")
    width = max((len(_text(row[1])) for row in rows), default=10)
    for shard, name, shape, dtype, size in rows:
        say(
            f"    {_text(name):<{width}}  {str(shape):<16} {dtype:<9} "
            f"{_format_bytes(size):<12} {_text(shard)}"
        )


def _describe_model(path: str, kind: str, say: Any) -> None:
    archive = _Archive(path)
    try:
        config = _member_json(archive, CONFIG_MEMBER, MAX_CONFIG_BYTES, required=True)
        metadata = _member_json(archive, METADATA_MEMBER, MAX_METADATA_BYTES)
        infos = None
        if archive.has_member(WEIGHTS_MEMBER):
            with WeightsFile(path, archive.weights_reader(), None) as weights:
                infos = weights.variables()
    finally:
        archive.close()
    say(f"{path}: Keras 3 model {'directory' if kind == 'directory' else 'archive'}")
    if metadata:
        version = _text(metadata.get("keras_version", "?"))
        saved = _text(metadata.get("date_saved", "?"))
        line = f"  saved by Keras format {version} on {saved}"
        if "kiln_version" in metadata:
            line += f" (kiln {_text(metadata['kiln_version'])})"
        say(line)
    model_name = _get(config, "config", "name")
    say(
        f"  model: {_text(config.get('class_name', '?'))} "
        f'"{_text("?" if model_name is None else model_name)}"'
    )
    compile_config = config.get("compile_config")
    if isinstance(compile_config, dict) and compile_config:
        optimizer = _name_of(compile_config.get("optimizer"))
        loss = _text(compile_config.get("loss"))
        say(f"  compiled: optimizer={optimizer}, loss={loss}")
    layers = _layers_of(config)
    if layers:
        say(f"  layers ({len(layers)}):")
        for name, class_name in layers:
            say(f"    {name} ({class_name})")
    if infos is not None:
        _print_weights(infos, say)


def _member_json(
    archive: _Archive, name: str, limit: int, required: bool = False
) -> dict[str, Any]:
    if not archive.has_member(name):
        if required:  # as load_model: a model without its config is no model
            raise InvalidFileError(
                f"'{archive.path}' has no {name}, so it is not a complete Keras 3 "
                f"model (a model's {name} describes its layers). Point kiln "
                "inspect at a saved .keras file or model directory."
            )
        return {}
    where = f"'{archive.path}' member '{name}'"
    # The top level must be an object (the parser refuses anything else).
    return json_checks.load_json(archive.read_member(name, limit), where)


def _print_weights(infos: list[WeightInfo], say: Any) -> None:
    total = sum(info.nbytes for info in infos)
    say(f"  weights ({len(infos)} arrays, {_format_bytes(total)}):")
    width = max((len(_text(info.path)) for info in infos), default=10)
    for info in infos:
        say(
            f"    {_text(info.path):<{width}}  {str(info.shape):<16} "
            f"{info.dtype:<9} {_format_bytes(info.nbytes)}"
        )
