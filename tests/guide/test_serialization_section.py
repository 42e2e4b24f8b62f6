"""The guide's "Model serialization" section, verbatim except the import."""

import json

import numpy as np

import kiln as keras


def _simple_model():
    inputs = keras.Input(shape=(32,))
    outputs = keras.layers.Dense(1)(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(), loss="mean_squared_error")
    return model


def test_clone_model_has_same_architecture_and_fresh_weights():
    model = _simple_model()
    new_model = keras.models.clone_model(model)
    assert new_model is not model
    assert [type(layer) for layer in new_model.layers] == [
        type(layer) for layer in model.layers
    ]
    assert [w.shape for w in new_model.weights] == [w.shape for w in model.weights]
    assert not np.array_equal(new_model.weights[0].numpy(), model.weights[0].numpy())
    assert not new_model.compiled  # no compilation information


def test_layer_get_config_and_from_config(capsys):
    layer = keras.layers.Dense(3, activation="relu")
    layer_config = layer.get_config()
    print(layer_config)

    new_layer = keras.layers.Dense.from_config(layer_config)

    printed = capsys.readouterr().out
    assert "'units': 3" in printed and "'activation': 'relu'" in printed
    assert layer_config["kernel_initializer"] == {
        "module": "keras.initializers",
        "class_name": "GlorotUniform",
        "config": {"seed": None, "input_axes": None, "output_axes": None},
        "registered_name": None,
    }
    assert layer_config["bias_initializer"]["class_name"] == "Zeros"
    assert new_layer.get_config() == layer_config


def test_sequential_get_config_from_config():
    model = keras.Sequential([keras.Input((32,)), keras.layers.Dense(1)])
    config = model.get_config()
    new_model = keras.Sequential.from_config(config)
    assert new_model.get_config() == config
    assert [layer.name for layer in new_model.layers] == [
        layer.name for layer in model.layers
    ]


def test_functional_get_config_from_config():
    inputs = keras.Input((32,))
    outputs = keras.layers.Dense(1)(inputs)
    model = keras.Model(inputs, outputs)
    config = model.get_config()
    new_model = keras.Model.from_config(config)
    assert new_model.get_config() == config
    x = np.random.random((2, 32))
    new_model.set_weights(model.get_weights())
    np.testing.assert_allclose(
        model.predict(x, verbose=0), new_model.predict(x, verbose=0)
    )


def test_to_json_and_model_from_json():
    model = keras.Sequential([keras.Input((32,)), keras.layers.Dense(1)])
    json_config = model.to_json()
    new_model = keras.models.model_from_json(json_config)
    assert json.loads(json_config)["class_name"] == "Sequential"
    assert new_model.to_json() == json_config


def test_serialize_keras_object_of_a_regularizer(capsys):
    my_reg = keras.regularizers.L1(0.005)
    config = keras.saving.serialize_keras_object(my_reg)
    print(config)

    new_reg = keras.saving.deserialize_keras_object(config)

    assert config == {
        "module": "keras.regularizers",
        "class_name": "L1",
        "config": {"l1": 0.004999999888241291},
        "registered_name": None,
    }
    assert "'class_name': 'L1'" in capsys.readouterr().out
    assert isinstance(new_reg, keras.regularizers.L1)
    np.testing.assert_allclose(new_reg.l1, 0.005, rtol=1e-6)
