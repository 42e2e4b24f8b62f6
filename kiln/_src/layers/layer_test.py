import numpy as np
import pytest

import kiln as keras
from kiln import ops


class Scale(keras.layers.Layer):
    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w")
        self.count = self.add_weight(
            shape=(), initializer="zeros", trainable=False, name="count"
        )

    def call(self, x):
        return x * self.w


class Block(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.first = keras.layers.Dense(3, name="first")
        self.pair = [
            keras.layers.Dense(3, name="a"),
            {"b": keras.layers.Dense(3, name="b")},
        ]

    def call(self, x):
        return self.pair[1]["b"](self.pair[0](self.first(x)))


class TrainingFlag(keras.layers.Layer):
    def call(self, x, training=None):
        return x * (2.0 if training else 1.0)


class Outer(keras.layers.Layer):
    def __init__(self):
        super().__init__()
        self.inner = TrainingFlag()

    def call(self, x):
        return self.inner(x)


def test_automatic_names_count_up_per_class():
    a, b = keras.layers.Dense(1), keras.layers.Dense(1)
    base = a.name.rsplit("_", 1)[0] if a.name != "dense" else "dense"
    assert base == "dense"
    index = 0 if a.name == "dense" else int(a.name.rsplit("_", 1)[1])
    assert b.name == f"dense_{index + 1}"
    assert Scale().name.startswith("scale")


def test_build_on_first_call_creates_weights_in_creation_order():
    layer = Scale()
    assert not layer.built
    out = layer(np.ones((2, 4)))
    assert layer.built and out.shape == (2, 4)
    assert [v.name for v in layer.weights] == ["w", "count"]
    assert [v.name for v in layer.trainable_weights] == ["w"]
    assert [v.name for v in layer.non_trainable_weights] == ["count"]
    assert layer.get_build_config() == {"input_shape": [2, 4]}


def test_sublayers_in_attributes_lists_and_dicts_are_tracked_in_order():
    block = Block()
    block(np.ones((1, 2)))
    assert [v.path.split("/")[-2] + "/" + v.name for v in block.weights] == [
        "first/kernel",
        "first/bias",
        "a/kernel",
        "a/bias",
        "b/kernel",
        "b/bias",
    ]


def test_trainable_is_recursive_and_keeps_weight_order():
    block = Block()
    block(np.ones((1, 2)))
    names_before = [id(v) for v in block.weights]
    block.first.trainable = False
    assert [id(v) for v in block.weights] == names_before
    assert len(block.trainable_weights) == 4
    block.trainable = False
    assert block.trainable_weights == [] and len(block.non_trainable_weights) == 6
    assert not block.pair[0].trainable


def test_set_weights_checks_count_and_shapes():
    layer = keras.layers.Dense(2)
    layer.build((None, 3))
    with pytest.raises(ValueError, match="expects 2 weight arrays, but received 1"):
        layer.set_weights([np.zeros((3, 2))])
    with pytest.raises(ValueError, match=r"has shape \(3, 2\).*shape \(4, 2\)"):
        layer.set_weights([np.zeros((4, 2)), np.zeros((2,))])
    layer.set_weights([np.ones((3, 2)), np.ones((2,))])
    np.testing.assert_array_equal(layer.get_weights()[0], np.ones((3, 2)))


def test_training_flag_reaches_nested_layers():
    outer = Outer()
    x = np.ones((1, 2), "float32")
    np.testing.assert_array_equal(outer(x, training=True), 2 * x)
    np.testing.assert_array_equal(outer(x), x)


def test_input_spec_error_names_the_layer():
    layer = keras.layers.Dense(2, name="checked")
    layer(np.ones((1, 3)))
    with pytest.raises(ValueError, match=r'layer "checked".*axis -1.*value 3'):
        layer(np.ones((1, 4)))


def test_add_loss_and_regularizer_losses():
    class Penalized(keras.layers.Layer):
        def call(self, x):
            self.add_loss(ops.sum(x))
            return x

    layer = Penalized()
    layer(np.ones((2, 2)))
    assert len(layer.losses) == 1 and float(layer.losses[0]) == 4.0
    dense = keras.layers.Dense(
        1, kernel_regularizer=keras.regularizers.L2(0.5), kernel_initializer="ones"
    )
    dense.build((None, 2))
    np.testing.assert_allclose(float(dense.losses[0]), 0.5 * 2.0)


def test_auto_config_for_plain_arguments_and_clear_error_otherwise():
    class Plain(keras.layers.Layer):
        def __init__(self, factor, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, x):
            return x * self.factor

    config = Plain(2.0, name="p").get_config()
    assert config["factor"] == 2.0 and config["name"] == "p"
    assert Plain.from_config(config).factor == 2.0

    class Holder(keras.layers.Layer):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

    with pytest.raises(NotImplementedError, match="get_config"):
        Holder(keras.layers.Dense(1)).get_config()


def test_unknown_keyword_argument_is_rejected():
    with pytest.raises(ValueError, match="Unrecognized keyword arguments"):
        keras.layers.Dense(2, unitz=3)


def test_count_params_requires_build():
    with pytest.raises(ValueError, match="isn't built"):
        keras.layers.Dense(2).count_params()
