"""Lazy reading (`open_weights`) and partial loading (`load_weights_subset`),
on real files saved by kiln, by real Keras, and hand-made with h5py."""

import pathlib
import zipfile

import h5py
import ml_dtypes
import numpy as np
import pytest

import kiln
from kiln._src.saving.errors import InvalidFileError
from kiln._src.saving.h5_store import H5Writer
from kiln._src.saving.weights_file import (
    LoadReport,
    WeightInfo,
    load_weights_subset,
    open_weights,
)

DENSE_PATHS = [
    "layers/dense/vars/0",
    "layers/dense/vars/1",
    "layers/dense_1/vars/0",
    "layers/dense_1/vars/1",
]


def _model(second_units=2):
    inputs = kiln.Input((4,))
    hidden = kiln.layers.Dense(3)(inputs)
    return kiln.Model(inputs, kiln.layers.Dense(second_units)(hidden))


def _values(model):
    return [np.asarray(variable.value) for variable in model.weights]


@pytest.fixture
def saved(tmp_path):
    """One model saved in all three forms."""
    model = _model()
    paths = {
        "zip": str(tmp_path / "m.keras"),
        "directory": str(tmp_path / "m_dir"),
        "weights": str(tmp_path / "m.weights.h5"),
    }
    model.save(paths["zip"])
    model.save(paths["directory"], zipped=False)
    model.save_weights(paths["weights"])
    return model, paths


def _hand_made(path, build):
    with h5py.File(path, "w") as h5:
        h5.create_dataset("layers/dense/vars/0", data=np.ones((2, 2), "float32"))
        build(h5)
    return str(path)


# -- open_weights ----------------------------------------------------------------


@pytest.mark.parametrize("form", ["zip", "directory", "weights"])
def test_lists_and_reads_every_form(saved, form):
    model, paths = saved
    with open_weights(paths[form]) as weights:
        infos = weights.variables()
        assert [info.path for info in infos] == DENSE_PATHS
        assert infos[0] == WeightInfo("layers/dense/vars/0", (4, 3), "float32", 48)
        assert infos[3] == WeightInfo("layers/dense_1/vars/1", (2,), "float32", 8)
        for info, expected in zip(infos, _values(model), strict=True):
            read = weights.read(info.path)
            assert read.dtype == np.float32 and read.nbytes == info.nbytes
            np.testing.assert_array_equal(read, expected)
        assert "layers/dense/vars/0" in weights
        assert "/layers/dense/vars/0" in weights  # a leading slash is allowed
        assert "layers/dense/vars/7" not in weights and 3 not in weights


def test_reads_a_file_saved_by_real_keras(tmp_path):
    import keras

    model = keras.Sequential(
        [keras.Input((5,)), keras.layers.Dense(4), keras.layers.Dense(1)]
    )
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((4, 5)), np.ones((4, 1)), verbose=0)
    path = str(tmp_path / "keras.keras")
    model.save(path)
    with zipfile.ZipFile(path) as archive, archive.open("model.weights.h5") as raw:
        with h5py.File(raw, "r") as h5:
            expected = {}
            h5.visititems(
                lambda name, obj: (
                    expected.__setitem__(name, obj[()])
                    if isinstance(obj, h5py.Dataset)
                    else None
                )
            )
    with open_weights(path) as weights:
        listed = {info.path: info for info in weights.variables()}
        assert set(listed) == set(expected)
        assert "optimizer/vars/0" in listed  # the iteration counter
        for name, value in expected.items():
            assert listed[name].shape == np.shape(value)
            np.testing.assert_array_equal(weights.read(name), value)


