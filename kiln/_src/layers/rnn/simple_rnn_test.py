import numpy as np
import pytest

import kiln
from kiln._src.testing.layer_harness import check_layer


@pytest.mark.parametrize(
    "kwargs, exchange",
    [
        ({}, True),
        ({"return_state": True, "return_sequences": True}, False),
        ({"unroll": True, "return_sequences": True, "go_backwards": True}, False),
        ({"use_bias": False, "activation": "relu", "dropout": 0.2}, False),
    ],
    ids=["default", "state", "unroll_backwards", "no_bias_relu"],
)
def test_simple_rnn_matches_keras(tmp_path, kwargs, exchange):
    check_layer(
        tmp_path,
        lambda k: k.layers.SimpleRNN(3, **kwargs),
        input_shape=(4, 2),
        exchange_files=exchange,
    )


def test_simple_rnn_formula_and_lazy_weights():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 4, 3)).astype("float32")
    layer = kiln.layers.SimpleRNN(5, return_sequences=True)
    assert not layer.built and layer.weights == []
    out = np.asarray(layer(x))
    # Built on first call, with Keras's weight order, paths and shapes.
    assert [w.path for w in layer.weights] == [
        f"{layer.name}/simple_rnn_cell/kernel",
        f"{layer.name}/simple_rnn_cell/recurrent_kernel",
        f"{layer.name}/simple_rnn_cell/bias",
    ]
    assert [w.shape for w in layer.weights] == [(3, 5), (5, 5), (5,)]
    w, u, b = layer.get_weights()
    h = np.zeros((2, 5), "float32")
    for t in range(4):
        h = np.tanh(x[:, t] @ w + h @ u + b)
        np.testing.assert_allclose(out[:, t], h, rtol=1e-5, atol=1e-6)


def test_activity_regularizer_is_dropped_like_keras():
    # Keras 3's SimpleRNN accepts activity_regularizer but never applies it.
    layer = kiln.layers.SimpleRNN(2, activity_regularizer="l2")
    assert layer.activity_regularizer is None
    assert layer.get_config()["activity_regularizer"] is None
    assert "seed" not in layer.get_config()


def test_cell_dropout_masks_are_reused_until_reset():
    cell = kiln.layers.SimpleRNNCell(3, dropout=0.5, recurrent_dropout=0.5, seed=1)
    x = np.ones((200, 50), "float32")
    mask = np.asarray(cell.get_dropout_mask(x))
    assert set(np.unique(mask)) <= {0.0, 2.0}
    assert abs((mask == 0).mean() - 0.5) < 0.03
    np.testing.assert_array_equal(np.asarray(cell.get_dropout_mask(x)), mask)
    cell.reset_dropout_mask()
    assert not np.array_equal(np.asarray(cell.get_dropout_mask(x)), mask)


def test_cell_errors():
    with pytest.raises(ValueError, match="units"):
        kiln.layers.SimpleRNNCell(0)
    with pytest.raises(ValueError, match="units"):
        kiln.layers.SimpleRNN(-2)
    with pytest.raises(ValueError, match="dropout"):
        kiln.layers.SimpleRNN(2, dropout="half")
    # Keras clips rates into [0, 1].
    assert kiln.layers.SimpleRNNCell(2, dropout=1.5).dropout == 1.0
