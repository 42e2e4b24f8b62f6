"""The guide's "How to save and load a model" and "Custom objects" sections,
verbatim except ``import kiln as keras``."""

import zipfile

import numpy as np

import kiln as keras
from kiln import ops  # noqa: F401 - the guide's setup imports it


def test_save_and_reload_reconstructs_identically(capsys):
    def get_model():
        # Create a simple model.
        inputs = keras.Input(shape=(32,))
        outputs = keras.layers.Dense(1)(inputs)
        model = keras.Model(inputs, outputs)
        model.compile(optimizer=keras.optimizers.Adam(), loss="mean_squared_error")
        return model

    model = get_model()

    # Train the model.
    test_input = np.random.random((128, 32))
    test_target = np.random.random((128, 1))
    model.fit(test_input, test_target)

    # Calling `save('my_model.keras')` creates a zip archive `my_model.keras`.
    model.save("my_model.keras")

    # It can be used to reconstruct the model identically.
    reconstructed_model = keras.models.load_model("my_model.keras")

    # Let's check:
    np.testing.assert_allclose(
        model.predict(test_input), reconstructed_model.predict(test_input)
    )

    printed = capsys.readouterr().out
    assert "4/4" in printed and "loss:" in printed
    with zipfile.ZipFile("my_model.keras") as archive:
        assert set(archive.namelist()) == {
            "metadata.json",
            "config.json",
            "model.weights.h5",
        }
    # The optimizer's state comes back too.
    for a, b in zip(model.optimizer.variables, reconstructed_model.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_custom_layer_with_sublayer_config_round_trip():
    class CustomLayer(keras.layers.Layer):
        def __init__(self, sublayer, **kwargs):
            super().__init__(**kwargs)
            self.sublayer = sublayer

        def call(self, x):
            return self.sublayer(x)

        def get_config(self):
            base_config = super().get_config()
            config = {
                "sublayer": keras.saving.serialize_keras_object(self.sublayer),
            }
            return {**base_config, **config}

        @classmethod
        def from_config(cls, config):
            sublayer_config = config.pop("sublayer")
            sublayer = keras.saving.deserialize_keras_object(sublayer_config)
            return cls(sublayer, **config)

    layer = CustomLayer(keras.layers.Dense(3))
    restored = CustomLayer.from_config(layer.get_config())
    assert isinstance(restored.sublayer, keras.layers.Dense)
    assert restored.sublayer.units == 3


def _define_registered_objects():
    # Clear all previously registered custom objects
    keras.saving.get_custom_objects().clear()

    # Upon registration, you can optionally specify a package or a name.
    # If left blank, the package defaults to `Custom` and the name defaults to
    # the class name.
    @keras.saving.register_keras_serializable(package="MyLayers")
    class CustomLayer(keras.layers.Layer):
        def __init__(self, factor):
            super().__init__()
            self.factor = factor

        def call(self, x):
            return x * self.factor

        def get_config(self):
            return {"factor": self.factor}

    @keras.saving.register_keras_serializable(package="my_package", name="custom_fn")
    def custom_fn(x):
        return x**2

    # Create the model.
    def get_model():
        inputs = keras.Input(shape=(4,))
        mid = CustomLayer(0.5)(inputs)
        outputs = keras.layers.Dense(1, activation=custom_fn)(mid)
        model = keras.Model(inputs, outputs)
        model.compile(optimizer="rmsprop", loss="mean_squared_error")
        return model

    # Train the model.
    def train_model(model):
        input = np.random.random((4, 4))
        target = np.random.random((4, 1))
        model.fit(input, target)
        return model

    return CustomLayer, custom_fn, get_model, train_model


def test_registered_custom_objects_load_without_arguments():
    CustomLayer, custom_fn, get_model, train_model = _define_registered_objects()
    test_input = np.random.random((4, 4))
    test_target = np.random.random((4, 1))  # noqa: F841 - as in the guide

    model = get_model()
    model = train_model(model)
    model.save("custom_model.keras")

    # Now, we can simply load without worrying about our custom objects.
    reconstructed_model = keras.models.load_model("custom_model.keras")

    # Let's check:
    np.testing.assert_allclose(
        model.predict(test_input), reconstructed_model.predict(test_input)
    )
    assert keras.saving.get_registered_name(CustomLayer) == "MyLayers>CustomLayer"
    assert keras.saving.get_registered_name(custom_fn) == "my_package>custom_fn"


def test_custom_objects_passed_to_load_model():
    CustomLayer, custom_fn, get_model, train_model = _define_registered_objects()
    test_input = np.random.random((4, 4))

    model = get_model()
    model = train_model(model)
    # Calling `save('my_model.keras')` creates a zip archive `my_model.keras`.
    model.save("custom_model.keras")

    # Upon loading, pass a dict containing the custom objects used in the
    # `custom_objects` argument of `keras.models.load_model()`.
    reconstructed_model = keras.models.load_model(
        "custom_model.keras",
        custom_objects={"CustomLayer": CustomLayer, "custom_fn": custom_fn},
    )

    # Let's check:
    np.testing.assert_allclose(
        model.predict(test_input), reconstructed_model.predict(test_input)
    )

    # And it works without the registration too: only the argument is used.
    keras.saving.get_custom_objects().clear()
    again = keras.models.load_model(
        "custom_model.keras",
        custom_objects={"CustomLayer": CustomLayer, "custom_fn": custom_fn},
    )
    np.testing.assert_allclose(model.predict(test_input), again.predict(test_input))


def test_custom_object_scope():
    CustomLayer, custom_fn, get_model, train_model = _define_registered_objects()
    test_input = np.random.random((4, 4))

    model = get_model()
    model = train_model(model)
    model.save("custom_model.keras")

    keras.saving.get_custom_objects().clear()  # only the scope can help now
    # Pass the custom objects dictionary to a custom object scope and place
    # the `keras.models.load_model()` call within the scope.
    custom_objects = {"CustomLayer": CustomLayer, "custom_fn": custom_fn}

    with keras.saving.custom_object_scope(custom_objects):
        reconstructed_model = keras.models.load_model("custom_model.keras")

    # Let's check:
    np.testing.assert_allclose(
        model.predict(test_input), reconstructed_model.predict(test_input)
    )


def test_missing_custom_objects_error_names_all_and_the_three_ways():
    CustomLayer, custom_fn, get_model, train_model = _define_registered_objects()
    get_model().save("custom_model.keras")
    keras.saving.get_custom_objects().clear()
    try:
        keras.models.load_model("custom_model.keras")
    except TypeError as error:
        message = str(error)
    else:
        raise AssertionError("loading without the custom objects should fail")
    assert "CustomLayer" in message and "custom_fn" in message
    assert "register_keras_serializable" in message
    assert "custom_objects" in message and "custom_object_scope" in message
