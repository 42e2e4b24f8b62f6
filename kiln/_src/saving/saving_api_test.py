"""Paths, extensions, overwrite rules and the errors for bad files, on real
files."""

import os
import pathlib
import warnings
import zipfile

import numpy as np
import pytest

import kiln
from kiln._src.saving.errors import InvalidFileError


def _model(units=2, inputs=3, use_bias=True):
    return kiln.Sequential(
        [kiln.Input((inputs,)), kiln.layers.Dense(units, use_bias=use_bias)]
    )


@pytest.fixture
def saved(tmp_path):
    """A good `.keras` file and a good `.weights.h5` file."""
    model = _model()
    model.save(tmp_path / "good.keras")
    model.save_weights(tmp_path / "good.weights.h5")
    return model, tmp_path


# -- saving: paths and extensions ----------------------------------------------------


@pytest.mark.parametrize("name", ["model", "model.zip", "model.keras.tmp"])
def test_zipped_save_requires_the_keras_extension(tmp_path, name):
    with pytest.raises(ValueError, match="`.keras`"):
        _model().save(tmp_path / name)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("name", ["model.h5", "model.hdf5"])
def test_legacy_h5_is_refused_with_a_pointer_to_keras(tmp_path, name):
    with pytest.raises(ValueError, match="'.keras'"):
        _model().save(tmp_path / name)


def test_unzipped_directory(tmp_path):
    model = _model()
    model.save(tmp_path / "saved", zipped=False)
    assert sorted(os.listdir(tmp_path / "saved")) == [
        "config.json",
        "metadata.json",
        "model.weights.h5",
    ]
    # Only the model directory remains: no staging directory is left behind.
    assert os.listdir(tmp_path) == ["saved"]
    loaded = kiln.models.load_model(tmp_path / "saved")
    x = np.ones((2, 3), "float32")
    np.testing.assert_array_equal(loaded(x), model(x))
    model.save(tmp_path / "saved", zipped=False)  # overwrite=True replaces it
    with pytest.raises(FileExistsError, match="overwrite=False"):
        model.save(tmp_path / "saved", zipped=False, overwrite=False)


def test_unzipped_directory_must_not_end_in_keras(tmp_path):
    with pytest.raises(ValueError, match="must not end in '.keras'"):
        _model().save(tmp_path / "saved.keras", zipped=False)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("name", ["w.h5", "w.weights", "w.keras", "weights.json"])
def test_save_weights_requires_weights_h5(tmp_path, name):
    with pytest.raises(ValueError, match="`.weights.h5`"):
        _model().save_weights(tmp_path / name)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("kind", ["save", "save_weights"])
def test_overwrite_false_refuses_and_leaves_the_file_intact(saved, kind):
    _, directory = saved
    path = directory / ("good.keras" if kind == "save" else "good.weights.h5")
    before = path.read_bytes()
    other = _model(units=5)
    with pytest.raises(FileExistsError, match="already exists and overwrite=False"):
        getattr(other, kind)(path, overwrite=False)
    assert path.read_bytes() == before


def test_save_weights_on_an_unbuilt_model(tmp_path):
    model = kiln.Sequential([kiln.layers.Dense(2)])
    with pytest.raises(ValueError, match="has not been built"):
        model.save_weights(tmp_path / "w.weights.h5")
    assert os.listdir(tmp_path) == []


def test_save_model_argument_errors(tmp_path):
    with pytest.raises(TypeError, match="expects a kiln Model"):
        kiln.saving.save_model(kiln.layers.Dense(2), tmp_path / "a.keras")
    with pytest.raises(ValueError, match="unexpected keyword arguments"):
        kiln.saving.save_model(_model(), tmp_path / "a.keras", include_optimizer=False)
    with pytest.raises(TypeError, match="Expected a file path"):
        _model().save(42)


def test_path_objects_are_accepted(tmp_path):
    model = _model()
    model.save(pathlib.Path(tmp_path) / "p.keras")
    kiln.models.load_model(pathlib.Path(tmp_path) / "p.keras")
    model.save_weights(pathlib.Path(tmp_path) / "p.weights.h5")
    model.load_weights(pathlib.Path(tmp_path) / "p.weights.h5")


# -- loading: missing and bad files --------------------------------------------------