def test_bfloat16_and_scalars_are_listed_and_read(tmp_path):
    path = str(tmp_path / "b.weights.h5")
    writer = H5Writer(path)
    value = np.array([1.5, -2.0], dtype=ml_dtypes.bfloat16)
    writer.write("layers/dense/vars", "dense", [value, np.int64(7)])
    writer.close()
    with open_weights(path) as weights:
        assert weights.variables() == [
            WeightInfo("layers/dense/vars/0", (2,), "bfloat16", 4),
            WeightInfo("layers/dense/vars/1", (), "int64", 8),
        ]
        read = weights.read("layers/dense/vars/0")
        assert read.dtype == ml_dtypes.bfloat16
        np.testing.assert_array_equal(read.astype("float32"), [1.5, -2.0])
        assert weights.read("layers/dense/vars/1") == 7


def test_variables_are_in_natural_order(tmp_path):
    path = str(tmp_path / "n.weights.h5")
    writer = H5Writer(path)
    writer.write("layers/dense/vars", "d", [np.float32(i) for i in range(12)])
    writer.close()
    with open_weights(path) as weights:
        listed = [info.path.rsplit("/", 1)[1] for info in weights.variables()]
    assert listed == [str(i) for i in range(12)]


def test_unknown_path_is_a_key_error_with_close_matches(saved):
    _, paths = saved
    with open_weights(paths["zip"]) as weights:
        with pytest.raises(KeyError, match="Close matches.*layers/dense/vars/0"):
            weights.read("layers/dense/var/0")
        with pytest.raises(TypeError, match="must be a string"):
            weights.read(0)
    with pytest.raises(ValueError, match="is closed"):
        weights.read("layers/dense/vars/0")


def test_path_errors(tmp_path, saved):
    with pytest.raises(ValueError, match="Received: filepath=.*model.h5"):
        open_weights(str(tmp_path / "model.h5"))
    with pytest.raises(FileNotFoundError, match="nope.keras"):
        open_weights(str(tmp_path / "nope.keras"))
    junk = tmp_path / "junk.keras"
    junk.write_bytes(b"not a zip at all" * 10)
    with pytest.raises(InvalidFileError, match="junk.keras"):
        open_weights(str(junk))
    bad_h5 = tmp_path / "junk.weights.h5"
    bad_h5.write_bytes(b"not hdf5" * 10)
    with pytest.raises(InvalidFileError, match="junk.weights.h5"):
        open_weights(str(bad_h5))


def test_deflated_member_is_read_too(saved, tmp_path):
    model, paths = saved
    deflated = str(tmp_path / "deflated.keras")
    with zipfile.ZipFile(paths["zip"]) as source:
        with zipfile.ZipFile(deflated, "w", zipfile.ZIP_DEFLATED) as target:
            for name in source.namelist():
                target.writestr(name, source.read(name))
    with open_weights(deflated) as weights:
        np.testing.assert_array_equal(
            weights.read("layers/dense_1/vars/0"), _values(model)[2]
        )


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda h5: h5.__setitem__("layers/soft", h5py.SoftLink("/layers/dense")),
         "group 'layers/soft' is a SoftLink; only hard links"),
        (lambda h5: h5.__setitem__("ext", h5py.ExternalLink("other.h5", "/x")),
         "group 'ext' is a ExternalLink; only hard links"),
        (lambda h5: h5.__setitem__("layers/dense/loop", h5["layers"]),
         "group 'layers' is hard-linked from 2 places"),
        (lambda h5: h5.create_dataset("stray", data=np.zeros(2)),
         "dataset 'stray' sits at the file's root"),
        (lambda h5: h5.create_dataset("layers/s/vars/0", data=b"text"),
         "not numeric"),
        # Never written, so nothing stored: 4 TiB declared, 0 bytes stored.
        (lambda h5: h5.create_dataset(
            "layers/bomb/vars/0", shape=(1 << 20, 1 << 20), dtype="f4"),
         "dataset 'layers/bomb/vars/0' declares shape"),
        (lambda h5: h5.create_dataset(
            "layers/bomb/vars/0", shape=(1 << 20, 1 << 20), dtype="f4",
            chunks=(1, 1024), compression="gzip"),
         "dataset 'layers/bomb/vars/0'"),
    ],
    ids=[
        "soft_link", "external_link", "cycle", "root_dataset", "string", "bomb",
        "gzip_bomb",
    ],
)  # fmt: skip
def test_hostile_files_are_refused_naming_the_path(tmp_path, build, message):
    path = _hand_made(tmp_path / "h.weights.h5", build)
    with open_weights(path) as weights:
        with pytest.raises(InvalidFileError, match=message):
            weights.variables()


