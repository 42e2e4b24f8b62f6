"""Custom layers, models and functions through `.keras` files: the three ways
to provide them, the errors when they are missing, and objects nested in
configs."""

import os

import numpy as np
import pytest

import kiln
from kiln import layers


def _define(register=True):
    """The guide's custom layer and activation (optionally registered)."""

    class CustomLayer(layers.Layer):
        def __init__(self, factor, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, x):
            return x * self.factor

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    def custom_fn(x):
        return x**2

    if register:
        kiln.saving.register_keras_serializable(package="MyLayers")(CustomLayer)
        kiln.saving.register_keras_serializable(package="my_package", name="custom_fn")(
            custom_fn
        )
    return CustomLayer, custom_fn


def _model(CustomLayer, custom_fn):
    inputs = kiln.Input((4,))
    mid = CustomLayer(0.5)(inputs)
    outputs = layers.Dense(1, activation=custom_fn)(mid)
    model = kiln.Model(inputs, outputs)
    model.compile(optimizer="rmsprop", loss="mean_squared_error")
    rng = np.random.default_rng(0)
    model.fit(rng.random((4, 4)), rng.random((4, 1)), verbose=0)
    model.save("custom_model.keras")
    return model


X = np.random.default_rng(1).random((4, 4)).astype("float32")


def _assert_same(model, loaded):
    np.testing.assert_array_equal(np.asarray(loaded(X)), np.asarray(model(X)))


def test_registered_objects_load_with_nothing_passed():
    CustomLayer, custom_fn = _define()
    model = _model(CustomLayer, custom_fn)
    loaded = kiln.models.load_model("custom_model.keras")
    _assert_same(model, loaded)
    assert type(loaded.layers[1]) is CustomLayer
    assert loaded.layers[2].activation is custom_fn
    config = loaded.layers[1].get_config()
    assert config["factor"] == 0.5


def test_custom_objects_argument():
    CustomLayer, custom_fn = _define(register=False)
    model = _model(CustomLayer, custom_fn)
    loaded = kiln.models.load_model(
        "custom_model.keras",
        custom_objects={"CustomLayer": CustomLayer, "custom_fn": custom_fn},
    )
    _assert_same(model, loaded)


def test_custom_object_scope():
    CustomLayer, custom_fn = _define(register=False)
    model = _model(CustomLayer, custom_fn)
    with kiln.saving.custom_object_scope(
        {"CustomLayer": CustomLayer, "custom_fn": custom_fn}
    ):
        loaded = kiln.models.load_model("custom_model.keras")
    _assert_same(model, loaded)


def test_registered_file_loads_with_bare_names_in_custom_objects():
    """A file naming 'MyLayers>CustomLayer' also accepts the class passed
    under its bare name (Keras would refuse; nothing else could match)."""
    CustomLayer, custom_fn = _define()
    model = _model(CustomLayer, custom_fn)
    kiln.saving.get_custom_objects().clear()
    loaded = kiln.models.load_model(
        "custom_model.keras",
        custom_objects={"CustomLayer": CustomLayer, "custom_fn": custom_fn},
    )
    _assert_same(model, loaded)


def test_missing_objects_are_all_named_with_the_three_ways():
    CustomLayer, custom_fn = _define()
    _model(CustomLayer, custom_fn)
    kiln.saving.get_custom_objects().clear()
    with pytest.raises(TypeError) as error:
        kiln.models.load_model("custom_model.keras")
    message = str(error.value)
    assert "CustomLayer (registered as 'MyLayers>CustomLayer')" in message
    assert "my_package>custom_fn" in message
    assert "2 custom class(es) or function(s)" in message
    assert "@keras.saving.register_keras_serializable()" in message
    assert "custom_objects={" in message
    assert "custom_object_scope(" in message
    # Registering again is enough.
    _define()
    kiln.models.load_model("custom_model.keras")


def test_unregistered_class_error_names_every_class():
    CustomLayer, custom_fn = _define(register=False)

    class Second(CustomLayer):
        pass

    inputs = kiln.Input((4,))
    outputs = layers.Dense(1, activation=custom_fn)(
        Second(2.0)(CustomLayer(0.5)(inputs))
    )
    kiln.Model(inputs, outputs).save("model.keras")
    with pytest.raises(TypeError) as error:
        kiln.models.load_model("model.keras")
    message = str(error.value)
    for name in ("'CustomLayer'", "'Second'", "'custom_fn'"):
        assert name in message
    kiln.models.load_model(
        "model.keras",
        custom_objects={
            "CustomLayer": CustomLayer,
            "Second": Second,
            "custom_fn": custom_fn,
        },
    )


def test_layer_without_get_config_taking_an_object_is_told_to_write_one():
    class Wrapper(layers.Layer):
        def __init__(self, inner, **kwargs):
            super().__init__(**kwargs)
            self.inner = inner

        def call(self, x):
            return self.inner(x)

    inputs = kiln.Input((4,))
    model = kiln.Model(inputs, Wrapper(layers.Dense(2))(inputs))
    with pytest.raises(NotImplementedError) as error:
        model.save("model.keras")
    message = str(error.value)
    assert "Wrapper" in message and "Write a `get_config()` method" in message
    assert "from_config()" in message
    assert not os.path.exists("model.keras")


