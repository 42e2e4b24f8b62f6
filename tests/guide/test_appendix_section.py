"""The guide's appendix, "Handling custom objects", verbatim except the import."""

import numpy as np

import kiln as keras
from kiln import ops


def _define_my_dense():
    @keras.saving.register_keras_serializable(package="MyLayers", name="KernelMult")
    class MyDense(keras.layers.Layer):
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
            # Update the config with the custom layer's parameters
            config.update(
                {
                    "units": self.hidden_units,
                    "kernel_regularizer": self.kernel_regularizer,
                    "kernel_initializer": self.kernel_initializer,
                    "nested_model": self.nested_model,
                }
            )
            return config

        def build(self, input_shape):
            input_units = input_shape[-1]
            self.kernel = self.add_weight(
                name="kernel",
                shape=(input_units, self.hidden_units),
                regularizer=self.kernel_regularizer,
                initializer=self.kernel_initializer,
            )

        def call(self, inputs):
            return ops.matmul(inputs, self.kernel)

    return MyDense


def test_defining_the_config_methods(capsys):
    MyDense = _define_my_dense()
    layer = MyDense(units=16, kernel_regularizer="l1", kernel_initializer="ones")
    layer3 = MyDense(units=64, nested_model=layer)

    config = keras.layers.serialize(layer3)

    print(config)

    new_layer = keras.layers.deserialize(config)

    print(new_layer)

    printed = capsys.readouterr().out
    assert config["class_name"] == "MyDense"
    assert config["registered_name"] == "MyLayers>KernelMult"
    assert config["module"] == MyDense.__module__
    nested = config["config"]["nested_model"]
    assert nested["registered_name"] == "MyLayers>KernelMult"
    assert nested["config"]["kernel_regularizer"] == "l1"
    assert nested["config"]["kernel_initializer"] == "ones"
    assert nested["config"]["units"] == 16
    assert f"<MyDense name={new_layer.name}, built=False>" in printed
    # As in Keras, the default from_config passes the nested layer's config
    # through untouched: the guide's point is that MyDense needs no override
    # for plain values and built-in objects, and the next example shows the
    # override needed to rebuild a nested layer.
    assert new_layer.nested_model["config"]["units"] == 16
    # The string "l1" and "ones" reach add_weight, which resolves them.
    built = MyDense(units=2, kernel_regularizer="l1", kernel_initializer="ones")
    built(np.ones((1, 3)))
    np.testing.assert_array_equal(built.kernel.numpy(), np.ones((3, 2)))
    np.testing.assert_allclose(float(built.losses[0]), 0.01 * 6, rtol=1e-6)


def test_registration_example_with_from_config():
    MyDense = _define_my_dense()
    layer = MyDense(units=16, kernel_regularizer="l1", kernel_initializer="ones")

    @keras.saving.register_keras_serializable(package="ComplexModels")
    class CustomModel(keras.layers.Layer):
        def __init__(self, first_layer, second_layer=None, **kwargs):
            super().__init__(**kwargs)
            self.first_layer = first_layer
            if second_layer is not None:
                self.second_layer = second_layer
            else:
                self.second_layer = keras.layers.Dense(8)

        def get_config(self):
            config = super().get_config()
            config.update(
                {
                    "first_layer": self.first_layer,
                    "second_layer": self.second_layer,
                }
            )
            return config

        @classmethod
        def from_config(cls, config):
            # Note that you can also use [`keras.saving.deserialize_keras_object`](/api/models/model_saving_apis/serialization_utils#deserializekerasobject-function) here
            config["first_layer"] = keras.layers.deserialize(config["first_layer"])
            config["second_layer"] = keras.layers.deserialize(config["second_layer"])
            return cls(**config)

        def call(self, inputs):
            return self.first_layer(self.second_layer(inputs))

    # Let's make our first layer the custom layer from the previous example (MyDense)
    inputs = keras.Input((32,))
    outputs = CustomModel(first_layer=layer)(inputs)
    model = keras.Model(inputs, outputs)

    config = model.get_config()
    new_model = keras.Model.from_config(config)

    custom = new_model.layers[1]
    assert isinstance(custom, CustomModel)
    assert isinstance(custom.first_layer, MyDense)
    assert isinstance(custom.second_layer, keras.layers.Dense)
    assert new_model.output_shape == (None, 16)


def test_how_custom_objects_are_serialized(capsys):
    MyDense = _define_my_dense()
    layer = MyDense(
        units=16,
        kernel_regularizer=keras.regularizers.L1L2(l1=1e-5, l2=1e-4),
        kernel_initializer="ones",
    )
    config = keras.layers.serialize(layer)
    print(config)

    assert config["registered_name"] == "MyLayers>KernelMult"
    assert config["class_name"] == "MyDense"
    assert config["config"]["kernel_regularizer"] == {
        "module": "keras.regularizers",
        "class_name": "L1L2",
        "config": {"l1": 1e-05, "l2": 0.0001},
        "registered_name": None,
    }
    assert config["config"]["kernel_initializer"] == "ones"
    assert config["config"]["nested_model"] is None
    assert "'registered_name': 'MyLayers>KernelMult'" in capsys.readouterr().out
