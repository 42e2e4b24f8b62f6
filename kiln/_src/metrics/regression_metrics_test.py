import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

from kiln._src.metrics import regression_metrics as reg

RNG = np.random.default_rng(0)
CASES = {
    "MeanSquaredError": {},
    "MeanAbsoluteError": {},
    "MeanAbsolutePercentageError": {},
    "MeanSquaredLogarithmicError": {},
    "RootMeanSquaredError": {},
    "LogCoshError": {},
    "CosineSimilarity": {},
    "CosineSimilarity_axis0": {"axis": 0},
}
WEIGHTS = {"none": None, "per_sample": (4,), "column": (4, 1), "full": (4, 3)}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("weights", sorted(WEIGHTS))
def test_matches_keras_over_three_updates(case, weights):
    name, kwargs = case.split("_")[0], CASES[case]
    ours, theirs = getattr(reg, name)(**kwargs), getattr(keras.metrics, name)(**kwargs)
    for _ in range(3):
        y_true = RNG.uniform(0.1, 2.0, size=(4, 3)).astype("float32")
        y_pred = RNG.uniform(0.1, 2.0, size=(4, 3)).astype("float32")
        shape = WEIGHTS[weights]
        weight = None if shape is None else RNG.uniform(size=shape).astype("float32")
        try:
            theirs.update_state(y_true, y_pred, sample_weight=weight)
        except Exception:  # shapes Keras refuses must fail here too
            with pytest.raises(Exception):  # noqa: B017
                ours.update_state(y_true, y_pred, sample_weight=weight)
            return
        ours.update_state(y_true, y_pred, sample_weight=weight)
        np.testing.assert_allclose(ours.result(), theirs.result(), rtol=1e-6)
    assert ours.get_config() == theirs.get_config()
    assert ours._direction == theirs._direction


@pytest.mark.parametrize(
    "name", ["MeanSquaredError", "RootMeanSquaredError", "CosineSimilarity"]
)
def test_stateless_api_under_jit_matches_stateful(name):
    metric = getattr(reg, name)()
    step = jax.jit(metric.stateless_update_state)
    state = metric.stateless_reset_state()
    for _ in range(3):
        y_true, y_pred, weight = (
            RNG.normal(size=(4, 3)),
            RNG.normal(size=(4, 3)),
            RNG.uniform(size=(4,)),
        )
        state = step(
            state, jnp.asarray(y_true), jnp.asarray(y_pred), jnp.asarray(weight)
        )
        metric.update_state(y_true, y_pred, sample_weight=weight)
    np.testing.assert_allclose(
        metric.stateless_result(state), metric.result(), atol=1e-6, rtol=1e-6
    )


def test_hand_computed_values():
    mse = reg.MeanSquaredError()
    mse.update_state([[0, 1], [0, 0]], [[1, 1], [0, 0]])  # per sample 0.5, 0
    assert float(mse.result()) == 0.25
    mse.update_state([[0, 0]], [[2, 2]], sample_weight=[2.0])  # 4 with weight 2
    assert float(mse.result()) == pytest.approx((0.5 + 8.0) / 4.0)
    rmse = reg.RootMeanSquaredError()
    rmse.update_state([[0, 1], [0, 0]], [[1, 1], [0, 0]])
    assert float(rmse.result()) == pytest.approx(0.5)
    rmse.update_state([2.0], [0.0])
    assert float(rmse.result()) == pytest.approx(np.sqrt((0.5 + 4.0) / 3.0))
    mae = reg.MeanAbsoluteError()
    mae.update_state([[0, 1]], [[3, 1]])
    mae.update_state([[1, 1]], [[0, 0]])
    assert float(mae.result()) == pytest.approx(1.25)
    cosine = reg.CosineSimilarity()
    cosine.update_state([[0, 1], [1, 1]], [[1, 0], [1, 1]])
    assert float(cosine.result()) == pytest.approx(0.5)
    mse.reset_state()
    assert float(mse.result()) == 0.0


def test_default_names_match_keras():
    for name in sorted({case.split("_")[0] for case in CASES}):
        assert getattr(reg, name)().name == getattr(keras.metrics, name)().name