@kiln.saving.register_keras_serializable(package="MyLayers", name="KernelMult")
class MyDense(layers.Layer):
    """The guide's appendix layer: a regularizer object or string, an
    initializer, and a nested layer, all in its config."""

    def __init__(
        self,
        units,
        *,
        kernel_regularizer=None,
        kernel_initializer=None,
        nested_model=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.hidden_units = units
        self.kernel_regularizer = kernel_regularizer
        self.kernel_initializer = kernel_initializer
        self.nested_model = nested_model

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.hidden_units,
                "kernel_regularizer": self.kernel_regularizer,
                "kernel_initializer": self.kernel_initializer,
                "nested_model": self.nested_model,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config["kernel_regularizer"] = kiln.saving.deserialize_keras_object(
            config["kernel_regularizer"]
        )
        config["nested_model"] = kiln.saving.deserialize_keras_object(
            config["nested_model"]
        )
        return cls(**config)

    def build(self, input_shape):
        self.kernel = self.add_weight(
            name="kernel",
            shape=(input_shape[-1], self.hidden_units),
            regularizer=self.kernel_regularizer,
            initializer=self.kernel_initializer,
        )
        # On load the nested layer arrives already built (from its own
        # build_config), so build it only when it is not.
        if self.nested_model is not None and not self.nested_model.built:
            self.nested_model.build(input_shape)

    def call(self, inputs):
        outputs = kiln.ops.matmul(inputs, self.kernel)
        if self.nested_model is not None:
            outputs = outputs + self.nested_model(inputs)
        return outputs


def test_objects_nested_in_configs_round_trip_with_their_weights():
    inner = MyDense(3, kernel_regularizer="l1", kernel_initializer="ones", name="in")
    outer = MyDense(
        3,
        kernel_regularizer=kiln.regularizers.L1L2(l1=1e-5, l2=1e-4),
        nested_model=inner,
        name="out",
    )
    inputs = kiln.Input((4,))
    model = kiln.Model(inputs, outer(inputs))
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(0)
    model.fit(rng.random((8, 4)), rng.random((8, 3)), epochs=2, verbose=0)
    model.save("model.keras")

    loaded = kiln.models.load_model("model.keras")
    _assert_same(model, loaded)
    restored = loaded.get_layer("out")
    assert isinstance(restored.kernel_regularizer, kiln.regularizers.L1L2)
    assert restored.nested_model.kernel_regularizer == "l1"
    assert restored.nested_model.name == "in"
    # The nested layer's trained kernel came back (it lives at
    # layers/my_dense/nested_model/vars).
    np.testing.assert_array_equal(
        np.asarray(restored.nested_model.kernel), np.asarray(inner.kernel)
    )
    assert loaded.get_config() == model.get_config()
    np.testing.assert_allclose(
        [float(v) for v in loaded.losses], [float(v) for v in model.losses], rtol=1e-6
    )


def test_custom_subclassed_model_registered_and_trained():
    @kiln.saving.register_keras_serializable(package="Models")
    class TwoTower(kiln.Model):
        def __init__(self, units=3, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.left = layers.Dense(units, activation="relu")
            self.right = layers.Dense(units)
            self.merge = layers.Add()

        def call(self, x):
            return self.merge([self.left(x), self.right(x)])

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    model = TwoTower(units=2, name="towers")
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(0)
    model.fit(rng.random((8, 4)), rng.random((8, 2)), epochs=2, verbose=0)
    model.save("model.keras")
    loaded = kiln.models.load_model("model.keras")
    assert type(loaded) is TwoTower and loaded.units == 2 and loaded.name == "towers"
    _assert_same(model, loaded)
    for a, b in zip(model.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(b), np.asarray(a))


def test_missing_compile_objects_are_named_with_the_model_objects():
    """The loss, metrics and optimizer in compile_config are checked with the
    layers, so one error names them all; compile=False does not need them."""
    CustomLayer, _ = _define(register=False)

    def my_loss(y_true, y_pred):
        return kiln.ops.mean(kiln.ops.square(y_true - y_pred))

    class MyMetric(kiln.metrics.MeanAbsoluteError):
        pass

    inputs = kiln.Input((4,))
    model = kiln.Model(inputs, layers.Dense(2)(CustomLayer(0.5)(inputs)))
    model.compile(optimizer="adam", loss=my_loss, metrics=[MyMetric(name="mm")])
    rng = np.random.default_rng(0)
    x, y = rng.random((8, 4)), rng.random((8, 2))
    model.fit(x, y, epochs=1, verbose=0)
    model.save("model.keras")
    with pytest.raises(TypeError) as error:
        kiln.models.load_model("model.keras")
    message = str(error.value)
    assert "3 custom class(es) or function(s)" in message
    for name in ("'CustomLayer'", "'MyMetric'", "'my_loss'"):
        assert name in message
    with pytest.raises(TypeError, match="1 custom class"):
        kiln.models.load_model("model.keras", compile=False)
    loaded = kiln.models.load_model(
        "model.keras",
        custom_objects={
            "CustomLayer": CustomLayer,
            "my_loss": my_loss,
            "MyMetric": MyMetric,
        },
    )
    assert loaded.loss is my_loss
    assert loaded.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)
