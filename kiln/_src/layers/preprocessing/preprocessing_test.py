import numpy as np
import pytest

import kiln
from kiln._src.testing.layer_harness import check_layer, h5_layout, keras_module

_DATA = np.random.default_rng(7).normal(3.0, 2.0, size=(20, 3, 4)).astype("float32")


def _adapted(layer, data):
    layer.adapt(data)
    return layer


@pytest.mark.parametrize(
    "factory, shape, kwargs",
    [
        (lambda k: k.layers.Rescaling(1 / 255.0), (4,), {}),
        (lambda k: k.layers.Rescaling(2.0, offset=-1.0), (2, 3), {}),
        (
            lambda k: k.layers.Rescaling(
                np.array([1.0, 2.0, 3.0, 4.0], "float32"), offset=[0.5, 0.0, 1.0, 2.0]
            ),
            (4,),
            {},
        ),
        (lambda k: k.layers.Rescaling(0.5), (4,), dict(input_dtype="int32")),
        (lambda k: k.layers.Normalization(), (4,), {}),
        (lambda k: k.layers.Normalization(mean=2.0, variance=4.0), (4,), {}),
        (
            lambda k: k.layers.Normalization(
                axis=(1, 2), mean=[1.0, 2.0, 3.0, 4.0], variance=[1.0, 4.0, 9.0, 2.0]
            ),
            (3, 4),
            {},
        ),
        (
            lambda k: k.layers.Normalization(
                mean=[1.0, 2.0], variance=[4.0, 1.0], invert=True
            ),
            (3, 2),
            {},
        ),
        (lambda k: _adapted(k.layers.Normalization(), _DATA), (3, 4), {}),
        (lambda k: _adapted(k.layers.Normalization(axis=(1, 2)), _DATA), (3, 4), {}),
        (lambda k: _adapted(k.layers.Normalization(axis=None), _DATA), (3, 4), {}),
        (
            lambda k: _adapted(k.layers.Normalization(axis=1, invert=True), _DATA),
            (3, 4),
            {},
        ),
        (
            lambda k: k.layers.CategoryEncoding(6),
            (4,),
            dict(input_dtype="int32", int_high=6),
        ),
        (
            lambda k: k.layers.CategoryEncoding(6, output_mode="one_hot"),
            (1,),
            dict(input_dtype="int32", int_high=6),
        ),
        (
            lambda k: k.layers.CategoryEncoding(6, output_mode="one_hot"),
            (3,),
            dict(input_dtype="int32", int_high=6),
        ),
        (
            lambda k: k.layers.CategoryEncoding(6, output_mode="count"),
            (5,),
            dict(input_dtype="int32", int_high=6),
        ),
        (
            lambda k: k.layers.CategoryEncoding(4, output_mode="binary"),
            (3,),
            dict(input_dtype="int32", int_high=4),
        ),
    ],
    ids=[
        "rescale_255",
        "rescale_offset",
        "rescale_per_channel",
        "rescale_int_input",
        "norm_unadapted",
        "norm_scalar_stats",
        "norm_two_axes_given",
        "norm_invert_given",
        "norm_adapted",
        "norm_adapted_two_axes",
        "norm_adapted_axis_none",
        "norm_adapted_invert",
        "encode_multi_hot",
        "encode_one_hot_squeeze",
        "encode_one_hot",
        "encode_count",
        "encode_binary_alias",
    ],
)
def test_preprocessing_layers_match_keras(tmp_path, factory, shape, kwargs):
    check_layer(tmp_path, factory, shape, **kwargs)


# -- Normalization.adapt ------------------------------------------------------
def _batches(data, size):
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize(
    "data, axis",
    [
        (lambda: _DATA, -1),
        (lambda: _DATA.astype("float64"), (1, 2)),
        (lambda: _DATA[:, 0, :], None),
        (lambda: __import__("jax").numpy.asarray(_DATA), -1),
    ],
    ids=["numpy", "numpy_float64_two_axes", "numpy_axis_none", "jax_array"],
)
def test_adapt_matches_keras(data, axis):
    keras = keras_module()
    results = []
    for lib in (keras, kiln):
        layer = lib.layers.Normalization(axis=axis)
        layer.adapt(data())
        results.append([np.asarray(v) for v in layer.get_weights()])
    for actual, expected in zip(results[1], results[0]):
        np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-6)


