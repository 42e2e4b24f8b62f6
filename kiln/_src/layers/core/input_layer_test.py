import pytest

import kiln as keras


def test_input_shapes_and_config():
    x = keras.Input(shape=(32,), name="x")
    assert x.shape == (None, 32) and x.dtype == "float32"
    layer = x._keras_history[0]
    assert layer.get_config() == {
        "batch_shape": [None, 32],
        "dtype": "float32",
        "sparse": False,
        "ragged": False,
        "name": "x",
        "optional": False,
    }
    assert keras.Input(batch_shape=(4, 2)).shape == (4, 2)
    assert keras.Input(shape=(3,), batch_size=8).shape == (8, 3)


def test_input_needs_a_shape():
    with pytest.raises(ValueError, match="needs a shape"):
        keras.Input()
    with pytest.raises(ValueError, match="only one of"):
        keras.Input(shape=(2,), batch_shape=(None, 2))