def test_loading_a_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="File not found"):
        kiln.models.load_model(tmp_path / "missing.keras")
    with pytest.raises(FileNotFoundError, match="File not found"):
        _model().load_weights(tmp_path / "missing.weights.h5")


def _assert_not_a_zip(error):
    message = str(error.value)
    assert "not a valid .keras file" in message
    assert "not a readable zip" in message
    assert "not found" not in message.lower()


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"this is a text file, not a zip",
        b"\x89HDF\r\n\x1a\n" + b"\0" * 100,  # an HDF5 header
    ],
    ids=["empty", "text", "hdf5"],
)
def test_a_keras_file_that_is_not_a_zip(tmp_path, content):
    path = tmp_path / "bad.keras"
    path.write_bytes(content)
    with pytest.raises(InvalidFileError) as error:
        kiln.models.load_model(path)
    _assert_not_a_zip(error)
    assert isinstance(error.value, ValueError)  # what Keras users catch
    assert f"{len(content)}-byte file" in str(error.value)


@pytest.mark.parametrize("keep", [0.5, 0.99], ids=["half", "tail_missing"])
def test_a_truncated_keras_file(saved, keep):
    _, directory = saved
    data = (directory / "good.keras").read_bytes()
    path = directory / "truncated.keras"
    path.write_bytes(data[: int(len(data) * keep)])
    for load in (kiln.models.load_model, _model().load_weights):
        with pytest.raises(InvalidFileError) as error:
            load(path)
        _assert_not_a_zip(error)


def test_a_keras_zip_without_config(tmp_path):
    path = tmp_path / "partial.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", "{}")
    with pytest.raises(InvalidFileError, match="has no member 'config.json'"):
        kiln.models.load_model(path)


def test_a_keras_zip_with_corrupt_weights(saved):
    _, directory = saved
    with zipfile.ZipFile(directory / "good.keras") as archive:
        config = archive.read("config.json")
    path = directory / "corrupt.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", config)
        archive.writestr("model.weights.h5", b"garbage" * 50)
    with pytest.raises(InvalidFileError, match="not a readable HDF5 file"):
        kiln.models.load_model(path)


# A 64x64 kernel (16 KiB) is checksummed by reading it again; a 256x256 one
# (256 KiB) from the bytes read for the variable itself.
@pytest.mark.parametrize("units", [64, 256], ids=["small-kernel", "large-kernel"])
def test_a_damaged_weights_member_is_caught_by_its_checksum(tmp_path, units):
    model = kiln.Sequential([kiln.Input((units,)), kiln.layers.Dense(units)])
    model.save(tmp_path / "model.keras")
    before = [np.asarray(w) for w in model.weights]
    raw = bytearray((tmp_path / "model.keras").read_bytes())
    kernel = np.asarray(model.layers[0].kernel.value).tobytes()
    raw[bytes(raw).index(kernel[:64]) + 100] ^= 0xFF  # one bit-rotten byte
    (tmp_path / "damaged.keras").write_bytes(bytes(raw))
    for load in (kiln.models.load_model, model.load_weights):
        with pytest.raises(InvalidFileError) as error:
            load(tmp_path / "damaged.keras")
        message = str(error.value)
        assert "'model.weights.h5'" in message and "corrupt" in message
        assert "Bad CRC-32" in message
    for weight, value in zip(model.weights, before, strict=True):
        np.testing.assert_array_equal(np.asarray(weight), value)  # unchanged


def test_a_damaged_config_member_is_an_invalid_file(saved):
    _, directory = saved
    raw = bytearray((directory / "good.keras").read_bytes())
    raw[bytes(raw).index(b'"class_name": "Sequential"') + 3] ^= 0x20
    (directory / "damaged.keras").write_bytes(bytes(raw))
    with pytest.raises(InvalidFileError, match="'config.json' .* is corrupt"):
        kiln.models.load_model(directory / "damaged.keras")


def test_a_hand_made_deflated_archive_loads(saved):
    model, directory = saved
    with zipfile.ZipFile(directory / "good.keras") as source:
        members = {n: source.read(n) for n in ("config.json", "model.weights.h5")}
    path = directory / "deflated.keras"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():  # no metadata.json: it is optional
            archive.writestr(name, data)
    x = np.ones((2, 3), "float32")
    np.testing.assert_array_equal(kiln.models.load_model(path)(x), model(x))