# Keras 3.15 needs TensorFlow installed to adapt on iterables (it checks for
# tf.data first), so batches are checked against the statistics of the whole.
@pytest.mark.parametrize(
    "data, axis, reduce",
    [
        (lambda: _batches(_DATA, 6), -1, (0, 1)),
        (lambda: _batches(_DATA, 7), (1, 2), (0,)),
        (lambda: iter(_batches(_DATA, 5)), 1, (0, 2)),
        (lambda: [(b, b) for b in _batches(_DATA, 8)], None, (0, 1, 2)),
    ],
    ids=["list_of_batches", "uneven_batches_two_axes", "generator", "xy_tuples"],
)
def test_adapt_on_batches_matches_whole_data_statistics(data, axis, reduce):
    layer = kiln.layers.Normalization(axis=axis)
    layer.adapt(data())
    np.testing.assert_allclose(
        layer.adapt_mean.numpy(), _DATA.mean(axis=reduce), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        layer.adapt_variance.numpy(), _DATA.var(axis=reduce), rtol=1e-5, atol=1e-6
    )


def test_adapt_computes_mean_and_variance():
    layer = kiln.layers.Normalization()
    layer.adapt(_batches(_DATA, 6))
    y = np.asarray(layer(_DATA)).reshape(-1, 4)
    np.testing.assert_allclose(y.mean(0), np.zeros(4), atol=1e-5)
    np.testing.assert_allclose(y.std(0), np.ones(4), atol=1e-5)
    assert [w.name for w in layer.weights] == ["mean", "variance", "count"]
    assert all(not w.trainable for w in layer.weights)
    assert layer.count.dtype == "int32"
    assert layer.mean.shape == (1, 1, 4)


def test_adapted_model_round_trips_through_files(tmp_path):
    keras = keras_module()
    data = _DATA[:, 0, :]
    for writer, reader in ((kiln, keras), (keras, kiln)):
        inputs = writer.Input((4,))
        layer = writer.layers.Normalization()
        layer.adapt(data)
        model = writer.Model(inputs, layer(inputs))
        path = str(tmp_path / f"{writer.__name__}.keras")
        model.save(path)
        assert sorted(h5_layout(path)) == [
            "layers/normalization/vars/0",
            "layers/normalization/vars/1",
            "layers/normalization/vars/2",
        ]
        loaded = reader.models.load_model(path)
        np.testing.assert_allclose(
            loaded.predict(data, verbose=0),
            model.predict(data, verbose=0),
            rtol=1e-6,
            atol=1e-6,
        )
        np.testing.assert_allclose(
            loaded.layers[-1].get_weights()[0], data.mean(0), rtol=1e-5
        )


def test_adapt_works_after_the_layer_is_built():
    layer = kiln.layers.Normalization()
    layer(np.zeros((2, 4), "float32"))
    layer.adapt(_DATA[:, 0, :])
    np.testing.assert_allclose(
        layer.adapt_mean.numpy(), _DATA[:, 0, :].mean(0), rtol=1e-5
    )
    with pytest.raises(ValueError, match="incompatible"):
        layer.adapt(np.ones((3, 5), "float32"))


@pytest.mark.parametrize(
    "data, error, match",
    [
        ([], ValueError, "empty"),
        ([1.0, 2.0], TypeError, "shape"),
        ("text", TypeError, "Unsupported"),
    ],
    ids=["empty", "no_shape", "string"],
)
def test_adapt_rejects_bad_data(data, error, match):
    with pytest.raises(error, match=match):
        kiln.layers.Normalization().adapt(data)


def test_adapt_rejects_layer_with_given_statistics():
    with pytest.raises(ValueError, match="adapt"):
        kiln.layers.Normalization(mean=1.0, variance=1.0).adapt(_DATA)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(mean=1.0), "variance"),
        (dict(mean=[1.0, 2.0], variance=[1.0]), "same shape"),
        (dict(axis=-1, mean=[[1.0]], variance=[[1.0]]), "rank"),
    ],
    ids=["mean_only", "shapes_differ", "rank_too_high"],
)
def test_normalization_rejects_bad_statistics(kwargs, match):
    with pytest.raises(ValueError, match=match):
        kiln.layers.Normalization(**kwargs)