def test_external_storage_dataset_is_refused(tmp_path):
    raw = tmp_path / "raw.bin"
    raw.write_bytes(np.ones(4, "float32").tobytes())

    def build(h5):
        h5.create_dataset(
            "layers/x/vars/0", shape=(4,), dtype="f4", external=[(str(raw), 0, 16)]
        )

    path = _hand_made(tmp_path / "e.weights.h5", build)
    with open_weights(path) as weights:
        with pytest.raises(InvalidFileError, match="external file"):
            weights.variables()


# -- load_weights_subset ---------------------------------------------------------


@pytest.mark.parametrize("form", ["zip", "directory", "weights"])
def test_subset_loads_all_present_variables(saved, form):
    model, paths = saved
    target = _model()
    report = load_weights_subset(target, paths[form])
    assert report == LoadReport(loaded=DENSE_PATHS, missing=[], unexpected=[])
    for got, expected in zip(_values(target), _values(model), strict=True):
        np.testing.assert_array_equal(got, expected)


def test_subset_reports_missing_and_unexpected(saved):
    model, paths = saved
    inputs = kiln.Input((4,))
    hidden = kiln.layers.Dense(3)(inputs)
    extra = kiln.layers.Dense(6)(kiln.layers.Dense(2)(hidden))  # third Dense
    bigger = kiln.Model(inputs, extra)
    report = load_weights_subset(bigger, paths["zip"])
    assert report.loaded == DENSE_PATHS
    assert report.missing == ["layers/dense_2/vars/0", "layers/dense_2/vars/1"]
    assert report.unexpected == []
    smaller = kiln.Model(inputs, kiln.layers.Dense(3)(inputs))
    report = load_weights_subset(smaller, paths["zip"])
    assert report.loaded == DENSE_PATHS[:2] and report.missing == []
    assert report.unexpected == DENSE_PATHS[2:]
    np.testing.assert_array_equal(_values(smaller)[0], _values(model)[0])


def test_subset_loads_only_requested_paths(saved):
    model, paths = saved
    target = _model()
    before = _values(target)
    report = load_weights_subset(target, paths["weights"], paths=[DENSE_PATHS[2]])
    assert report.loaded == [DENSE_PATHS[2]]
    after = _values(target)
    np.testing.assert_array_equal(after[2], _values(model)[2])
    for index in (0, 1, 3):
        np.testing.assert_array_equal(after[index], before[index])


def test_subset_request_errors(saved):
    _, paths = saved
    target = _model()
    with pytest.raises(ValueError, match="names no variable of model.*dense/vars/0"):
        load_weights_subset(target, paths["zip"], paths=["layers/dense/vars/9"])
    with pytest.raises(TypeError, match="not one string"):
        load_weights_subset(target, paths["zip"], paths="layers/dense/vars/0")
    unbuilt = kiln.Sequential([kiln.layers.Dense(2)])
    with pytest.raises(ValueError, match="must be built"):
        load_weights_subset(unbuilt, paths["zip"])


def test_subset_requested_path_absent_from_file_is_a_key_error(saved):
    _, paths = saved
    inputs = kiln.Input((4,))
    bigger = kiln.Model(
        inputs, kiln.layers.Dense(1)(kiln.layers.Dense(2)(kiln.layers.Dense(3)(inputs)))
    )
    with pytest.raises(KeyError, match="no variable at 'layers/dense_2/vars/0'"):
        load_weights_subset(bigger, paths["zip"], paths=["layers/dense_2/vars/0"])


