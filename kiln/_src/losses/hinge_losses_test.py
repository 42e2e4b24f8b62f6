import jax
import keras
import numpy as np
import pytest

from kiln._src.losses import hinge_losses as hinge

REDUCTIONS = ["sum_over_batch_size", "sum", "none"]
RNG = np.random.default_rng(0)
CASES = {
    "hinge": (hinge.Hinge, keras.losses.Hinge),
    "squared_hinge": (hinge.SquaredHinge, keras.losses.SquaredHinge),
    "categorical_hinge": (hinge.CategoricalHinge, keras.losses.CategoricalHinge),
}
LABELS = {
    "zero_one": lambda: RNG.integers(0, 2, size=(4, 3)).astype("float32"),
    "minus_one_one": lambda: RNG.choice([-1.0, 1.0], size=(4, 3)).astype("float32"),
    "one_hot": lambda: np.eye(3, dtype="float32")[RNG.integers(0, 3, size=4)],
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("labels", sorted(LABELS))
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_matches_keras(case, labels, reduction, weighted):
    ours_cls, theirs_cls = CASES[case]
    y_true = LABELS[labels]()
    y_pred = RNG.normal(size=(4, 3)).astype("float32")
    weights = np.array([1.0, 0.5, 0.0, 2.0], "float32") if weighted else None
    expected = theirs_cls(reduction=reduction)(y_true, y_pred, sample_weight=weights)
    result = ours_cls(reduction=reduction)(y_true, y_pred, sample_weight=weights)
    np.testing.assert_allclose(result, expected, rtol=1e-6, atol=1e-6)
    assert ours_cls().get_config() == theirs_cls().get_config()


def test_hand_computed_values():
    # {0, 1} labels become {-1, 1}: max(1 + 0.5, 0) and max(1 - 2, 0).
    np.testing.assert_allclose(hinge.hinge([[0.0, 1.0]], [[0.5, 2.0]]), [0.75])
    np.testing.assert_allclose(
        hinge.squared_hinge([[0.0, 1.0]], [[0.5, 2.0]]), [1.5**2 / 2]
    )
    # Labels not all in {0, 1} are kept: 1 - (-1 * -0.5) = 0.5; 1 - 2 * 1 < 0.
    np.testing.assert_allclose(hinge.hinge([[-1.0, 2.0]], [[-0.5, 1.0]]), [0.25])
    # pos = 0.6, neg = max(0.3, 0.1) -> max(0.3 - 0.6 + 1, 0) = 0.7.
    np.testing.assert_allclose(
        hinge.categorical_hinge([[0.0, 1.0, 0.0]], [[0.3, 0.6, 0.1]]),
        [0.7],
        rtol=1e-6,
    )


def test_binary_label_conversion_is_jittable():
    fn = jax.jit(hinge.hinge)
    np.testing.assert_allclose(
        fn(np.array([[0.0, 1.0]]), np.array([[0.5, 2.0]])), [0.75]
    )
    np.testing.assert_allclose(
        fn(np.array([[-1.0, 2.0]]), np.array([[-0.5, 1.0]])), [0.25]
    )
