"""How loading works, checked from outside: what it reads and what it runs.

- Reading one variable (`open_weights(...).read`, `load_weights_subset` with
  `paths`) reads that variable's bytes and the file's metadata, not the other
  variables. Bytes are counted by the kernel: ``rchar`` in /proc/self/io, the
  bytes this process received from read system calls (pread/preadv included),
  whoever made them (Python, zipfile or HDF5).
- `load_model`, `load_weights` and `load_weights_subset` never call an
  initializer for a variable they fill: the counting initializers below are
  real registered classes, saved in the file and rebuilt by `load_model`.
"""

import numpy as np
import pytest

import kiln
from kiln.saving import (
    load_weights_subset,
    open_weights,
    register_keras_serializable,
)

MIB = 2**20
# Metadata (zip directory, HDF5 superblock, object headers) and the small
# reads of opening a file: far below one variable's 8 MiB.
METADATA_ALLOWANCE = 512 * 1024


def _rchar() -> int:
    with open("/proc/self/io") as file:
        for line in file:
            if line.startswith("rchar:"):
                return int(line.split()[1])
    raise AssertionError("/proc/self/io has no rchar line")


@pytest.fixture(scope="module")
def big_files(tmp_path_factory):
    """Three ~8 MiB kernels (float32 1024x2048 and 2048x1024), saved in every
    form."""
    directory = tmp_path_factory.mktemp("big")
    inputs = kiln.Input((1024,))
    x = kiln.layers.Dense(2048, use_bias=False)(inputs)
    x = kiln.layers.Dense(1024, use_bias=False)(x)
    x = kiln.layers.Dense(2048, use_bias=False)(x)
    model = kiln.Model(inputs, x)
    paths = {
        "zip": str(directory / "big.keras"),
        "directory": str(directory / "big_dir"),
        "weights": str(directory / "big.weights.h5"),
    }
    model.save(paths["zip"])
    model.save(paths["directory"], zipped=False)
    model.save_weights(paths["weights"])
    small = _small_model()
    paths["small"] = str(directory / "small.keras")
    small.save(paths["small"])
    return model, paths


def _small_model():
    inputs = kiln.Input((2,))
    return kiln.Model(inputs, kiln.layers.Dense(3)(inputs))


def _warm_up(paths):
    # Imports and first-use caches read files too; do them before counting.
    with open_weights(paths["small"]) as weights:
        weights.read("layers/dense/vars/0")
    load_weights_subset(_small_model(), paths["small"], paths=["layers/dense/vars/1"])


KERNEL = "layers/dense_1/vars/0"  # the middle kernel, 2048x1024


@pytest.mark.parametrize("form", ["zip", "directory", "weights"])
def test_reading_one_variable_reads_only_its_bytes(big_files, form):
    model, paths = big_files
    _warm_up(paths)
    before = _rchar()
    with open_weights(paths[form]) as weights:
        infos = {info.path: info for info in weights.variables()}
        kernel = weights.read(KERNEL)
    read = _rchar() - before
    assert len(infos) == 3 and sum(i.nbytes for i in infos.values()) == 24 * MIB
    assert kernel.nbytes == infos[KERNEL].nbytes == 8 * MIB
    assert kernel.nbytes <= read <= kernel.nbytes + METADATA_ALLOWANCE, read
    np.testing.assert_array_equal(kernel, np.asarray(model.layers[2].kernel.value))


@pytest.mark.parametrize("form", ["zip", "weights"])
def test_partial_load_reads_only_the_requested_bytes(big_files, form):
    model, paths = big_files
    _warm_up(paths)
    inputs = kiln.Input((1024,))
    x = kiln.layers.Dense(2048, use_bias=False)(inputs)
    x = kiln.layers.Dense(1024, use_bias=False)(x)
    target = kiln.Model(inputs, kiln.layers.Dense(2048, use_bias=False)(x))
    before = _rchar()
    report = load_weights_subset(target, paths[form], paths=[KERNEL])
    read = _rchar() - before
    assert report.loaded == [KERNEL]
    assert 8 * MIB <= read <= 8 * MIB + METADATA_ALLOWANCE, read
    np.testing.assert_array_equal(
        np.asarray(target.layers[2].kernel.value),
        np.asarray(model.layers[2].kernel.value),
    )


def test_the_byte_count_sees_a_full_load(big_files):
    # The control: the same counter sees every variable read by load_weights.
    # For a .keras file the CRC-32 of the member is computed from those same
    # reads, so its bytes are read once, not twice.
    model, paths = big_files
    _warm_up(paths)
    before = _rchar()
    model.load_weights(paths["weights"])
    assert _rchar() - before >= 24 * MIB
    before = _rchar()
    model.load_weights(paths["zip"])
    assert 24 * MIB <= _rchar() - before < 24 * MIB + 2 * MIB


