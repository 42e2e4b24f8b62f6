import numpy as np
import pytest

import kiln as keras


def test_with_input_builds_at_once():
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(3), keras.layers.Dense(1)]
    )
    assert model.built and len(model.layers) == 2
    assert model.output_shape == (None, 1)
    assert model(np.ones((2, 4))).shape == (2, 1)


def test_deferred_build_on_first_call_and_on_build():
    model = keras.Sequential([keras.layers.Dense(3), keras.layers.Dense(2)])
    assert not model.built
    assert model(np.ones((5, 7))).shape == (5, 2)
    assert model.built and model.layers[0].kernel.shape == (7, 3)
    other = keras.Sequential([keras.layers.Dense(3)])
    other.build((None, 6))
    assert other.layers[0].kernel.shape == (6, 3)


def test_input_shape_argument_on_first_layer():
    model = keras.Sequential([keras.layers.Dense(2, input_shape=(5,))])
    assert model.built and model.input_shape == (None, 5)


def test_add_and_pop():
    model = keras.Sequential()
    model.add(keras.Input((3,)))
    model.add(keras.layers.Dense(4))
    model.add(keras.layers.Dense(2, name="last"))
    assert model(np.ones((1, 3))).shape == (1, 2)
    assert model.pop().name == "last"
    assert model(np.ones((1, 3))).shape == (1, 4)
    with pytest.raises(ValueError, match="Only instances of `keras.layers.Layer`"):
        model.add("dense")
    with pytest.raises(ValueError, match="unique names"):
        model.add(keras.layers.Dense(1, name=model.layers[0].name))


def test_pop_empty_raises():
    with pytest.raises(TypeError, match="no layers"):
        keras.Sequential().pop()


def test_layer_names_kept_with_the_stack():
    # `add` checks names against a set kept with the layer list (O(1) per
    # add: a file chooses how many layers there are).
    model = keras.Sequential([keras.layers.Dense(2, name="a")])
    model.add(keras.layers.Dense(2, name="b"))
    with pytest.raises(ValueError, match='Name "b" is already'):
        model.add(keras.layers.Dense(2, name="b"))
    model.pop()
    model.add(keras.layers.Dense(2, name="b"))  # free again after pop
    model.build((None, 3))
    assert model._layer_names == {layer.name for layer in model._layers_list}
    assert [layer.name for layer in model.layers] == ["a", "b"]


def test_many_layers_from_config():
    model = keras.Sequential(
        [keras.Input((2,))] + [keras.layers.Activation("relu") for _ in range(3000)]
    )
    rebuilt = keras.Sequential.from_config(model.get_config())
    assert len(rebuilt.layers) == 3000
    assert rebuilt.built
