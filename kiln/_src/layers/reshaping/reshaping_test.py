import numpy as np
import pytest

import kiln as keras


def test_flatten_and_reshape():
    x = np.arange(24, dtype="float32").reshape((2, 3, 4))
    np.testing.assert_array_equal(keras.layers.Flatten()(x), x.reshape((2, 12)))
    np.testing.assert_array_equal(keras.layers.Reshape((4, 3))(x), x.reshape((2, 4, 3)))
    assert keras.layers.Reshape((-1, 2))(x).shape == (2, 6, 2)
    assert keras.layers.Reshape((12,))(keras.Input((3, 4))).shape == (None, 12)


def test_reshape_errors():
    with pytest.raises(ValueError, match="target_shape"):
        keras.layers.Reshape((-1, -1))
    with pytest.raises(ValueError, match="cannot reshape"):
        keras.layers.Reshape((5,))(np.ones((2, 3, 4)))


def test_activation_and_identity():
    x = np.array([[-1.0, 2.0]], "float32")
    np.testing.assert_array_equal(keras.layers.Activation("relu")(x), [[0.0, 2.0]])
    np.testing.assert_array_equal(keras.layers.Identity()(x), x)
    assert keras.layers.Activation("relu").get_config()["activation"] == "relu"
