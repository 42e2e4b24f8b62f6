import keras
import numpy as np
import pytest

from kiln._src.initializers.constant_initializers import Constant, Identity, Ones, Zeros


@pytest.mark.parametrize(
    "init, expected",
    [
        pytest.param(Zeros(), np.zeros((2, 3)), id="zeros"),
        pytest.param(Ones(), np.ones((2, 3)), id="ones"),
        pytest.param(Constant(2.5), np.full((2, 3), 2.5), id="constant"),
        pytest.param(Identity(), np.eye(2, 3), id="identity"),
        pytest.param(Identity(gain=3.0), 3.0 * np.eye(2, 3), id="identity_gain"),
    ],
)
def test_values_and_default_dtype(init, expected):
    values = init((2, 3))
    assert values.dtype == np.float32
    np.testing.assert_array_equal(np.asarray(values), expected)


@pytest.mark.parametrize("dtype", ["int32", "float16", "bool"])
def test_explicit_dtype(dtype):
    assert Zeros()((2,), dtype=dtype).dtype == np.dtype(dtype)
    assert Ones()([2], dtype=dtype).dtype == np.dtype(dtype)
    assert Constant(1)((2,), dtype=dtype).dtype == np.dtype(dtype)


def test_constant_array_value_broadcasts():
    values = Constant(np.array([1.0, 2.0]))((3, 2))
    np.testing.assert_array_equal(np.asarray(values), [[1, 2]] * 3)


def test_identity_needs_rank_2():
    with pytest.raises(ValueError, match="rank 3"):
        Identity()((2, 2, 2))


def test_unknown_dimension_is_rejected():
    with pytest.raises(ValueError, match="fully-defined shape"):
        Zeros()((None, 3))


@pytest.mark.parametrize(
    "ours, theirs",
    [
        pytest.param(Zeros(), keras.initializers.Zeros(), id="zeros"),
        pytest.param(Ones(), keras.initializers.Ones(), id="ones"),
        pytest.param(Constant(), keras.initializers.Constant(), id="constant"),
        pytest.param(Constant(3), keras.initializers.Constant(3), id="constant_int"),
        pytest.param(Identity(), keras.initializers.Identity(), id="identity"),
    ],
)
def test_matches_keras(ours, theirs):
    assert ours.get_config() == theirs.get_config()
    np.testing.assert_array_equal(np.asarray(ours((3, 3))), np.asarray(theirs((3, 3))))


def test_config_round_trip():
    init = Constant(np.array([1.0, 2.0], dtype="float32"))
    config = init.get_config()
    assert config["value"]["class_name"] == "__numpy__"
    clone = Constant.from_config(config)
    np.testing.assert_array_equal(np.asarray(clone((1, 2))), [[1.0, 2.0]])
    # Keras drops a non-default gain from the config; kiln keeps it.
    assert Identity(gain=2.0).clone().gain == 2.0
    assert isinstance(Ones().clone(), Ones)
