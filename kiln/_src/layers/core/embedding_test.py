import warnings

import numpy as np
import pytest

import kiln
from kiln._src.testing.layer_harness import check_layer, keras_module


@pytest.mark.parametrize(
    "factory, shape",
    [
        (lambda k: k.layers.Embedding(10, 3), (4,)),
        (lambda k: k.layers.Embedding(10, 2, mask_zero=True), (2, 3)),
        (
            lambda k: k.layers.Embedding(
                10,
                3,
                embeddings_initializer="random_normal",
                embeddings_regularizer="l2",
                embeddings_constraint="unit_norm",
                activity_regularizer="l1",
            ),
            (4,),
        ),
    ],
    ids=["plain", "mask_zero_2d", "regularized"],
)
def test_embedding_matches_keras(tmp_path, factory, shape):
    check_layer(tmp_path, factory, shape, input_dtype="int32")


def test_float_indices_are_cast_to_int():
    layer = kiln.layers.Embedding(5, 2)
    ints = np.asarray(layer(np.array([[1, 4]])))
    floats = np.asarray(layer(np.array([[1.0, 4.0]], "float32")))
    np.testing.assert_array_equal(ints, floats)


def test_lookup_returns_rows_of_the_matrix():
    matrix = np.arange(12, dtype="float32").reshape(4, 3)
    layer = kiln.layers.Embedding(4, 3, weights=matrix)
    np.testing.assert_array_equal(
        layer(np.array([[3, 0], [1, 1]])), matrix[[[3, 0], [1, 1]]]
    )
    assert layer.embeddings.shape == (4, 3)
    assert [w.path for w in layer.weights] == [f"{layer.name}/embeddings"]


def test_mask_zero_gives_mask_to_next_layers():
    layer = kiln.layers.Embedding(5, 2, mask_zero=True)
    x = np.array([[1, 0, 3], [0, 0, 2]])
    np.testing.assert_array_equal(layer.compute_mask(x), x != 0)
    assert layer.supports_masking
    inputs = kiln.Input((3,), dtype="int32")
    outputs = layer(inputs)
    assert outputs._keras_mask is not None
    assert outputs._keras_mask.shape == (None, 3)
    assert outputs._keras_mask.dtype == "bool"
    # The mask flows on through layers that support masking.
    assert kiln.layers.Activation("relu")(outputs)._keras_mask is not None


def test_mask_matches_keras():
    keras = keras_module()
    x = np.array([[1, 0, 3], [0, 0, 2]])
    expected = keras.layers.Embedding(5, 2, mask_zero=True).compute_mask(x)
    actual = kiln.layers.Embedding(5, 2, mask_zero=True).compute_mask(x)
    np.testing.assert_array_equal(np.asarray(actual), np.asarray(expected))


def test_no_mask_without_mask_zero():
    layer = kiln.layers.Embedding(5, 2)
    assert layer.compute_mask(np.array([[0, 1]])) is None
    assert getattr(layer(kiln.Input((2,), dtype="int32")), "_keras_mask", None) is None


def test_input_length_is_deprecated_and_ignored():
    with pytest.warns(UserWarning, match="input_length"):
        layer = kiln.layers.Embedding(5, 2, input_length=3)
    assert "input_length" not in layer.get_config()


def test_config_and_output_shape():
    layer = kiln.layers.Embedding(7, 4, mask_zero=True)
    config = layer.get_config()
    assert (config["input_dim"], config["output_dim"], config["mask_zero"]) == (
        7,
        4,
        True,
    )
    assert config["activity_regularizer"] is None
    assert layer.compute_output_shape((None, 5)) == (None, 5, 4)
    clone = kiln.layers.Embedding.from_config(config)
    assert clone.mask_zero and clone.input_dim == 7


def test_config_written_by_keras_loads():
    keras = keras_module()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        config = keras.layers.Embedding(6, 2).get_config()
    layer = kiln.layers.Embedding.from_config(config)
    assert (layer.input_dim, layer.output_dim) == (6, 2)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(input_dim=0, output_dim=2), "input_dim"),
        (dict(input_dim=3.0, output_dim=2), "input_dim"),
        (dict(input_dim=True, output_dim=2), "input_dim"),
        (dict(input_dim=3, output_dim=-1), "output_dim"),
    ],
    ids=["zero", "float", "bool", "negative_output"],
)
def test_bad_dimensions_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        kiln.layers.Embedding(**kwargs)


def test_unbuilt_embeddings_raise_attribute_error():
    with pytest.raises(AttributeError, match="not built"):
        _ = kiln.layers.Embedding(3, 2).embeddings
