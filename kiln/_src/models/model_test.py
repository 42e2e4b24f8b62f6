import numpy as np
import pytest

import kiln as keras


class TwoDense(keras.Model):
    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.d1 = keras.layers.Dense(units, activation="relu")
        self.d2 = keras.layers.Dense(1)

    def call(self, inputs):
        return self.d2(self.d1(inputs))


def test_subclassed_model_builds_on_call():
    model = TwoDense()
    assert not model.built
    assert model(np.ones((3, 5))).shape == (3, 1)
    assert model.built and [layer.name for layer in model.layers] == [
        model.d1.name,
        model.d2.name,
    ]
    assert len(model.weights) == 4


def test_subclassed_model_build_with_shape():
    model = TwoDense()
    model.build((None, 6))
    assert model.d1.kernel.shape == (6, 4)


def test_subclass_passing_inputs_to_model_init_gets_a_clear_error():
    class Confused(keras.Model):
        def __init__(self, a, b):
            super().__init__(a, b)

    with pytest.raises(TypeError, match="only `keras.Model\\(inputs, outputs\\)`"):
        Confused(1, 2)


def test_model_weights_transfer_between_functional_and_subclassed():
    inputs = keras.Input((5,))
    x = keras.layers.Dense(4, activation="relu")(inputs)
    functional = keras.Model(inputs, keras.layers.Dense(1)(x))
    sub = TwoDense()
    sub(np.ones((1, 5)))
    sub.set_weights(functional.get_weights())
    data = np.random.random((2, 5)).astype("float32")
    np.testing.assert_allclose(sub(data), functional(data), rtol=1e-6)