# -- no initializer runs on load -------------------------------------------------

CALLS = {"custom": 0, "glorot": 0}


@register_keras_serializable(package="kiln_mechanism_test")
class CountingInitializer(kiln.initializers.Initializer):
    """A custom initializer that counts its calls."""

    def __call__(self, shape, dtype=None):
        CALLS["custom"] += 1
        return kiln.ops.full(shape, 0.25, dtype=dtype)


@register_keras_serializable(package="kiln_mechanism_test")
class CountingGlorotUniform(kiln.initializers.GlorotUniform):
    """The built-in GlorotUniform, counting the calls to its `__call__`."""

    def __call__(self, shape, dtype=None):
        CALLS["glorot"] += 1
        return super().__call__(shape, dtype=dtype)


def _counting_model():
    inputs = kiln.Input((3,))
    x = kiln.layers.Dense(
        4,
        kernel_initializer=CountingGlorotUniform(seed=1),
        bias_initializer=CountingInitializer(),
    )(inputs)
    outputs = kiln.layers.Dense(
        2,
        kernel_initializer=CountingInitializer(),
        bias_initializer=CountingGlorotUniform(seed=2),
    )(x)
    return kiln.Model(inputs, outputs)


def _values(model):
    return [np.asarray(variable.value) for variable in model.weights]


def _reset():
    CALLS.update(custom=0, glorot=0)


@pytest.fixture
def saved_counting_model(tmp_path):
    _reset()
    model = _counting_model()
    values = _values(model)  # the first read draws every initial value
    assert CALLS == {"custom": 2, "glorot": 2}  # the counters do count
    paths = {
        "zip": str(tmp_path / "c.keras"),
        "directory": str(tmp_path / "c_dir"),
        "weights": str(tmp_path / "c.weights.h5"),
    }
    model.save(paths["zip"])
    model.save(paths["directory"], zipped=False)
    model.save_weights(paths["weights"])
    _reset()
    return values, paths


@pytest.mark.parametrize("form", ["zip", "directory"])
def test_load_model_calls_no_initializer(saved_counting_model, form):
    values, paths = saved_counting_model
    loaded = kiln.saving.load_model(paths[form])
    assert isinstance(loaded.layers[1].kernel_initializer, CountingGlorotUniform)
    assert isinstance(loaded.layers[2].kernel_initializer, CountingInitializer)
    got = _values(loaded)  # reading the loaded values must not draw new ones
    assert CALLS == {"custom": 0, "glorot": 0}
    for value, expected in zip(got, values, strict=True):
        np.testing.assert_array_equal(value, expected)


@pytest.mark.parametrize("form", ["zip", "weights"])
def test_load_weights_calls_no_initializer(saved_counting_model, form):
    values, paths = saved_counting_model
    target = _counting_model()
    target.load_weights(paths[form])
    got = _values(target)
    assert CALLS == {"custom": 0, "glorot": 0}
    for value, expected in zip(got, values, strict=True):
        np.testing.assert_array_equal(value, expected)


@pytest.mark.parametrize("form", ["zip", "directory", "weights"])
def test_partial_load_of_everything_calls_no_initializer(saved_counting_model, form):
    values, paths = saved_counting_model
    target = _counting_model()
    report = load_weights_subset(target, paths[form])
    got = _values(target)
    assert len(report.loaded) == 4 and report.missing == report.unexpected == []
    assert CALLS == {"custom": 0, "glorot": 0}
    for value, expected in zip(got, values, strict=True):
        np.testing.assert_array_equal(value, expected)


def test_partial_load_runs_only_the_initializers_of_variables_left_out(
    saved_counting_model,
):
    values, paths = saved_counting_model
    target = _counting_model()
    # The first layer's kernel (glorot) and the second layer's bias (glorot).
    wanted = ["layers/dense/vars/0", "layers/dense_1/vars/1"]
    report = load_weights_subset(target, paths["zip"], paths=wanted)
    assert report.loaded == wanted
    kernel, bias = target.layers[1].kernel, target.layers[2].bias
    np.testing.assert_array_equal(np.asarray(kernel.value), values[0])
    np.testing.assert_array_equal(np.asarray(bias.value), values[3])
    assert CALLS == {"custom": 0, "glorot": 0}
    # The two variables left out are drawn by their own (custom) initializers
    # when first read, exactly once each.
    np.testing.assert_array_equal(
        np.asarray(target.layers[1].bias.value), np.full(4, 0.25, "float32")
    )
    np.testing.assert_array_equal(
        np.asarray(target.layers[2].kernel.value), np.full((4, 2), 0.25, "float32")
    )
    assert CALLS == {"custom": 2, "glorot": 0}
