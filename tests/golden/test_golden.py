"""Files written by real Keras 3.15.1 load in kiln (this module never imports
Keras). The files and the script that made them are beside this test."""

import os

import numpy as np
import pytest

import kiln as keras

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "files")


@keras.saving.register_keras_serializable(package="Golden")
class Scale(keras.layers.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w")

    def call(self, x):
        return x * self.w * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


@keras.saving.register_keras_serializable(package="Golden")
class TwoLayer(keras.Model):
    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.alpha = keras.layers.Dense(units, activation="relu")
        self.zeta = keras.layers.Dense(1)

    def call(self, x):
        return self.zeta(self.alpha(x))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def _expected(name):
    with np.load(os.path.join(HERE, f"{name}.npz")) as data:
        arrays = dict(data)

    def pick(prefix):
        if prefix in arrays:
            return arrays[prefix]
        return {
            k.split("__", 1)[1]: v
            for k, v in arrays.items()
            if k.startswith(prefix + "__")
        }

    weights = [arrays[f"w{i}"] for i in range(sum(k.startswith("w") for k in arrays))]
    optimizer = [
        arrays[f"opt{i}"] for i in range(sum(k.startswith("opt") for k in arrays))
    ]
    return pick("x"), pick("y"), weights, optimizer


@pytest.mark.parametrize(
    "name, expected_name",
    [
        ("functional_adam", "functional_adam"),
        ("functional_adam_v3_0", "functional_adam"),
        ("sequential_sgd", "sequential_sgd"),
        ("multi_io_rmsprop", "multi_io_rmsprop"),
        ("subclassed_adamw", "subclassed_adamw"),
    ],
)
def test_keras_file_loads_with_same_predictions_and_state(name, expected_name):
    x, y, weights, optimizer = _expected(expected_name)
    model = keras.models.load_model(os.path.join(HERE, f"{name}.keras"))
    predictions = model.predict(x, verbose=0)
    if isinstance(y, dict):
        for key in y:
            np.testing.assert_allclose(predictions[key], y[key], rtol=1e-5, atol=1e-6)
    else:
        np.testing.assert_allclose(predictions, y, rtol=1e-5, atol=1e-6)
    for got, want in zip(model.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(got, want)
    got_optimizer = [np.asarray(v) for v in model.optimizer.variables]
    for got, want in zip(got_optimizer, optimizer, strict=True):
        np.testing.assert_array_equal(got, want)


def test_keras_weights_file_loads():
    model = keras.Sequential(
        [
            keras.Input((5,)),
            keras.layers.Dense(4, activation="tanh"),
            keras.layers.Dense(2),
        ]
    )
    model.load_weights(os.path.join(HERE, "sequential.weights.h5"))
    with np.load(os.path.join(HERE, "sequential_weights.npz")) as data:
        for i, got in enumerate(model.get_weights()):
            np.testing.assert_array_equal(got, data[f"w{i}"])


def test_keras_file_keeps_training_in_kiln():
    x, _, weights, _ = _expected("functional_adam")
    model = keras.models.load_model(os.path.join(HERE, "functional_adam.keras"))
    y = np.eye(3, dtype="float32")[np.arange(8) % 3]
    model.fit(x, y, epochs=1, verbose=0)
    # 2 epochs of 2 batches in Keras, then one batch here.
    assert int(model.optimizer.iterations.numpy()) == 2 * 2 + 1


def _rewritten(tmp_path, edit):
    import json
    import zipfile

    source = os.path.join(HERE, "sequential_sgd.keras")
    with zipfile.ZipFile(source) as archive:
        config = json.loads(archive.read("config.json"))
        weights = archive.read("model.weights.h5")
    edit(config)
    target = str(tmp_path / "newer.keras")
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("model.weights.h5", weights)
    return target


def test_newer_layer_option_is_named(tmp_path):
    def add_option(config):
        config["config"]["layers"][1]["config"]["future_option"] = 3

    with pytest.raises(ValueError, match=r"future_option.*newer"):
        keras.models.load_model(_rewritten(tmp_path, add_option))


def test_newer_layer_class_is_named(tmp_path):
    def add_class(config):
        config["config"]["layers"][1]["class_name"] = "FutureDense"

    with pytest.raises(TypeError, match="FutureDense"):
        keras.models.load_model(_rewritten(tmp_path, add_class))
