import numpy as np
import pytest

import kiln as keras


def test_forward_pass_matches_hand_computation():
    layer = keras.layers.Dense(2, activation="relu")
    layer.build((None, 3))
    kernel = np.array([[1.0, -1.0], [2.0, 0.5], [0.0, 1.0]], "float32")
    bias = np.array([0.5, -4.0], "float32")
    layer.set_weights([kernel, bias])
    x = np.array([[1.0, 2.0, 3.0]], "float32")
    # x @ kernel = [5, 3]; + bias = [5.5, -1]; relu -> [5.5, 0]
    np.testing.assert_allclose(layer(x), [[5.5, 0.0]])


def test_weights_shapes_names_and_no_bias():
    layer = keras.layers.Dense(4, use_bias=False)
    layer(np.ones((2, 3)))
    assert [(v.name, v.shape) for v in layer.weights] == [("kernel", (3, 4))]
    assert layer.count_params() == 12


def test_applies_to_last_axis_of_3d_inputs():
    assert keras.layers.Dense(5)(np.ones((2, 7, 3))).shape == (2, 7, 5)


@pytest.mark.parametrize(
    "units", [0, -1, 2.5, "3", True], ids=["zero", "neg", "float", "str", "bool"]
)
def test_invalid_units(units):
    with pytest.raises(ValueError, match="expected a positive integer"):
        keras.layers.Dense(units)


def test_config_matches_keras_keys():
    config = keras.layers.Dense(3, activation="relu", name="d").get_config()
    assert list(config) == [
        "name",
        "trainable",
        "dtype",
        "units",
        "activation",
        "use_bias",
        "kernel_initializer",
        "bias_initializer",
        "kernel_regularizer",
        "bias_regularizer",
        "kernel_constraint",
        "bias_constraint",
    ]
    assert config["dtype"] == {
        "module": "keras",
        "class_name": "DTypePolicy",
        "config": {"name": "float32"},
        "registered_name": None,
    }
    assert config["kernel_initializer"]["class_name"] == "GlorotUniform"
    restored = keras.layers.Dense.from_config(config)
    assert restored.units == 3 and restored.name == "d"