def test_a_keras_zip_with_invalid_json(tmp_path):
    path = tmp_path / "json.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", "{not json")
    with pytest.raises(InvalidFileError, match="not valid JSON"):
        kiln.models.load_model(path)


@pytest.mark.parametrize("content", [b"", b"not hdf5"], ids=["empty", "garbage"])
def test_an_unreadable_weights_file(tmp_path, content):
    path = tmp_path / "bad.weights.h5"
    path.write_bytes(content)
    with pytest.raises(InvalidFileError, match="not a readable HDF5 file"):
        _model().load_weights(path)


def test_unsupported_paths(tmp_path):
    (tmp_path / "model.txt").write_text("x")
    with pytest.raises(ValueError, match="File format not supported"):
        kiln.models.load_model(tmp_path / "model.txt")
    with pytest.raises(ValueError, match="legacy Keras 2 HDF5"):
        kiln.models.load_model(tmp_path / "model.h5")
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(ValueError, match="without config.json"):
        kiln.models.load_model(tmp_path / "empty_dir")
    with pytest.raises(ValueError, match="File format not supported"):
        _model().load_weights(tmp_path / "model.txt")
    with pytest.raises(TypeError, match="`custom_objects` must be a dict"):
        kiln.models.load_model(tmp_path / "model.keras", custom_objects=["x"])


# -- loading weights into a model ----------------------------------------------------


def test_load_weights_into_an_unbuilt_model(saved):
    _, directory = saved
    with pytest.raises(ValueError, match="must be built"):
        kiln.Sequential([kiln.layers.Dense(2)]).load_weights(
            directory / "good.weights.h5"
        )


