import numpy as np
import pytest

import kiln
from kiln._src.testing.layer_harness import check_layer


@pytest.mark.parametrize(
    "kwargs, exchange",
    [
        ({}, False),
        ({"return_sequences": True, "return_state": True, "go_backwards": True}, True),
        (
            {
                "use_bias": False,
                "activation": "relu",
                "recurrent_activation": "hard_sigmoid",
            },
            False,
        ),
        ({"recurrent_dropout": 0.3, "unit_forget_bias": False}, False),
    ],
    ids=["default", "all_outputs_backwards", "no_bias_activations", "split_gates"],
)
def test_lstm_matches_keras(tmp_path, kwargs, exchange):
    check_layer(
        tmp_path,
        lambda k: k.layers.LSTM(3, **kwargs),
        input_shape=(4, 2),
        exchange_files=exchange,
    )


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def test_lstm_formula_and_unit_forget_bias():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 4, 3)).astype("float32")
    layer = kiln.layers.LSTM(5, return_state=True)
    out, h_last, c_last = (np.asarray(v) for v in layer(x))
    w, u, b = layer.get_weights()
    np.testing.assert_array_equal(b, np.r_[np.zeros(5), np.ones(5), np.zeros(10)])
    b = rng.normal(size=b.shape).astype("float32")
    layer.cell.bias.assign(b)
    out, h_last, c_last = (np.asarray(v) for v in layer(x))
    h = c = np.zeros((2, 5), "float32")
    for t in range(4):
        z = x[:, t] @ w + h @ u + b
        i, f, g, o = np.split(z, 4, axis=1)
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        h = _sigmoid(o) * np.tanh(c)
    np.testing.assert_allclose(out, h, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h_last, h, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(c_last, c, rtol=1e-5, atol=1e-6)


def test_initial_state_and_compute_output_shape():
    layer = kiln.layers.LSTM(4, return_sequences=True, return_state=True)
    x = np.random.default_rng(1).normal(size=(2, 3, 2)).astype("float32")
    h0 = np.full((2, 4), 0.5, "float32")
    c0 = np.full((2, 4), -1.0, "float32")
    with_state = layer(x, initial_state=[h0, c0])
    without = layer(x)
    assert not np.allclose(np.asarray(with_state[0]), np.asarray(without[0]))
    assert layer.compute_output_shape((None, 3, 2)) == (
        (None, 3, 4),
        (None, 4),
        (None, 4),
    )
    assert kiln.layers.LSTM(4).compute_output_shape((2, 7, 3)) == (2, 4)


def test_training_dropout_changes_outputs_and_is_statistically_sane():
    layer = kiln.layers.LSTM(8, dropout=0.5, recurrent_dropout=0.5, seed=3)
    x = np.ones((64, 5, 4), "float32")
    inference = np.asarray(layer(x, training=False))
    first = np.asarray(layer(x, training=True))
    second = np.asarray(layer(x, training=True))
    assert not np.allclose(first, inference)
    assert not np.allclose(first, second)
    # The masks only live during the call.
    assert layer.cell._dropout_mask is None
    assert layer.cell._recurrent_dropout_mask is None
    # Dropping half the inputs of identical samples spreads the outputs.
    assert first.std(axis=0).mean() > 1e-3 and inference.std(axis=0).max() < 1e-6


def test_fit_with_dropout_is_jittable():
    model = kiln.Sequential(
        [
            kiln.Input((5, 3)),
            kiln.layers.LSTM(4, dropout=0.3, recurrent_dropout=0.3, seed=0),
            kiln.layers.Dense(1),
        ]
    )
    model.compile(loss="mse", optimizer="sgd")
    x = np.random.default_rng(0).normal(size=(8, 5, 3)).astype("float32")
    before = [np.array(w) for w in model.get_weights()]
    history = model.fit(x, np.ones((8, 1)), epochs=2, batch_size=4, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert any(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))


def test_errors():
    with pytest.raises(ValueError, match="units"):
        kiln.layers.LSTM(0)
    with pytest.raises(ValueError, match="use_cudnn"):
        kiln.layers.LSTM(2, use_cudnn="yes")
    with pytest.raises(ValueError, match="implementation"):
        kiln.layers.LSTMCell(2, implementation=3)
    with pytest.raises(ValueError, match="use_cudnn=True"):
        kiln.layers.LSTM(2, use_cudnn=True)(np.ones((1, 2, 2), "float32"))
    with pytest.raises(ValueError, match="expected ndim=3|ndim"):
        kiln.layers.LSTM(2)(np.ones((2, 3), "float32"))
