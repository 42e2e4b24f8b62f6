import keras
import numpy as np
import pytest

from kiln._src.metrics import hinge_metrics

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("name", ["Hinge", "SquaredHinge", "CategoricalHinge"])
@pytest.mark.parametrize("weighted", [False, True])
def test_matches_keras_over_three_updates(name, weighted):
    ours, theirs = getattr(hinge_metrics, name)(), getattr(keras.metrics, name)()
    for _ in range(3):
        y_true = np.eye(3, dtype="float32")[RNG.integers(0, 3, size=4)]
        y_pred = RNG.normal(size=(4, 3)).astype("float32")
        weight = RNG.uniform(size=(4,)).astype("float32") if weighted else None
        ours.update_state(y_true, y_pred, sample_weight=weight)
        theirs.update_state(y_true, y_pred, sample_weight=weight)
        np.testing.assert_allclose(ours.result(), theirs.result(), rtol=1e-6)
    assert ours.get_config() == theirs.get_config()
    assert ours._direction == "down"


def test_hand_computed_hinge():
    metric = hinge_metrics.Hinge()
    metric.update_state([[0.0, 1.0]], [[0.5, 2.0]])  # 0.75
    metric.update_state([[1.0, 1.0]], [[0.0, 0.0]])  # 1.0
    assert float(metric.result()) == pytest.approx(0.875)