def test_load_weights_from_a_keras_file(saved):
    model, directory = saved
    fresh = _model()
    fresh.load_weights(directory / "good.keras")
    for a, b in zip(fresh.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def _two_layer_model(first_inputs):
    return kiln.Sequential(
        [
            kiln.Input((first_inputs,)),
            kiln.layers.Dense(3, name="first"),
            kiln.layers.Dense(2, name="second"),
        ]
    )


def test_shape_mismatch_names_the_variable_and_both_shapes(tmp_path):
    _two_layer_model(4).save_weights(tmp_path / "w.weights.h5")
    target = _two_layer_model(5)
    before = target.get_weights()
    with pytest.raises(ValueError) as error:
        target.load_weights(tmp_path / "w.weights.h5")
    message = str(error.value)
    assert "'first/kernel'" in message
    assert "'layers/dense/vars/0'" in message
    assert "(5, 3)" in message and "(4, 3)" in message
    # A failed load assigns nothing, not even the layers that matched.
    for a, b in zip(target.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_skip_mismatch_warns_and_loads_the_rest(tmp_path):
    source = _two_layer_model(4)
    source.save_weights(tmp_path / "w.weights.h5")
    target = _two_layer_model(5)
    first_before = target.layers[0].get_weights()
    with pytest.warns(UserWarning, match="Skipping loading weights for .*first"):
        target.load_weights(tmp_path / "w.weights.h5", skip_mismatch=True)
    for a, b in zip(target.layers[0].get_weights(), first_before):
        np.testing.assert_array_equal(a, b)  # skipped
    for a, b in zip(target.layers[1].get_weights(), source.layers[1].get_weights()):
        np.testing.assert_array_equal(a, b)  # loaded


def test_different_weight_count(saved):
    _, directory = saved
    with pytest.raises(ValueError) as error:
        _model(use_bias=False).load_weights(directory / "good.weights.h5")
    message = str(error.value)
    assert "expected 1 variables, but received 2 variables" in message
    assert "layers/dense/vars" in message and "['kernel']" in message
    extra_layer = kiln.Sequential(
        [kiln.Input((3,)), kiln.layers.Dense(2), kiln.layers.Dense(2)]
    )
    with pytest.raises(ValueError, match="expected 2 variables, but received 0"):
        extra_layer.load_weights(directory / "good.weights.h5")


def test_optimizer_variable_count_mismatch_warns_and_skips(tmp_path):
    x, y = np.ones((4, 3), "float32"), np.ones((4, 2), "float32")
    trained = _model()
    trained.compile(optimizer="adam", loss="mse")
    trained.fit(x, y, epochs=1, verbose=0)
    trained.save_weights(tmp_path / "w.weights.h5")
    fresh = _model()
    fresh.compile(optimizer="adam", loss="mse")  # optimizer not built: 2 vars
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fresh.load_weights(tmp_path / "w.weights.h5")
    assert any(
        "Skipping variable loading for optimizer" in str(w.message) for w in caught
    )
    for a, b in zip(fresh.get_weights(), trained.get_weights()):
        np.testing.assert_array_equal(a, b)  # the layers still load


@pytest.mark.parametrize("member", ["config.json", "model.weights.h5"])
def test_a_damaged_deflate_stream_is_an_invalid_file(saved, member):
    # Found by the fuzzer: zlib's own error escaped from a damaged stream.
    _, directory = saved
    with zipfile.ZipFile(directory / "good.keras") as source:
        members = {n: source.read(n) for n in ("config.json", "model.weights.h5")}
    path = directory / f"bad-deflate-{member}.keras"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
    start = info.header_offset + 30 + len(member.encode())
    for offset in range(start + 2, start + min(info.compress_size, 200), 7):
        raw[offset] ^= 0x5A  # scramble the compressed stream
    path.write_bytes(bytes(raw))
    with pytest.raises(InvalidFileError, match=f"'{member}'"):
        kiln.models.load_model(path)


def _big(tmp_path):
    # 100 x 100 kernel + 100 bias, float32: 40 400 bytes of variables.
    model = _model(units=100, inputs=100)
    path = tmp_path / "big.keras"
    model.save(path)
    return model, path


def test_variables_over_lowered_limits_are_refused_with_the_hint(tmp_path):
    _, path = _big(tmp_path)
    lowered = kiln.saving.LoadLimits(max_variable_bytes=40_399)
    with pytest.raises(InvalidFileError) as error:
        kiln.saving.load_model(path, limits=lowered)
    message = str(error.value)
    assert "over the limit of 40399 bytes for all variables together" in message
    assert "limits=kiln.saving.LoadLimits(max_variable_bytes=40400)" in message
    assert "kiln verify --max-bytes 40400" in message


def test_variables_load_with_the_limit_raised(tmp_path):
    model, path = _big(tmp_path)
    exact = kiln.saving.LoadLimits(max_variable_bytes=40_400)
    loaded = kiln.saving.load_model(path, limits=exact)
    for a, b in zip(loaded.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("zipped", [True, False])
def test_load_weights_takes_limits(tmp_path, zipped):
    model = _model(units=100, inputs=100)
    path = tmp_path / ("m.keras" if zipped else "m_dir")
    model.save(path, zipped=zipped)
    size = (
        zipfile.ZipFile(path).getinfo("model.weights.h5").file_size
        if zipped
        else os.path.getsize(path / "model.weights.h5")
    )
    fresh = _model(units=100, inputs=100)
    lowered = kiln.saving.LoadLimits(max_weights_bytes=size - 1)
    with pytest.raises(
        InvalidFileError,
        match=rf"LoadLimits\(max_weights_bytes={size}\) to load_model or load_weights",
    ):
        fresh.load_weights(path, limits=lowered)
    with pytest.raises(InvalidFileError, match="max_weights_bytes"):
        kiln.saving.load_model(path, limits=lowered)
    fresh.load_weights(path, limits=kiln.saving.LoadLimits(max_weights_bytes=size))
    for a, b in zip(fresh.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_sharded_load_weights_takes_limits(tmp_path):
    model = _model(units=100, inputs=100)
    index = tmp_path / "m.weights.json"
    model.save_weights(index, max_shard_size=0.00004)  # about 43 KB a shard
    biggest = max(p.stat().st_size for p in tmp_path.glob("m_*.weights.h5"))
    fresh = _model(units=100, inputs=100)
    with pytest.raises(InvalidFileError, match="max_weights_bytes"):
        fresh.load_weights(
            index, limits=kiln.saving.LoadLimits(max_weights_bytes=biggest - 1)
        )
    fresh.load_weights(index, limits=kiln.saving.LoadLimits(max_weights_bytes=biggest))
    for a, b in zip(fresh.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_limits_must_be_load_limits(tmp_path):
    _, path = _big(tmp_path)
    with pytest.raises(TypeError, match="must be a kiln.saving.LoadLimits"):
        kiln.saving.load_model(path, limits={"max_variable_bytes": 1 << 40})
