"""Saving the same model twice gives the same bytes (only metadata.json's
timestamp may differ), so files can be hashed, diffed and cached."""

import json
import time
import zipfile

import numpy as np

import kiln
from kiln import layers


def _trained_model():
    a, b = kiln.Input((4,), name="a"), kiln.Input((4,), name="b")
    shared = layers.Dense(3, name="shared")
    merged = layers.Concatenate()([shared(a), shared(b)])
    outputs = layers.Dense(2, name="out")(layers.BatchNormalization()(merged))
    model = kiln.Model([a, b], outputs)
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(0)
    x = [rng.normal(size=(8, 4)).astype("float32") for _ in range(2)]
    model.fit(x, rng.normal(size=(8, 2)), epochs=2, verbose=0)
    return model


def _members(path):
    with zipfile.ZipFile(path) as archive:
        return [(info.filename, archive.read(info)) for info in archive.infolist()]


def test_same_model_saves_to_the_same_bytes(tmp_path):
    model = _trained_model()
    model.save(tmp_path / "first.keras")
    time.sleep(1.1)  # a different second in metadata.json
    model.save(tmp_path / "second.keras")
    first, second = (
        _members(tmp_path / "first.keras"),
        _members(tmp_path / "second.keras"),
    )
    assert [name for name, _ in first] == [
        "metadata.json",
        "config.json",
        "model.weights.h5",
    ]
    assert [name for name, _ in second] == [name for name, _ in first]
    assert first[1] == second[1]  # config.json
    assert first[2] == second[2]  # model.weights.h5
    metadata = [json.loads(data) for _, data in (first[0], second[0])]
    assert metadata[0]["date_saved"] != metadata[1]["date_saved"]
    for entry in metadata:
        del entry["date_saved"]
    assert metadata[0] == metadata[1]


def test_same_model_saves_the_same_weights_file(tmp_path):
    model = _trained_model()
    model.save_weights(tmp_path / "first.weights.h5")
    time.sleep(1.1)
    model.save_weights(tmp_path / "second.weights.h5")
    first = (tmp_path / "first.weights.h5").read_bytes()
    assert first == (tmp_path / "second.weights.h5").read_bytes()
    # The same bytes as the weights member of a `.keras` file.
    model.save(tmp_path / "model.keras")
    assert dict(_members(tmp_path / "model.keras"))["model.weights.h5"] == first


def test_reloaded_model_saves_to_the_same_bytes(tmp_path):
    model = _trained_model()
    model.save(tmp_path / "first.keras")
    kiln.models.load_model(tmp_path / "first.keras").save(tmp_path / "again.keras")
    first, again = (
        _members(tmp_path / "first.keras"),
        _members(tmp_path / "again.keras"),
    )
    assert first[1:] == again[1:]
