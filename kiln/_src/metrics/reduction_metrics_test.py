import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

from kiln._src.losses.regression_losses import huber, mean_squared_error
from kiln._src.metrics.reduction_metrics import Mean, MeanMetricWrapper, Sum
from kiln._src.saving.serialization_lib import (
    deserialize_keras_object,
    serialize_keras_object,
)

RNG = np.random.default_rng(0)


def test_mean_and_sum_by_hand():
    mean, total = Mean(), Sum()
    for metric in (mean, total):
        metric.update_state([1, 3, 5, 7])
    assert float(mean.result()) == 4.0 and float(total.result()) == 16.0
    for metric in (mean, total):
        metric.update_state([2, 4], sample_weight=[1, 0])
    # Mean: (16 + 2) / (4 + 1); Sum: 16 + 2.
    assert float(mean.result()) == pytest.approx(18.0 / 5.0)
    assert float(total.result()) == 18.0
    mean.update_state(10.0)  # a scalar counts as one sample
    assert float(mean.result()) == pytest.approx(28.0 / 6.0)
    mean.reset_state()
    total.reset_state()
    assert float(mean.result()) == 0.0 and float(total.result()) == 0.0


def test_mean_of_rank_2_values_averages_each_sample_first():
    mean = Mean()
    # Per-sample means [2, 6] weighted by [1, 3]: (2 + 18) / 4.
    mean.update_state([[1.0, 3.0], [5.0, 7.0]], sample_weight=[1.0, 3.0])
    assert float(mean.result()) == pytest.approx(5.0)


WEIGHT_SHAPES = {
    "none": None,
    "scalar": (),
    "per_sample": (4,),
    "column": (4, 1),
    "full": (4, 3),
}


@pytest.mark.parametrize("metric_name", ["Mean", "Sum"])
@pytest.mark.parametrize("values_shape", [(4,), (4, 3), (4, 3, 2)], ids=str)
@pytest.mark.parametrize("weights", sorted(WEIGHT_SHAPES))
def test_matches_keras_over_several_updates(metric_name, values_shape, weights):
    ours = {"Mean": Mean, "Sum": Sum}[metric_name]()
    theirs = getattr(keras.metrics, metric_name)()
    shape = WEIGHT_SHAPES[weights]
    for _ in range(3):
        values = RNG.normal(size=values_shape).astype("float32")
        weight = None if shape is None else RNG.uniform(size=shape).astype("float32")
        try:
            theirs.update_state(values, sample_weight=weight)
        except Exception:  # weights Keras cannot broadcast must fail here too
            with pytest.raises(Exception):  # noqa: B017
                ours.update_state(values, sample_weight=weight)
            return
        ours.update_state(values, sample_weight=weight)
        np.testing.assert_allclose(ours.result(), theirs.result(), rtol=1e-6, atol=1e-6)
    for mine, keras_var in zip(ours.variables, theirs.variables):
        np.testing.assert_allclose(
            mine.numpy(), np.asarray(keras_var.value), rtol=1e-6, atol=1e-6
        )


def test_stateless_mean_under_jit_matches_stateful():
    metric = Mean()
    batches = [(RNG.normal(size=(4, 2)), RNG.uniform(size=(4,))) for _ in range(3)]
    step = jax.jit(metric.stateless_update_state)
    state = metric.stateless_reset_state()
    for values, weight in batches:
        state = step(state, jnp.asarray(values), jnp.asarray(weight))
        metric.update_state(values, sample_weight=weight)
    np.testing.assert_allclose(
        metric.stateless_result(state), metric.result(), atol=1e-6, rtol=1e-6
    )
    assert [float(v) for v in metric.stateless_reset_state()] == [0.0, 0.0]


def test_mean_metric_wrapper_by_hand_and_against_keras():
    ours = MeanMetricWrapper(huber, delta=0.5)
    theirs = keras.metrics.MeanMetricWrapper(keras.losses.huber, delta=0.5)
    for _ in range(3):
        y_true = RNG.normal(size=(4, 2)).astype("float32")
        y_pred = RNG.normal(size=(4, 2)).astype("float32")
        weight = RNG.uniform(size=(4,)).astype("float32")
        ours.update_state(y_true, y_pred, sample_weight=weight)
        theirs.update_state(y_true, y_pred, sample_weight=weight)
    np.testing.assert_allclose(ours.result(), theirs.result(), rtol=1e-6)
    by_hand = MeanMetricWrapper(mean_squared_error)
    by_hand.update_state([[0.0, 1.0]], [[1.0, 1.0]])  # 0.5
    by_hand.update_state([[0.0, 0.0], [2.0, 2.0]], [[0.0, 0.0], [0.0, 0.0]])  # 0, 4
    assert float(by_hand.result()) == pytest.approx(4.5 / 3)
    assert by_hand._direction == "down"


def test_configs_match_keras_and_round_trip():
    assert Mean().get_config() == keras.metrics.Mean().get_config()
    assert Sum(name="s").get_config() == keras.metrics.Sum(name="s").get_config()
    ours = MeanMetricWrapper(huber, name="w", delta=2.0)
    theirs = keras.metrics.MeanMetricWrapper(keras.losses.huber, name="w", delta=2.0)
    assert ours.get_config() == theirs.get_config()
    envelope = serialize_keras_object(ours)
    assert envelope == keras.saving.serialize_keras_object(theirs)
    clone = deserialize_keras_object(envelope)
    assert isinstance(clone, MeanMetricWrapper) and clone._fn is huber
    assert clone.get_config() == ours.get_config()


def test_fn_must_be_callable():
    with pytest.raises(TypeError, match="Received: fn='mse'"):
        MeanMetricWrapper("mse")
