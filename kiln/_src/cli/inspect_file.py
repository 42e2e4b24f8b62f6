"""`kiln inspect FILE`: what a `.keras`, `.weights.h5` or `.weights.json` holds,
read from its config, index and HDF5 metadata only (no weight data, no model
building, no JAX)."""

from __future__ import annotations

import zipfile
from typing import IO, Any

from kiln._src.saving import file_io
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


def _format_bytes(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:,.2f} {unit}"
        count /= 1024
    return f"{count:,.2f} GB"


def _layers_of(config: dict[str, Any]) -> list[tuple[str, str]]:
    inner = config.get("config", {})
    layers = inner.get("layers") if isinstance(inner, dict) else None
    if not isinstance(layers, list):
        return []
    rows = []
    for layer in layers:
        if isinstance(layer, dict):
            name = layer.get("name") or layer.get("config", {}).get("name", "?")
            rows.append((str(name), str(layer.get("class_name", "?"))))
    return rows


def _describe_sharded(path: str, say: Any) -> None:
    from kiln._src.saving.sharded_weights import ShardIndex, iter_shard_datasets

    index = ShardIndex(path)
    say(f"{path}: sharded weights index ({len(index.shards)} shards)")
    rows = sorted(iter_shard_datasets(index), key=lambda row: natural_key(row[1]))
    total = sum(row[4] for row in rows)
    say(f"  weights ({len(rows)} arrays, {_format_bytes(total)}):")
    width = max((len(row[1]) for row in rows), default=10)
    for shard, name, shape, dtype, size in rows:
        say(
            f"    {name:<{width}}  {str(shape):<16} {dtype:<9} "
            f"{_format_bytes(size):<12} {shard}"
        )


def describe(path: str, out: IO[str]) -> None:
    """Writes what `path` holds to `out`. The file is read through the
    loader's own checked readers (bounded JSON, archive and HDF5 rules), so
    inspecting a hostile file is as safe as loading it."""

    def say(line: str = "") -> None:
        out.write(line + "\n")

    if path.endswith(".json"):
        _describe_sharded(path, say)
        return
    if not (file_io.isdir(path) or _is_zip(path)):
        with WeightsFile(path, H5Reader(path, f"'{path}'"), None) as weights:
            say(f"{path}: weights file")
            _print_weights(weights.variables(), say)
        return
    archive = _Archive(path)
    try:
        config = _member_json(archive, CONFIG_MEMBER, MAX_CONFIG_BYTES)
        metadata = _member_json(archive, METADATA_MEMBER, MAX_METADATA_BYTES)
        kind = "directory" if file_io.isdir(path) else "archive"
        say(f"{path}: Keras 3 model {kind}")
        if metadata:
            say(
                f"  saved by Keras format {metadata.get('keras_version', '?')}"
                f" on {metadata.get('date_saved', '?')}"
                + (
                    f" (kiln {metadata['kiln_version']})"
                    if "kiln_version" in metadata
                    else ""
                )
            )
        model_name = config.get("config", {}).get("name", "?")
        say(f'  model: {config.get("class_name", "?")} "{model_name}"')
        compile_config = config.get("compile_config") or {}
        if compile_config:
            optimizer = compile_config.get("optimizer", {})
            optimizer_name = optimizer.get("class_name", optimizer)
            loss = compile_config.get("loss")
            say(f"  compiled: optimizer={optimizer_name}, loss={loss}")
        layers = _layers_of(config)
        if layers:
            say(f"  layers ({len(layers)}):")
            for name, class_name in layers:
                say(f"    {name} ({class_name})")
        if archive.has_member(WEIGHTS_MEMBER):
            reader = archive.weights_reader()
            with WeightsFile(path, reader, None) as weights:
                _print_weights(weights.variables(), say)
    finally:
        archive.close()


def _is_zip(path: str) -> bool:
    with file_io.open_read(path) as file:
        return zipfile.is_zipfile(file)


def _member_json(archive: _Archive, name: str, limit: int) -> dict[str, Any]:
    if not archive.has_member(name):
        return {}
    where = f"'{archive.path}' member '{name}'"
    parsed = json_checks.load_json(archive.read_member(name, limit), where)
    return parsed if isinstance(parsed, dict) else {}


def _print_weights(infos: list[WeightInfo], say: Any) -> None:
    total = sum(info.nbytes for info in infos)
    say(f"  weights ({len(infos)} arrays, {_format_bytes(total)}):")
    width = max((len(info.path) for info in infos), default=10)
    for info in infos:
        say(
            f"    {info.path:<{width}}  {str(info.shape):<16} {info.dtype:<9} "
            f"{_format_bytes(info.nbytes)}"
        )