def test_normalization_rejects_axis_out_of_range():
    with pytest.raises(ValueError, match="axis"):
        kiln.layers.Normalization(axis=3).build((None, 4))


def test_unbuilt_normalization_has_no_statistics():
    layer = kiln.layers.Normalization()
    assert layer.mean is None and layer.get_build_config() is None


# -- Rescaling and CategoryEncoding -------------------------------------------
def test_rescaling_casts_integer_images():
    y = kiln.layers.Rescaling(1 / 255.0)(np.array([[0, 51, 255]], "uint8"))
    assert y.dtype == "float32"
    np.testing.assert_allclose(y, [[0.0, 0.2, 1.0]], rtol=1e-6)


def test_rescaling_config_round_trips_arrays():
    layer = kiln.layers.Rescaling(np.array([2.0, 3.0], "float32"), offset=1.0)
    clone = kiln.layers.Rescaling.from_config(layer.get_config())
    np.testing.assert_array_equal(clone.scale, [2.0, 3.0])
    np.testing.assert_array_equal(clone(np.ones((1, 2))), [[3.0, 4.0]])


@pytest.mark.parametrize(
    "mode, inputs, expected",
    [
        ("multi_hot", [[0, 1, 1], [3, 3, 2]], [[1, 1, 0, 0], [0, 0, 1, 1]]),
        ("count", [[0, 1, 1], [3, 3, 2]], [[1, 2, 0, 0], [0, 0, 1, 2]]),
        ("one_hot", [1, 3], [[0, 1, 0, 0], [0, 0, 0, 1]]),
        ("one_hot", [[1], [3]], [[0, 1, 0, 0], [0, 0, 0, 1]]),
        ("multi_hot", [0, 2], [1, 0, 1, 0]),
        ("multi_hot", 2, [0, 0, 1, 0]),
    ],
    ids=["multi_hot", "count", "one_hot", "one_hot_squeeze", "rank1_batch", "scalar"],
)
def test_category_encoding_modes(mode, inputs, expected):
    keras = keras_module()
    inputs = np.array(inputs)
    actual = kiln.layers.CategoryEncoding(4, output_mode=mode)(inputs)
    np.testing.assert_array_equal(actual, expected)
    keras_out = keras.layers.CategoryEncoding(4, output_mode=mode)(inputs)
    np.testing.assert_array_equal(actual, keras_out)


def test_category_encoding_count_weights():
    layer = kiln.layers.CategoryEncoding(3, output_mode="count")
    y = layer(np.array([[0, 1, 1]]), count_weights=np.array([[0.5, 1.0, 2.0]]))
    np.testing.assert_allclose(y, [[0.5, 3.0, 0.0]])
    with pytest.raises(ValueError, match="count_weights"):
        kiln.layers.CategoryEncoding(3)(np.array([[0]]), count_weights=np.ones((1, 1)))


@pytest.mark.parametrize(
    "mode, shape, expected",
    [
        ("multi_hot", (None, 5), (None, 4)),
        ("count", (None, 5), (None, 4)),
        ("one_hot", (None,), (None, 4)),
        ("one_hot", (None, 1), (None, 4)),
        ("one_hot", (None, 3), (None, 3, 4)),
        ("multi_hot", (), (4,)),
    ],
)
def test_category_encoding_output_shape(mode, shape, expected):
    layer = kiln.layers.CategoryEncoding(4, output_mode=mode)
    assert layer.compute_output_shape(shape) == expected


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(), ValueError, "num_tokens"),
        (dict(num_tokens=0), ValueError, "num_tokens"),
        (dict(num_tokens=3, output_mode="tf_idf"), ValueError, "output_mode"),
        (dict(num_tokens=3, sparse=True), NotImplementedError, "sparse"),
    ],
    ids=["missing", "zero", "mode", "sparse"],
)
def test_category_encoding_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        kiln.layers.CategoryEncoding(**kwargs)
