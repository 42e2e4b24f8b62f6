"""`kiln inspect FILE`: what a `.keras`, `.weights.h5` or `.weights.json` holds,
read from its config, index and HDF5 metadata only (no weight data, no model
building, no JAX)."""

from __future__ import annotations

import json
import zipfile
from typing import IO, Any

import h5py
import numpy as np

from kiln._src.saving.zip_archive import stored_member_window


def _format_bytes(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:,.2f} {unit}"
        count /= 1024
    return f"{count:,.2f} GB"


def _weights_table(h5: h5py.File) -> list[tuple[str, tuple[int, ...], str, int]]:
    rows: list[tuple[str, tuple[int, ...], str, int]] = []

    def visit(name: str, obj: Any) -> None:
        if isinstance(obj, h5py.Dataset):
            dtype = obj.attrs.get("dtype") if obj.dtype.kind == "V" else None
            dtype_name = str(dtype) if dtype else np.dtype(obj.dtype).name
            size = int(np.prod(obj.shape, dtype=np.int64)) * obj.dtype.itemsize
            rows.append((name, tuple(obj.shape), dtype_name, size))

    h5.visititems(visit)
    # Numeric order within a group: vars/2 before vars/10.
    return sorted(rows, key=lambda row: _natural_key(row[0]))


def _natural_key(path: str) -> list[Any]:
    return [
        (0, int(part), "") if part.isdigit() else (1, 0, part)
        for part in path.split("/")
    ]


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
    rows = sorted(iter_shard_datasets(index), key=lambda row: _natural_key(row[1]))
    total = sum(row[4] for row in rows)
    say(f"  weights ({len(rows)} arrays, {_format_bytes(total)}):")
    width = max((len(row[1]) for row in rows), default=10)
    for shard, name, shape, dtype, size in rows:
        say(
            f"    {name:<{width}}  {str(shape):<16} {dtype:<9} "
            f"{_format_bytes(size):<12} {shard}"
        )


def describe(path: str, out: IO[str]) -> None:
    def say(line: str = "") -> None:
        out.write(line + "\n")

    if path.endswith(".json"):
        _describe_sharded(path, say)
        return
    with open(path, "rb") as file:
        if zipfile.is_zipfile(file):
            file.seek(0)
            with zipfile.ZipFile(file) as archive:
                names = archive.namelist()
                config = (
                    json.loads(archive.read("config.json"))
                    if "config.json" in names
                    else {}
                )
                metadata = (
                    json.loads(archive.read("metadata.json"))
                    if "metadata.json" in names
                    else {}
                )
                say(f"{path}: Keras 3 model archive ({len(names)} members)")
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
                if "model.weights.h5" in names:
                    info = archive.getinfo("model.weights.h5")
                    source: Any = (
                        stored_member_window(file, archive, info)
                        if info.compress_type == zipfile.ZIP_STORED
                        else archive.open(info)
                    )
                    with h5py.File(source, "r") as h5:
                        _print_weights(h5, say)
            return
    with h5py.File(path, "r") as h5:
        say(f"{path}: weights file")
        _print_weights(h5, say)


def _print_weights(h5: h5py.File, say: Any) -> None:
    rows = _weights_table(h5)
    total = sum(row[3] for row in rows)
    say(f"  weights ({len(rows)} arrays, {_format_bytes(total)}):")
    width = max((len(row[0]) for row in rows), default=10)
    for name, shape, dtype, size in rows:
        say(f"    {name:<{width}}  {str(shape):<16} {dtype:<9} {_format_bytes(size)}")
