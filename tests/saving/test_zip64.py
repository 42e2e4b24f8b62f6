"""Archives over 4 GiB: kiln saves them with standard ZIP64 records and loads
them back, and loads the ones Python's `zipfile` (what Keras uses) writes.

The model is one Embedding of 4.1 GiB of float32 zeros with two marked rows,
the last one stored past the 4 GiB offset. Zeros are cheap: the array is
`np.zeros` (pages the kernel never materializes until written), adopted by
the variable without a copy, so only the load allocates the weights' size.
"""

from __future__ import annotations

import gc
import os
import shutil
import struct
import zipfile

import numpy as np
import pytest

import kiln
from kiln._src.saving.zip_reader import ZipLimits, read_directory

pytestmark = pytest.mark.slow

_ROWS, _WIDTH = 1_100_000, 1000  # 4.4e9 bytes of float32
_FOUR_GIB = 1 << 32


def _marked_rows(value: np.ndarray) -> None:
    value[0] = np.arange(_WIDTH, dtype="float32")
    value[-1] = -np.arange(_WIDTH, dtype="float32")


def _check_loaded(model) -> None:
    table = np.asarray(model.layers[0].embeddings.value)
    expected = np.zeros((2, _WIDTH), "float32")
    _marked_rows(expected)
    np.testing.assert_array_equal(table[[0, -1]], expected)
    assert not table[1:-1:997].any()  # a sample of the zero rows
    x = np.array([[0], [_ROWS - 1], [7]], "int32")
    output = np.asarray(model(x))
    rows = np.stack([expected[0], expected[1], np.zeros(_WIDTH, "float32")])
    np.testing.assert_array_equal(output[:, 0], rows)


def _end_records(path: str) -> tuple[int, ...]:
    with open(path, "rb") as file:
        file.seek(-22, os.SEEK_END)
        return struct.unpack("<IHHHHIIH", file.read(22))


@pytest.fixture
def big_dir(tmp_path):
    directory = tmp_path / "big"
    directory.mkdir()
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def test_models_over_4_gib_round_trip_through_zip64(big_dir):
    layer = kiln.layers.Embedding(_ROWS, _WIDTH, embeddings_initializer="zeros")
    model = kiln.Sequential([kiln.Input((1,), dtype="int32"), layer])
    value = np.zeros((_ROWS, _WIDTH), "float32")
    _marked_rows(value)
    layer.embeddings.assign(value)
    path = str(big_dir / "big.keras")
    model.save(path)
    del model, layer, value
    gc.collect()
    assert os.path.getsize(path) > _FOUR_GIB
    end = _end_records(path)
    assert end[4] == 0xFFFF and end[6] == 0xFFFFFFFF  # ZIP64 end records
    with open(path, "rb") as file:
        entry = read_directory(
            file, os.path.getsize(path), ZipLimits(10, 10_000, 0)
        ).get("model.weights.h5")
    assert entry.file_size > _FOUR_GIB
    loaded = kiln.saving.load_model(path)
    _check_loaded(loaded)
    del loaded
    gc.collect()

    # The same members rewritten by Python's zipfile, which writes ZIP64
    # records its own way (sizes over 2 GiB in ZIP64 fields, real values in
    # the end record where they fit).
    python_path = str(big_dir / "python.keras")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(python_path, "w") as out:
        for info in source.infolist():
            with (
                source.open(info) as src,
                out.open(info.filename, "w", force_zip64=info.file_size > 2**31) as dst,
            ):
                shutil.copyfileobj(src, dst, 16 << 20)
    os.remove(path)
    assert os.path.getsize(python_path) > _FOUR_GIB
    loaded = kiln.saving.load_model(python_path)
    _check_loaded(loaded)
