import keras
import numpy as np
import pytest

from kiln._src.backend.variable import Variable
from kiln._src.constraints import lookup
from kiln._src.constraints.constraints import (
    Constraint,
    MaxNorm,
    MinMaxNorm,
    NonNeg,
    UnitNorm,
)

EPS = 1e-7
# Column norms: 5 and 0.5.
W = np.array([[3.0, 0.3], [4.0, 0.4]], dtype="float32")


def test_max_norm_by_hand():
    out = np.asarray(MaxNorm(max_value=2.0)(W))
    # Column 0 (norm 5) is scaled to norm 2; column 1 (norm 0.5) is kept.
    np.testing.assert_allclose(out[:, 0], W[:, 0] * 2.0 / (5.0 + EPS), rtol=1e-6)
    np.testing.assert_allclose(out[:, 1], W[:, 1] * 0.5 / (0.5 + EPS), rtol=1e-6)
    # axis=1: row norms sqrt(9.09) and sqrt(16.16), both above 2.
    rows = np.asarray(MaxNorm(2.0, axis=1)(W))
    np.testing.assert_allclose(np.linalg.norm(rows, axis=1), [2.0, 2.0], rtol=1e-6)


def test_unit_norm_by_hand():
    out = np.asarray(UnitNorm()(W))
    np.testing.assert_allclose(out[:, 0], [0.6, 0.8], rtol=1e-6)
    np.testing.assert_allclose(out[:, 1], [0.6, 0.8], rtol=1e-5)


def test_min_max_norm_by_hand():
    out = np.asarray(MinMaxNorm(min_value=1.0, max_value=2.0)(W))
    np.testing.assert_allclose(np.linalg.norm(out, axis=0), [2.0, 1.0], rtol=1e-5)
    # rate 0.5: norm 5 -> 0.5 * 2 + 0.5 * 5 = 3.5; norm 0.5 -> 0.75.
    half = np.asarray(MinMaxNorm(1.0, 2.0, rate=0.5)(W))
    np.testing.assert_allclose(np.linalg.norm(half, axis=0), [3.5, 0.75], rtol=1e-5)


def test_non_neg_by_hand():
    out = NonNeg()(np.array([-1.0, 0.0, 2.5], dtype="float32"))
    np.testing.assert_array_equal(np.asarray(out), [0.0, 0.0, 2.5])


def test_conv_kernel_axes_and_variables():
    kernel = np.random.default_rng(0).normal(size=(3, 3, 2, 4)).astype("float32")
    out = np.asarray(UnitNorm(axis=[0, 1, 2])(Variable(kernel)))
    norms = np.sqrt(np.sum(np.square(out), axis=(0, 1, 2)))
    np.testing.assert_allclose(norms, np.ones(4), rtol=1e-5)


def test_base_constraint_is_identity():
    assert Constraint()(W) is W
    assert Constraint().get_config() == {}


CASES = [
    (MaxNorm(), keras.constraints.MaxNorm()),
    (MaxNorm(1.5, axis=[0, 1]), keras.constraints.MaxNorm(1.5, axis=[0, 1])),
    (NonNeg(), keras.constraints.NonNeg()),
    (UnitNorm(axis=1), keras.constraints.UnitNorm(axis=1)),
    (MinMaxNorm(), keras.constraints.MinMaxNorm()),
    (
        MinMaxNorm(0.5, 1.5, rate=0.3, axis=[0, 2]),
        keras.constraints.MinMaxNorm(0.5, 1.5, rate=0.3, axis=[0, 2]),
    ),
]


@pytest.mark.parametrize(
    "ours, theirs", CASES, ids=["max", "max_axes", "nonneg", "unit", "minmax", "mm2"]
)
def test_matches_keras(ours, theirs):
    w = np.random.default_rng(1).normal(scale=2.0, size=(4, 3, 5)).astype("float32")
    np.testing.assert_allclose(
        np.asarray(ours(w)),
        np.asarray(theirs(keras.ops.convert_to_tensor(w))),
        rtol=1e-6,
        atol=1e-6,
    )
    assert ours.get_config() == theirs.get_config()
    assert lookup.serialize(ours) == keras.constraints.serialize(theirs)
    clone = type(ours).from_config(ours.get_config())
    assert clone.get_config() == ours.get_config()


@pytest.mark.parametrize(
    "name, cls",
    [
        ("max_norm", MaxNorm),
        ("MaxNorm", MaxNorm),
        ("non_neg", NonNeg),
        ("NonNeg", NonNeg),
        ("unit_norm", UnitNorm),
        ("UnitNorm", UnitNorm),
        ("min_max_norm", MinMaxNorm),
        ("MinMaxNorm", MinMaxNorm),
        ("constraint", Constraint),
    ],
)
def test_get_by_name(name, cls):
    assert type(lookup.get(name)) is cls


@pytest.mark.parametrize("identifier", ["maxnorm", "non-neg", 2, (1,)])
def test_get_unknown(identifier):
    with pytest.raises(ValueError, match="Could not interpret constraint") as info:
        lookup.get(identifier)
    assert "'max_norm'" in str(info.value)


def test_get_other_identifiers():
    assert lookup.get(None) is None
    constraint = MaxNorm(3)
    assert lookup.get(constraint) is constraint
    assert isinstance(lookup.get(NonNeg), NonNeg)
    envelope = keras.constraints.serialize(keras.constraints.MaxNorm(3, axis=1))
    restored = lookup.get(envelope)
    assert isinstance(restored, MaxNorm)
    assert restored.get_config() == {"max_value": 3, "axis": 1}
    restored = lookup.deserialize({"class_name": "unit_norm", "config": {"axis": 2}})
    assert isinstance(restored, UnitNorm) and restored.axis == 2


def test_public_names_match_keras_and_are_exported():
    import kiln.constraints as public
    from kiln._src.api_export import get_exported_object

    keras_names = {n for n in dir(keras.constraints) if not n.startswith("_")} - set()
    assert set(public.__all__) == keras_names
    for name in keras_names:
        assert get_exported_object(f"keras.constraints.{name}") is getattr(public, name)
