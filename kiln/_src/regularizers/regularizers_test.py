import keras
import numpy as np
import pytest

from kiln._src.backend.variable import Variable
from kiln._src.regularizers import lookup
from kiln._src.regularizers.regularizers import (
    L1,
    L1L2,
    L2,
    OrthogonalRegularizer,
    Regularizer,
)

X = np.array([[1.0, -2.0], [3.0, -4.0]], dtype="float32")  # sum|x|=10, sum x^2=30


@pytest.mark.parametrize(
    "regularizer, expected",
    [
        pytest.param(L1(0.1), 0.1 * 10, id="l1"),
        pytest.param(L2(0.1), 0.1 * 30, id="l2"),
        pytest.param(L1L2(0.1, 0.2), 0.1 * 10 + 0.2 * 30, id="l1_l2"),
        pytest.param(L1L2(), 0.0, id="l1_l2_defaults"),
        pytest.param(L1(), 0.01 * 10, id="l1_default"),
        pytest.param(L2(None), 0.01 * 30, id="l2_none"),
        pytest.param(Regularizer(), 0.0, id="base"),
    ],
)
def test_hand_computed_penalties(regularizer, expected):
    np.testing.assert_allclose(float(regularizer(X)), expected, rtol=1e-6)


def test_accepts_variables_and_keeps_dtype():
    penalty = L2(0.5)(Variable(X))
    assert penalty.shape == () and penalty.dtype == np.float32
    np.testing.assert_allclose(float(penalty), 15.0, rtol=1e-6)
    assert L1(0.5)(X.astype("float16")).dtype == np.float16


def test_orthogonal_regularizer_by_hand():
    # Rows (1, 0) and (1, 1)/sqrt(2): one pair with |cos| = 1/sqrt(2).
    x = np.array([[1.0, 0.0], [1.0, 1.0]], dtype="float32")
    value = OrthogonalRegularizer(factor=2.0)(x)
    # factor * 0.5 * (2 * 1/sqrt(2)) / 1 pair.
    np.testing.assert_allclose(float(value), 2.0 * 0.5 * 2 / np.sqrt(2), rtol=1e-6)
    assert float(OrthogonalRegularizer(1.0)(np.eye(3, dtype="float32"))) == 0.0
    cols = OrthogonalRegularizer(2.0, mode="columns")(x.T)
    np.testing.assert_allclose(float(cols), float(value), rtol=1e-6)
    with pytest.raises(ValueError, match="2D weights"):
        OrthogonalRegularizer()(np.ones((2, 2, 2)))


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (L1(0.005), keras.regularizers.L1(0.005)),
        (L2(0.005), keras.regularizers.L2(0.005)),
        (L1L2(0.005, 0.3), keras.regularizers.L1L2(0.005, 0.3)),
        (L1L2(l2=1e-4), keras.regularizers.L1L2(l2=1e-4)),
        (OrthogonalRegularizer(0.3), keras.regularizers.OrthogonalRegularizer(0.3)),
        (
            OrthogonalRegularizer(0.1, "columns"),
            keras.regularizers.OrthogonalRegularizer(0.1, "columns"),
        ),
    ],
    ids=["l1", "l2", "l1l2", "l1l2_l2", "orthogonal", "orthogonal_columns"],
)
def test_matches_keras(ours, theirs):
    # L1 and OrthogonalRegularizer write their factor rounded to float32.
    assert ours.get_config() == theirs.get_config()
    assert lookup.serialize(ours) == keras.regularizers.serialize(theirs)
    x = np.random.default_rng(0).normal(size=(4, 5)).astype("float32")
    # (Keras's NumPy path for OrthogonalRegularizer differs from its tensor
    # path and fails for mode="columns"; layers always pass tensors.)
    expected = float(theirs(keras.ops.convert_to_tensor(x)))
    np.testing.assert_allclose(float(ours(x)), expected, rtol=1e-6, atol=1e-7)
    clone = type(ours).from_config(ours.get_config())
    assert clone.get_config() == ours.get_config()


def test_float32_rounding_in_config():
    assert L1(0.005).get_config() == {"l1": 0.004999999888241291}
    assert L2(0.005).get_config() == {"l2": 0.005}


@pytest.mark.parametrize("value", [-1.0, float("nan"), float("inf"), "0.1", True])
def test_bad_factor(value):
    with pytest.raises(ValueError, match="Invalid value for argument l1"):
        L1(value)


def test_bad_mode():
    with pytest.raises(ValueError, match="Received: mode='diag'"):
        OrthogonalRegularizer(mode="diag")


def test_base_get_config_is_not_implemented():
    with pytest.raises(NotImplementedError, match="get_config"):
        Regularizer().get_config()


@pytest.mark.parametrize(
    "name, cls",
    [
        ("l1", L1),
        ("L1", L1),
        ("l2", L2),
        ("L2", L2),
        ("l1_l2", L1L2),
        ("l1l2", L1L2),
        ("L1L2", L1L2),
        ("orthogonal_regularizer", OrthogonalRegularizer),
        ("OrthogonalRegularizer", OrthogonalRegularizer),
    ],
)
def test_get_by_name(name, cls):
    assert type(lookup.get(name)) is cls


@pytest.mark.parametrize("identifier", ["l3", "L1_L2", 0.01, [1]])
def test_get_unknown(identifier):
    with pytest.raises(ValueError, match="Could not interpret regularizer") as info:
        lookup.get(identifier)
    assert "'l1_l2'" in str(info.value)


def test_get_other_identifiers():
    assert lookup.get(None) is None
    reg = L2(0.3)
    assert lookup.get(reg) is reg
    assert isinstance(lookup.get(L1), L1)
    assert lookup.get(abs) is abs
    reg = lookup.get({"class_name": "L1L2", "config": {"l1": 0.1, "l2": 0.2}})
    assert reg.get_config() == {"l1": 0.1, "l2": 0.2}
    envelope = keras.regularizers.serialize(keras.regularizers.L1(0.02))
    assert lookup.deserialize(envelope).get_config() == {"l1": float(np.float32(0.02))}


def test_public_names_match_keras_and_are_exported():
    import kiln.regularizers as public
    from kiln._src.api_export import get_exported_object

    keras_names = {n for n in dir(keras.regularizers) if not n.startswith("_")} - set()
    assert set(public.__all__) == keras_names
    for name in keras_names:
        assert get_exported_object(f"keras.regularizers.{name}") is getattr(
            public, name
        )
