"""Symbolic calls of built-in layers are traced once per distinct (class,
config, input signature); anything whose output may not follow from its
config is always traced."""

import kiln
from kiln._src.ops import operation


def test_identical_builtin_layers_are_traced_once():
    operation._SPEC_MEMO.clear()
    x = inputs = kiln.Input((7,))
    for _ in range(40):
        x = kiln.layers.Dense(7)(x)
    assert kiln.Model(inputs, x).output.shape == (None, 7)
    # One entry for Dense(7) on (None, 7) inputs, not forty.
    dense_keys = [key for key in operation._SPEC_MEMO if key[0][0] is kiln.layers.Dense]
    assert len(dense_keys) == 1


def test_different_configs_or_inputs_get_their_own_spec():
    inputs = kiln.Input((5,))
    wide = kiln.layers.Dense(9)(inputs)
    narrow = kiln.layers.Dense(3)(inputs)
    again = kiln.layers.Dense(9)(kiln.Input((2, 5)))
    assert wide.shape == (None, 9) and narrow.shape == (None, 3)
    assert again.shape == (None, 2, 9)
    # Each call gets its own tensors, with its own history.
    first, second = kiln.layers.Dense(9)(inputs), kiln.layers.Dense(9)(inputs)
    assert first is not second
    assert first._keras_history[0] is not second._keras_history[0]


class _CountingLayer(kiln.layers.Layer):
    calls = 0

    def call(self, x):
        type(self).calls += 1
        return x[:, : self.keep]

    def __init__(self, keep=2, **kwargs):
        super().__init__(**kwargs)
        self.keep = keep


def test_custom_layers_are_always_traced():
    inputs = kiln.Input((6,))
    _CountingLayer.calls = 0
    for keep in (2, 2, 3):
        out = _CountingLayer(keep)(inputs)
        assert out.shape == (None, keep)
    assert _CountingLayer.calls == 3


def test_lambda_layers_with_the_same_config_are_each_traced():
    def take(count):
        return kiln.layers.Lambda(lambda x: x[:, :count])

    inputs = kiln.Input((6,))
    assert take(2)(inputs).shape == (None, 2)
    assert take(4)(inputs).shape == (None, 4)


def test_a_wrapper_around_a_custom_layer_is_always_traced():
    inputs = kiln.Input((3, 6))
    _CountingLayer.calls = 0
    for keep in (2, 2):
        out = kiln.layers.TimeDistributed(_CountingLayer(keep))(inputs)
        assert out.shape == (None, 3, keep)
    assert _CountingLayer.calls >= 2