def test_subset_shape_mismatch_assigns_nothing(saved):
    model, paths = saved
    target = _model(second_units=5)
    before = _values(target)
    with pytest.raises(InvalidFileError, match="'layers/dense_1/vars/0'.*Nothing"):
        load_weights_subset(target, paths["zip"])
    for got, expected in zip(_values(target), before, strict=True):
        np.testing.assert_array_equal(got, expected)  # dense/vars/0 untouched
    report = load_weights_subset(target, paths["zip"], skip_mismatch=True)
    assert report.loaded == DENSE_PATHS[:2]
    assert report.mismatched == DENSE_PATHS[2:]
    np.testing.assert_array_equal(_values(target)[0], _values(model)[0])


def test_subset_from_an_open_weights_file_leaves_it_open(saved):
    model, paths = saved
    with open_weights(paths["zip"]) as weights:
        report = load_weights_subset(_model(), weights)
        assert report.loaded == DENSE_PATHS
        np.testing.assert_array_equal(weights.read(DENSE_PATHS[0]), _values(model)[0])


def test_public_names_are_exported_from_kiln_saving():
    names = ("open_weights", "load_weights_subset", "WeightInfo", "LoadReport")
    for name in names + ("WeightsFile",):
        assert getattr(kiln.saving, name).__module__.endswith("weights_file")


def test_accepts_path_like(saved):
    _, paths = saved
    with open_weights(pathlib.Path(paths["weights"])) as weights:
        assert len(weights.variables()) == 4


# -- bytes the file does not hold ------------------------------------------------


def _unallocated(h5):
    # 64 MiB declared, under the 4 GiB shape-bomb threshold, never written.
    h5.create_dataset("layers/dense/vars/1", shape=(4096, 4096), dtype="f4")


@pytest.mark.parametrize("form", ["zip", "weights"])
def test_unallocated_dataset_is_refused_before_reading(tmp_path, form):
    path = _hand_made(tmp_path / "u.weights.h5", _unallocated)
    if form == "zip":
        archive = tmp_path / "u.keras"
        with zipfile.ZipFile(archive, "w") as out:
            out.writestr("metadata.json", "{}")
            out.writestr("config.json", "{}")
            out.write(path, "model.weights.h5")
        path = str(archive)
    with open_weights(path) as weights:
        with pytest.raises(InvalidFileError, match="'layers/dense/vars/1' declares"):
            weights.read("layers/dense/vars/1")
        with pytest.raises(InvalidFileError, match="'layers/dense/vars/1' declares"):
            weights.variables()


def test_unallocated_dataset_is_refused_by_load_weights_subset(tmp_path):
    model = kiln.Sequential([kiln.Input((2,)), kiln.layers.Dense(2, name="dense")])
    before = _values(model)

    def build(h5):
        h5.create_dataset("layers/dense/vars/1", shape=(2,), dtype="f4")  # unwritten

    path = tmp_path / "s.weights.h5"
    with h5py.File(path, "w") as h5:
        h5.create_dataset("layers/dense/vars/0", data=np.ones((2, 2), "float32"))
        build(h5)
    with pytest.raises(InvalidFileError, match="'layers/dense/vars/1' declares 8"):
        load_weights_subset(model, str(path), ["layers/dense/vars/1"])
    for old, new in zip(before, _values(model), strict=True):
        np.testing.assert_array_equal(old, new)  # nothing assigned
    # The twin: the same file with the bytes written loads.
    with h5py.File(path, "a") as h5:
        h5["layers/dense/vars/1"][...] = [3.0, 4.0]
    report = load_weights_subset(model, str(path), ["layers/dense/vars/1"])
    assert report.loaded == ["layers/dense/vars/1"]
    np.testing.assert_array_equal(_values(model)[1], [3.0, 4.0])
