"""The guide's examples, run in kiln and in Keras 3, exchanging their files."""

import keras
import numpy as np
import pytest

import kiln

LIBRARIES = {"kiln": kiln, "keras": keras}
DIRECTIONS = [("keras", "kiln"), ("kiln", "keras")]


def get_model(lib):
    # "How to save and load a model"
    inputs = lib.Input(shape=(32,))
    outputs = lib.layers.Dense(1)(inputs)
    model = lib.Model(inputs, outputs)
    model.compile(optimizer=lib.optimizers.Adam(), loss="mean_squared_error")
    return model


def create_functional_model(lib):
    # "Transfer learning example"
    inputs = lib.Input(shape=(784,), name="digits")
    x = lib.layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = lib.layers.Dense(64, activation="relu", name="dense_2")(x)
    outputs = lib.layers.Dense(10, name="predictions")(x)
    return lib.Model(inputs=inputs, outputs=outputs, name="3_layer_mlp")


def _custom_objects(lib):
    # "Registering custom objects": the same registration in both libraries.
    @lib.saving.register_keras_serializable(package="MyLayers")
    class CustomLayer(lib.layers.Layer):
        def __init__(self, factor):
            super().__init__()
            self.factor = factor

        def call(self, x):
            return x * self.factor

        def get_config(self):
            return {"factor": self.factor}

    @lib.saving.register_keras_serializable(package="my_package", name="custom_fn")
    def custom_fn(x):
        return x**2

    return CustomLayer, custom_fn


def _subclassed_class(lib):
    # "Transferring weights ... to a subclassed model", registered for saving.
    @lib.saving.register_keras_serializable(package="Guide")
    class SubclassedModel(lib.Model):
        def __init__(self, output_dim, name=None):
            super().__init__(name=name)
            self.output_dim = output_dim
            self.dense_1 = lib.layers.Dense(64, activation="relu", name="dense_1")
            self.dense_2 = lib.layers.Dense(64, activation="relu", name="dense_2")
            self.dense_3 = lib.layers.Dense(output_dim, name="predictions")

        def call(self, inputs):
            x = self.dense_1(inputs)
            x = self.dense_2(x)
            x = self.dense_3(x)
            return x

        def get_config(self):
            return {"output_dim": self.output_dim, "name": self.name}

    return SubclassedModel


@pytest.mark.parametrize("writer, reader", DIRECTIONS)
def test_trained_model_file(tmp_path, writer, reader):
    model = get_model(LIBRARIES[writer])
    test_input = np.random.random((128, 32))
    model.fit(test_input, np.random.random((128, 1)), verbose=0)
    model.save(tmp_path / "my_model.keras")
    reconstructed = LIBRARIES[reader].models.load_model(tmp_path / "my_model.keras")
    np.testing.assert_allclose(
        model.predict(test_input, verbose=0),
        reconstructed.predict(test_input, verbose=0),
        rtol=1e-5,
        atol=1e-6,
    )


@pytest.mark.parametrize("writer, reader", DIRECTIONS)
def test_custom_objects_file(tmp_path, writer, reader):
    for lib in LIBRARIES.values():
        _custom_objects(lib)
    CustomLayer, custom_fn = _custom_objects(LIBRARIES[writer])
    lib = LIBRARIES[writer]
    inputs = lib.Input(shape=(4,))
    mid = CustomLayer(0.5)(inputs)
    outputs = lib.layers.Dense(1, activation=custom_fn)(mid)
    model = lib.Model(inputs, outputs)
    model.compile(optimizer="rmsprop", loss="mean_squared_error")
    model.fit(np.random.random((4, 4)), np.random.random((4, 1)), verbose=0)
    model.save(tmp_path / "custom_model.keras")
    _custom_objects(LIBRARIES[reader])
    reconstructed = LIBRARIES[reader].models.load_model(tmp_path / "custom_model.keras")
    test_input = np.random.random((4, 4))
    np.testing.assert_allclose(
        model.predict(test_input, verbose=0),
        reconstructed.predict(test_input, verbose=0),
        rtol=1e-5,
        atol=1e-6,
    )


@pytest.mark.parametrize("writer, reader", DIRECTIONS)
def test_weights_file_transfer(tmp_path, writer, reader):
    functional_model = create_functional_model(LIBRARIES[writer])
    functional_model.save_weights(tmp_path / "pretrained.weights.h5")
    pretrained_model = create_functional_model(LIBRARIES[reader])
    pretrained_model.load_weights(tmp_path / "pretrained.weights.h5")
    for a, b in zip(functional_model.get_weights(), pretrained_model.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("writer, reader", DIRECTIONS)
def test_sequential_weights_file(tmp_path, writer, reader):
    def sequential(lib):
        return lib.Sequential(
            [
                lib.Input(shape=(784,), name="digits"),
                lib.layers.Dense(64, activation="relu", name="dense_1"),
                lib.layers.Dense(64, activation="relu", name="dense_2"),
                lib.layers.Dense(10, name="predictions"),
            ]
        )

    source = sequential(LIBRARIES[writer])
    source.save_weights(tmp_path / "my_model.weights.h5")
    target = sequential(LIBRARIES[reader])
    target.load_weights(tmp_path / "my_model.weights.h5")
    for a, b in zip(source.get_weights(), target.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("writer, reader", DIRECTIONS)
def test_subclassed_model_file(tmp_path, writer, reader):
    for lib in LIBRARIES.values():
        _subclassed_class(lib)
    model = _subclassed_class(LIBRARIES[writer])(10)
    model(np.ones((1, 784)))
    model.save(tmp_path / "subclassed.keras")
    _subclassed_class(LIBRARIES[reader])
    loaded = LIBRARIES[reader].models.load_model(tmp_path / "subclassed.keras")
    x = np.random.random((2, 784))
    np.testing.assert_allclose(
        model.predict(x, verbose=0), loaded.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("writer, reader", DIRECTIONS)
def test_config_and_json_exchange(writer, reader):
    model = LIBRARIES[writer].Sequential(
        [LIBRARIES[writer].Input((32,)), LIBRARIES[writer].layers.Dense(1)]
    )
    new_model = LIBRARIES[reader].models.model_from_json(model.to_json())
    assert [w.shape for w in new_model.weights] == [
        tuple(w.shape) for w in model.weights
    ]
    functional = get_model(LIBRARIES[writer])
    rebuilt = LIBRARIES[reader].Model.from_config(functional.get_config())
    assert rebuilt.output_shape == functional.output_shape
