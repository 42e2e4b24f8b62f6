import warnings

import keras
import numpy as np
import pytest

from kiln._src.activations import activations as act
from kiln._src.activations import lookup
from kiln._src.backend.keras_tensor import KerasTensor
from kiln._src.backend.variable import Variable

X = np.random.default_rng(0).normal(scale=3.0, size=(4, 6)).astype("float32")

# (name, kwargs): every Keras activation, with default and non-default arguments.
CASES = [
    ("relu", {}),
    ("relu", {"negative_slope": 0.1}),
    ("relu", {"max_value": 2.5}),
    ("relu", {"max_value": 6}),
    ("relu", {"threshold": 0.7}),
    ("relu", {"negative_slope": 0.2, "max_value": 3.0, "threshold": 0.5}),
    ("relu", {"negative_slope": 0.3, "max_value": 4.0}),
    ("leaky_relu", {}),
    ("leaky_relu", {"negative_slope": 0.05}),
    ("relu6", {}),
    ("softmax", {}),
    ("softmax", {"axis": 0}),
    ("softmax", {"axis": (0, 1)}),
    ("log_softmax", {}),
    ("log_softmax", {"axis": 0}),
    ("celu", {}),
    ("celu", {"alpha": 0.5}),
    ("elu", {}),
    ("elu", {"alpha": 0.3}),
    ("selu", {}),
    ("softplus", {}),
    ("softsign", {}),
    ("squareplus", {}),
    ("squareplus", {"b": 1.0}),
    ("soft_shrink", {}),
    ("soft_shrink", {"threshold": 1.0}),
    ("sparse_plus", {}),
    ("silu", {}),
    ("swish", {}),
    ("gelu", {}),
    ("gelu", {"approximate": True}),
    ("glu", {}),
    ("glu", {"axis": 0}),
    ("tanh", {}),
    ("tanh_shrink", {}),
    ("threshold", {"threshold": 0.5, "default_value": -1.0}),
    ("sigmoid", {}),
    ("sparse_sigmoid", {}),
    ("exponential", {}),
    ("hard_sigmoid", {}),
    ("hard_silu", {}),
    ("hard_swish", {}),
    ("hard_tanh", {}),
    ("hard_shrink", {}),
    ("hard_shrink", {"threshold": 1.5}),
    ("linear", {}),
    ("mish", {}),
    ("log_sigmoid", {}),
]


@pytest.mark.parametrize(
    "name, kwargs", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)]
)
def test_matches_keras(name, kwargs):
    ours = np.asarray(lookup.get(name)(X, **kwargs))
    theirs = np.asarray(getattr(keras.activations, name)(X, **kwargs))
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)


def test_gelu_default_is_exact():
    x = np.array([1.0], dtype="float32")
    # x * Phi(x) with Phi(1) = 0.8413447460685429.
    np.testing.assert_allclose(np.asarray(act.gelu(x)), [0.8413447], rtol=1e-6)


def test_hand_values():
    x = np.array([-3.0, -1.0, 0.0, 0.5, 2.0, 8.0], dtype="float32")
    np.testing.assert_allclose(np.asarray(act.relu(x)), [0, 0, 0, 0.5, 2, 8])
    np.testing.assert_allclose(
        np.asarray(act.relu(x, negative_slope=0.5, max_value=4.0, threshold=1.0)),
        [-2.0, -1.0, -0.5, -0.25, 2.0, 4.0],
    )
    np.testing.assert_allclose(np.asarray(act.relu6(x)), [0, 0, 0, 0.5, 2, 6])
    np.testing.assert_allclose(
        np.asarray(act.hard_sigmoid(x)), np.clip(x / 6 + 0.5, 0, 1), rtol=1e-6
    )
    np.testing.assert_allclose(
        np.asarray(act.leaky_relu(x)), np.where(x > 0, x, 0.2 * x), rtol=1e-6
    )
    np.testing.assert_allclose(
        np.asarray(act.softsign(x)), x / (1 + np.abs(x)), rtol=1e-6
    )
    np.testing.assert_allclose(
        np.asarray(act.elu(x, alpha=2.0)),
        np.where(x > 0, x, 2 * np.expm1(x)),
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        np.asarray(act.softmax(np.array([0.0, np.log(3.0)]))), [0.25, 0.75], rtol=1e-6
    )


def test_sparsemax_is_a_simplex_projection():
    # Hand values: [1.0, 0.8] -> tau = (1.8 - 1) / 2 = 0.4 -> [0.6, 0.4];
    # [3, 0, 0] -> [1, 0, 0]. (Keras 3.15.1 returns [0.1, 0] for the first
    # row: its tau sums the cumulative sums; kiln follows the paper.)
    x = np.array([[1.0, 0.8, -1.0], [3.0, 0.0, 0.0]], dtype="float32")
    out = np.asarray(act.sparsemax(x))
    np.testing.assert_allclose(out, [[0.6, 0.4, 0.0], [1.0, 0.0, 0.0]], rtol=1e-6)
    rows = np.asarray(act.sparsemax(X))
    np.testing.assert_allclose(rows.sum(axis=-1), np.ones(4), rtol=1e-6)
    assert (rows >= 0).all()
    # One-entry support agrees with Keras.
    np.testing.assert_allclose(out[1], np.asarray(keras.activations.sparsemax(x))[1])


def test_glu_needs_an_even_axis():
    with pytest.raises(ValueError, match="even size"):
        act.glu(np.ones((2, 3), dtype="float32"))


def test_softmax_warns_on_a_size_one_axis():
    with pytest.warns(UserWarning, match="has size 1"):
        act.softmax(np.ones((3, 1), dtype="float32"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        act.softmax(np.ones((3, 2), dtype="float32"))


def test_variables_and_dtypes():
    variable = Variable(X)
    np.testing.assert_allclose(np.asarray(act.relu(variable)), np.maximum(X, 0))
    np.testing.assert_allclose(np.asarray(act.mish(variable)), np.asarray(act.mish(X)))
    assert act.relu(X.astype("float16"), max_value=2.0).dtype == np.float16


@pytest.mark.parametrize("name", sorted(set(lookup.ALL_OBJECTS_DICT) - {"linear"}))
def test_symbolic_inputs_record_an_op(name):
    fn = lookup.get(name)
    kwargs = {"threshold": 0.0, "default_value": 0.0} if name == "threshold" else {}
    x = KerasTensor((None, 6), dtype="float32")
    y = fn(x, **kwargs)
    assert isinstance(y, KerasTensor) and y.shape == (
        (None, 3) if name == "glu" else (None, 6)
    )
    assert y._keras_history is not None


def test_symbolic_relu_records_keras_relu_op():
    y = act.relu(KerasTensor((2, 3)), max_value=2.0)
    op = y._keras_history[0]
    assert type(op).__name__ == "ReLU"
    assert op.get_config()["max_value"] == 2.0
    assert type(act.mish(KerasTensor((2, 3)))._keras_history[0]).__name__ == "Mish"
