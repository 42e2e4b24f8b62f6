import numpy as np
import pytest

import kiln
from kiln._src.testing.layer_harness import check_layer


@pytest.mark.parametrize(
    "kwargs, exchange",
    [
        ({}, True),
        ({"reset_after": False}, False),
        (
            {"reset_after": False, "recurrent_dropout": 0.2, "return_sequences": True},
            False,
        ),
        ({"use_bias": False, "unroll": True}, False),
    ],
    ids=[
        "reset_after",
        "reset_before",
        "reset_before_split_gates",
        "no_bias_unroll",
    ],
)
def test_gru_matches_keras(tmp_path, kwargs, exchange):
    check_layer(
        tmp_path,
        lambda k: k.layers.GRU(3, **kwargs),
        input_shape=(4, 2),
        exchange_files=exchange,
    )


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_formula(reset_after):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 4, 3)).astype("float32")
    layer = kiln.layers.GRU(5, reset_after=reset_after, return_sequences=True)
    layer.build((None, 4, 3))
    bias_shape = (2, 15) if reset_after else (15,)
    assert layer.cell.bias.shape == bias_shape
    layer.cell.bias.assign(rng.normal(size=bias_shape).astype("float32"))
    out = np.asarray(layer(x))
    w, u, b = layer.get_weights()
    h = np.zeros((2, 5), "float32")
    for t in range(4):
        if reset_after:
            xz, xr, xh = np.split(x[:, t] @ w + b[0], 3, axis=1)
            rz, rr, rh = np.split(h @ u + b[1], 3, axis=1)
            z, r = _sigmoid(xz + rz), _sigmoid(xr + rr)
            hh = np.tanh(xh + r * rh)
        else:
            xz, xr, xh = np.split(x[:, t] @ w + b, 3, axis=1)
            rz, rr = np.split(h @ u[:, :10], 2, axis=1)
            z, r = _sigmoid(xz + rz), _sigmoid(xr + rr)
            hh = np.tanh(xh + (r * h) @ u[:, 10:])
        h = z * h + (1 - z) * hh
        np.testing.assert_allclose(out[:, t], h, rtol=1e-5, atol=1e-6)


def test_gru_weights_and_state():
    layer = kiln.layers.GRU(4, return_state=True)
    out, state = layer(np.ones((2, 3, 5), "float32"))
    np.testing.assert_allclose(np.asarray(out), np.asarray(state))
    assert [w.path for w in layer.weights] == [
        f"{layer.name}/gru_cell/kernel",
        f"{layer.name}/gru_cell/recurrent_kernel",
        f"{layer.name}/gru_cell/bias",
    ]
    assert layer.reset_after is True and layer.cell.reset_after is True


def test_errors():
    with pytest.raises(ValueError, match="units"):
        kiln.layers.GRUCell(0)
    with pytest.raises(ValueError, match="use_cudnn"):
        kiln.layers.GRU(2, use_cudnn=1.5)
