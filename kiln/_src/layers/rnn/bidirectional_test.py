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
        (
            lambda k: k.layers.Bidirectional(k.layers.LSTM(3, return_sequences=True)),
            False,
        ),
        (
            lambda k: k.layers.Bidirectional(
                k.layers.GRU(3, reset_after=False), merge_mode="mul"
            ),
            False,
        ),
        (
            lambda k: k.layers.Bidirectional(
                k.layers.LSTM(2, return_state=True, return_sequences=True),
                merge_mode=None,
            ),
            False,
        ),
        (
            lambda k: k.layers.Bidirectional(
                k.layers.LSTM(3, return_sequences=True),
                backward_layer=k.layers.GRU(
                    3, return_sequences=True, go_backwards=True
                ),
            ),
            True,
        ),
    ],
    ids=[
        "concat_lstm",
        "mul_gru_reset_before",
        "none_with_states",
        "custom_backward_layer",
    ],
)
def test_bidirectional_matches_keras(tmp_path, factory, exchange):
    check_layer(tmp_path, factory, input_shape=(4, 2), exchange_files=exchange)


def test_bidirectional_initial_state(tmp_path):
    check_layer(
        tmp_path,
        lambda k: k.layers.Bidirectional(k.layers.GRU(3, return_state=True)),
        input_shape=[(4, 2), (3,), (3,)],
        call=lambda layer, ins: layer(ins[0], initial_state=[ins[1], ins[2]]),
        exchange_files=False,
    )


def test_masked_bidirectional_matches_keras():
    data = masked_sequences()

    def factory(lib):
        layers = [
            lib.layers.Bidirectional(lib.layers.LSTM(3, return_sequences=True)),
            lib.layers.Bidirectional(lib.layers.GRU(3), merge_mode="ave"),
            lib.layers.Bidirectional(
                lib.layers.SimpleRNN(2, return_sequences=True, return_state=True),
                merge_mode=None,
            ),
        ]
        return lambda x: [layer(x) for layer in layers]

    kiln_model, keras_model = masked_pair(factory, data)
    assert_outputs_close(
        kiln_model.predict(data, verbose=0), keras_model.predict(data, verbose=0)
    )


def test_structure_names_config_and_masks():
    layer = kiln.layers.Bidirectional(
        kiln.layers.LSTM(3, return_sequences=True, name="enc")
    )
    assert layer.forward_layer.name == "forward_enc"
    assert layer.backward_layer.name == "backward_enc"
    assert layer.backward_layer.go_backwards and not layer.forward_layer.go_backwards
    # Masked steps output zeros so both directions line up.
    assert layer.forward_layer.zero_output_for_mask
    x = kiln.layers.Masking()(kiln.Input((5, 2)))
    y = layer(x)
    assert y.shape == (None, 5, 6) and y._keras_mask is not None
    assert [w.path for w in layer.weights] == [
        f"{layer.name}/forward_enc/lstm_cell/kernel",
        f"{layer.name}/forward_enc/lstm_cell/recurrent_kernel",
        f"{layer.name}/forward_enc/lstm_cell/bias",
        f"{layer.name}/backward_enc/lstm_cell/kernel",
        f"{layer.name}/backward_enc/lstm_cell/recurrent_kernel",
        f"{layer.name}/backward_enc/lstm_cell/bias",
    ]
    config = layer.get_config()
    assert config["layer"]["config"]["name"] == "forward_enc"
    assert config["backward_layer"]["config"]["go_backwards"] is True
    clone = kiln.layers.Bidirectional.from_config(config)
    assert clone.forward_layer.name == "forward_enc"
    assert clone.backward_layer.name == "backward_enc"
    states = kiln.layers.Bidirectional(
        kiln.layers.GRU(2, return_state=True), merge_mode=None
    )(x)
    assert len(states) == 4 and all(t._keras_mask is None for t in states)


def test_compute_output_shape():
    cases = [
        (kiln.layers.Bidirectional(kiln.layers.LSTM(3)), (None, 6)),
        (kiln.layers.Bidirectional(kiln.layers.LSTM(3), merge_mode="sum"), (None, 3)),
        (
            kiln.layers.Bidirectional(
                kiln.layers.GRU(3, return_sequences=True, return_state=True)
            ),
            ((None, 5, 6), (None, 3), (None, 3)),
        ),
        (
            kiln.layers.Bidirectional(
                kiln.layers.LSTM(3, return_state=True), merge_mode=None
            ),
            ((None, 3), (None, 3), (None, 3), (None, 3), (None, 3), (None, 3)),
        ),
    ]
    for layer, expected in cases:
        assert layer.compute_output_shape((None, 5, 2)) == expected


def test_initial_weights():
    source = kiln.layers.Bidirectional(kiln.layers.SimpleRNN(2))
    source.build((None, 3, 4))
    weights = source.get_weights()
    layer = kiln.layers.Bidirectional(kiln.layers.SimpleRNN(2), weights=weights)
    layer(np.ones((1, 3, 4), "float32"))
    for a, b in zip(layer.get_weights(), weights):
        np.testing.assert_array_equal(a, b)


def test_errors():
    with pytest.raises(ValueError, match="Layer` instance"):
        kiln.layers.Bidirectional("lstm")
    with pytest.raises(ValueError, match="merge mode"):
        kiln.layers.Bidirectional(kiln.layers.LSTM(2), merge_mode="max")
    with pytest.raises(ValueError, match="backward_layer"):
        kiln.layers.Bidirectional(kiln.layers.LSTM(2), backward_layer="gru")
    with pytest.raises(ValueError, match="go_backwards"):
        kiln.layers.Bidirectional(
            kiln.layers.LSTM(2), backward_layer=kiln.layers.LSTM(2)
        )
    with pytest.raises(ValueError, match="return_sequences"):
        kiln.layers.Bidirectional(
            kiln.layers.LSTM(2),
            backward_layer=kiln.layers.LSTM(
                2, go_backwards=True, return_sequences=True
            ),
        )
    with pytest.raises(AttributeError, match="stateful"):
        kiln.layers.Bidirectional(kiln.layers.LSTM(2)).reset_state()
