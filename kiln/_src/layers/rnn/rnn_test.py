import numpy as np
import pytest

import kiln
from kiln._src.layers.rnn.testing_utils import (
    assert_outputs_close,
    masked_pair,
    masked_sequences,
)
from kiln._src.testing.layer_harness import check_layer


@pytest.mark.parametrize(
    "factory, exchange",
    [
        (lambda k: k.layers.RNN(k.layers.LSTMCell(3)), False),
        (
            lambda k: k.layers.RNN(
                k.layers.StackedRNNCells(
                    [k.layers.LSTMCell(3), k.layers.GRUCell(2, reset_after=False)]
                ),
                return_state=True,
            ),
            True,
        ),
        (
            lambda k: k.layers.RNN(
                k.layers.SimpleRNNCell(3),
                return_sequences=True,
                go_backwards=True,
                unroll=True,
            ),
            False,
        ),
    ],
    ids=[
        "lstm_cell",
        "stacked_cells_state",
        "simple_cell_unroll_backwards",
    ],
)
def test_rnn_matches_keras(tmp_path, factory, exchange):
    check_layer(tmp_path, factory, input_shape=(4, 2), exchange_files=exchange)


def test_initial_state_inputs_and_multi_output_config_round_trip(tmp_path):
    # Several inputs (sequence and states) and several outputs (output and
    # states): the files name each output by its tensor_index.
    kiln_model, _ = check_layer(
        tmp_path,
        lambda k: k.layers.LSTM(3, return_sequences=True, return_state=True),
        input_shape=[(4, 2), (3,), (3,)],
        call=lambda layer, ins: layer(ins[0], initial_state=[ins[1], ins[2]]),
    )
    config = kiln_model.get_config()
    assert config["output_layers"] == [
        [kiln_model.layers[-1].name, 0, 0],
        [kiln_model.layers[-1].name, 0, 1],
        [kiln_model.layers[-1].name, 0, 2],
    ]
    rebuilt = kiln.Model.from_config(config)
    rebuilt.set_weights(kiln_model.get_weights())
    data = [np.ones((2, 4, 2), "float32"), np.zeros((2, 3)), np.ones((2, 3))]
    assert_outputs_close(
        rebuilt.predict(data, verbose=0), kiln_model.predict(data, verbose=0)
    )


def test_state_output_feeds_another_layer(tmp_path):
    def call(layer, x):
        lib = kiln if type(layer).__module__.startswith("kiln") else None
        if lib is None:
            import keras as lib
        _, h, c = layer(x)
        return lib.layers.Dense(2, name="head")(lib.layers.Concatenate()([h, c]))

    check_layer(
        tmp_path,
        lambda k: k.layers.LSTM(3, return_state=True),
        input_shape=(4, 2),
        call=call,
        compare_config=False,
        exchange_files=False,
    )


_MASKED_LAYERS = [
    lambda k: k.layers.LSTM(3, return_sequences=True),
    lambda k: k.layers.LSTM(3, return_sequences=True, go_backwards=True),
    lambda k: k.layers.GRU(3, return_sequences=True, zero_output_for_mask=True),
    lambda k: k.layers.SimpleRNN(3, return_sequences=True, unroll=True),
    lambda k: k.layers.GRU(3, return_state=True),
    lambda k: k.layers.RNN(
        [k.layers.LSTMCell(3), k.layers.LSTMCell(2)], return_sequences=True
    ),
]


def test_masked_timesteps_match_keras():
    # One model, one output per layer: each layer reads the same masked input.
    data = masked_sequences()

    def factory(lib):
        layers = [make(lib) for make in _MASKED_LAYERS]
        return lambda x: [layer(x) for layer in layers]

    kiln_model, keras_model = masked_pair(factory, data)
    assert_outputs_close(
        kiln_model.predict(data, verbose=0), keras_model.predict(data, verbose=0)
    )


def test_symbolic_masks():
    x = kiln.Input((5, 2))
    masked = kiln.layers.Masking()(x)
    assert masked._keras_mask is not None
    assert kiln.layers.LSTM(2, return_sequences=True)(masked)._keras_mask is not None
    assert kiln.layers.LSTM(2)(masked)._keras_mask is None
    out, h, c = kiln.layers.LSTM(2, return_sequences=True, return_state=True)(masked)
    assert out._keras_mask is not None
    assert h._keras_mask is None and c._keras_mask is None


def test_eager_mask_argument_keeps_states_through_padding():
    data = masked_sequences(batch=2)
    mask = np.any(data != 0, axis=-1)
    layer = kiln.layers.GRU(3, return_sequences=True, return_state=True)
    seq, state = (np.asarray(v) for v in layer(data, mask=mask))
    # Sample 0 ends with two padding steps: the state and output stop changing.
    np.testing.assert_allclose(seq[0, -1], seq[0, -3])
    np.testing.assert_allclose(state[0], seq[0, -3])
    # Sample 1's first step is padding: its output there is the initial state.
    np.testing.assert_allclose(seq[1, 0], np.zeros(3))


def test_stateful_eager_calls_match_keras():
    import keras

    data = np.random.default_rng(0).normal(size=(2, 3, 2)).astype("float32")
    layers = []
    for lib in (kiln, keras):
        layer = lib.layers.SimpleRNN(3, stateful=True)
        layer.build((2, 3, 2))
        layers.append(layer)
    layers[0].set_weights(layers[1].get_weights())
    for _ in range(2):
        np.testing.assert_allclose(
            np.asarray(layers[0](data)), np.asarray(layers[1](data)), atol=1e-6
        )
    np.testing.assert_allclose(
        np.asarray(layers[0].states[0].value),
        np.asarray(layers[1].states[0].value),
        atol=1e-6,
    )
    layers[0].reset_state()
    assert not np.any(np.asarray(layers[0].states[0].value))
    # The states are neither weights nor variables (as in Keras).
    assert len(layers[0].weights) == 3
    with pytest.raises(ValueError, match="batch size"):
        layers[0](np.ones((3, 3, 2), "float32"))


def test_rnn_config_round_trip():
    layer = kiln.layers.RNN(
        [kiln.layers.LSTMCell(3), kiln.layers.GRUCell(2)],
        return_sequences=True,
        go_backwards=True,
    )
    layer(np.ones((1, 4, 2), "float32"))
    config = layer.get_config()
    assert config["cell"]["class_name"] == "StackedRNNCells"
    clone = kiln.layers.RNN.from_config(config)
    assert clone.go_backwards and clone.return_sequences
    assert [type(c).__name__ for c in clone.cell.cells] == ["LSTMCell", "GRUCell"]
    assert clone.state_size == [[3, 3], 2]


def test_errors():
    with pytest.raises(ValueError, match="`call` method"):
        kiln.layers.RNN(object())

    class NoState:
        def call(self, inputs, states):
            return inputs, states

    with pytest.raises(ValueError, match="state_size"):
        kiln.layers.RNN(NoState())
    with pytest.raises(ValueError, match="unroll"):
        kiln.layers.SimpleRNN(2, unroll=True)(kiln.Input((None, 3)))
    with pytest.raises(ValueError, match="batch size must be static"):
        kiln.layers.SimpleRNN(2, stateful=True)(kiln.Input((4, 3)))
