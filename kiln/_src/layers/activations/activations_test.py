import warnings

import numpy as np
import pytest

import kiln
from kiln._src.testing.layer_harness import check_layer, keras_module


@pytest.mark.parametrize(
    "factory, shape",
    [
        (lambda k: k.layers.ReLU(), (4,)),
        (lambda k: k.layers.ReLU(max_value=6.0), (4,)),
        (
            lambda k: k.layers.ReLU(max_value=1.5, negative_slope=0.1, threshold=0.2),
            (2, 3),
        ),
        (lambda k: k.layers.LeakyReLU(), (4,)),
        (lambda k: k.layers.LeakyReLU(negative_slope=0.05), (4,)),
        (lambda k: k.layers.ELU(), (4,)),
        (lambda k: k.layers.ELU(alpha=0.5), (4,)),
        (lambda k: k.layers.PReLU(alpha_initializer="random_normal"), (3, 4)),
        (
            lambda k: k.layers.PReLU(
                alpha_initializer="random_normal",
                alpha_regularizer="l2",
                alpha_constraint="non_neg",
                shared_axes=[1, 2],
            ),
            (3, 2, 4),
        ),
        (lambda k: k.layers.PReLU(shared_axes=1), (3, 4)),
        (lambda k: k.layers.Softmax(), (4,)),
        (lambda k: k.layers.Softmax(axis=1), (3, 4)),
        (lambda k: k.layers.Softmax(axis=[1, 2]), (3, 4)),
    ],
    ids=[
        "relu",
        "relu6",
        "relu_all_args",
        "leaky",
        "leaky_slope",
        "elu",
        "elu_alpha",
        "prelu",
        "prelu_shared_regularized",
        "prelu_shared_int",
        "softmax",
        "softmax_axis1",
        "softmax_two_axes",
    ],
)
def test_activation_layers_match_keras(tmp_path, factory, shape):
    check_layer(tmp_path, factory, shape)


def test_relu_formula():
    x = np.array([-2.0, 0.1, 0.5, 3.0], "float32")
    y = kiln.layers.ReLU(max_value=2.0, negative_slope=0.5, threshold=0.2)(x)
    expected = np.where(x >= 0.2, np.minimum(x, 2.0), 0.5 * (x - 0.2))
    np.testing.assert_allclose(y, expected, rtol=1e-6)


def test_leaky_relu_default_and_deprecated_alpha():
    keras = keras_module()
    assert kiln.layers.LeakyReLU().negative_slope == 0.3
    assert keras.layers.LeakyReLU().get_config()["negative_slope"] == 0.3
    with pytest.warns(UserWarning, match="alpha"):
        layer = kiln.layers.LeakyReLU(alpha=0.1)
    assert layer.get_config()["negative_slope"] == 0.1
    np.testing.assert_allclose(layer(np.array([-1.0, 2.0])), [-0.1, 2.0], rtol=1e-6)


def test_elu_config_matches_keras_key_order():
    keras = keras_module()
    assert list(kiln.layers.ELU().get_config()) == list(keras.layers.ELU().get_config())


def test_prelu_alpha_shape_and_input_spec():
    layer = kiln.layers.PReLU(shared_axes=[1, 2])
    layer.build((None, 5, 6, 3))
    assert layer.alpha.shape == (1, 1, 3)
    assert layer.get_config()["shared_axes"] == [1, 2]
    with pytest.raises(ValueError):
        layer(np.ones((2, 5, 6, 4), "float32"))
    x = np.array([[-2.0, 3.0]], "float32")
    prelu = kiln.layers.PReLU(alpha_initializer=kiln.initializers.Constant(0.25))
    np.testing.assert_allclose(prelu(x), [[-0.5, 3.0]])


def test_prelu_rejects_batch_axis_in_shared_axes():
    with pytest.raises(ValueError, match="shared_axes"):
        kiln.layers.PReLU(shared_axes=[0]).build((None, 3))


def test_softmax_mask_matches_keras():
    keras = keras_module()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 4)).astype("float32")
    masks = [
        rng.random((2, 3, 4)) > 0.4,
        np.array([[1, 0, 1, 1]], bool),
        (rng.random((3, 4)) > 0.5).astype("float32"),
    ]
    masks[0][0, 0] = False  # a fully masked row comes out all zeros
    for mask in masks:
        expected = keras.layers.Softmax()(x, mask=mask)
        actual = kiln.layers.Softmax()(x, mask=mask)
        np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(
        np.asarray(kiln.layers.Softmax()(x, mask=masks[0]))[0, 0], np.zeros(4)
    )


def test_softmax_rejects_unbroadcastable_mask():
    with pytest.raises(ValueError, match="mask"):
        kiln.layers.Softmax()(np.ones((2, 3)), mask=np.ones((2, 4), bool))
    with pytest.raises(ValueError, match="mask"):
        kiln.layers.Softmax()(np.ones((3,)), mask=np.ones((2, 3), bool))


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: kiln.layers.ReLU(max_value=-1.0), "max_value"),
        (lambda: kiln.layers.ReLU(negative_slope=-0.1), "negative_slope"),
        (lambda: kiln.layers.ReLU(negative_slope=None), "negative_slope"),
        (lambda: kiln.layers.ReLU(threshold=-1.0), "threshold"),
        (lambda: kiln.layers.LeakyReLU(negative_slope=-0.5), "negative_slope"),
        (lambda: kiln.layers.LeakyReLU(negative_slope=None), "negative_slope"),
    ],
    ids=[
        "relu_max",
        "relu_slope",
        "relu_slope_none",
        "relu_threshold",
        "leaky",
        "leaky_none",
    ],
)
def test_bad_arguments_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize(
    "layer",
    [
        kiln.layers.ReLU(),
        kiln.layers.LeakyReLU(),
        kiln.layers.ELU(),
        kiln.layers.Softmax(),
    ],
    ids=["relu", "leaky", "elu", "softmax"],
)
def test_weightless_activations_are_built_and_pass_masks(layer):
    assert layer.built and layer.supports_masking
    assert layer.get_build_config() is None
    assert layer.compute_output_shape((None, 3)) == (None, 3)


def test_configs_round_trip():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for layer in (
            kiln.layers.ReLU(max_value=2.0),
            kiln.layers.PReLU(shared_axes=[1]),
            kiln.layers.Softmax(axis=[1, 2]),
        ):
            clone = type(layer).from_config(layer.get_config())
            assert clone.get_config() == layer.get_config()
