import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

from kiln._src.backend.variable import Variable
from kiln._src.metrics.metric import Metric
from kiln._src.metrics.reduction_metrics import Mean


class TruePositives(Metric):
    def __init__(self, name="true_positives", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.true_positives = self.add_variable(
            shape=(), initializer="zeros", name="true_positives"
        )

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = jnp.logical_and(jnp.asarray(y_true, bool), jnp.asarray(y_pred, bool))
        values = values.astype(self.dtype)
        if sample_weight is not None:
            values = values * jnp.asarray(sample_weight, self.dtype)
        self.true_positives.assign(self.true_positives + jnp.sum(values))

    def result(self):
        return self.true_positives.value


class MeanAndMax(Metric):
    """Holds a sub-metric and a variable of its own."""

    def __init__(self):
        super().__init__(name="mean_and_max")
        self.maximum = self.add_variable((), "zeros", name="maximum")
        self.mean = Mean(name="inner")

    def update_state(self, values):
        self.maximum.assign(jnp.maximum(self.maximum.value, jnp.max(values)))
        self.mean.update_state(values)

    def result(self):
        return {"max": self.maximum.value, "mean": self.mean.result()}


def test_custom_metric_imperative_api():
    metric = TruePositives()
    assert float(metric([1, 1, 0], [1, 0, 0])) == 1.0
    metric.update_state([1, 1], [1, 1], sample_weight=[0.5, 2.0])
    assert float(metric.result()) == 3.5
    metric.reset_state()
    assert float(metric.result()) == 0.0


def test_variables_are_non_trainable_and_named_like_keras():
    ours, theirs = Mean(name="loss/mean"), keras.metrics.Mean(name="loss/mean")
    assert [
        (v.path, v.name, v.dtype, v.trainable, v.aggregation) for v in ours.variables
    ] == [
        (v.path, v.name, v.dtype, v.trainable, v.aggregation) for v in theirs.variables
    ]
    assert all(isinstance(v, Variable) for v in ours.variables)
    assert ours.get_config() == theirs.get_config()
    assert repr(ours) == repr(theirs) == "<Mean name=loss/mean>"


def test_sub_metrics_and_attribute_variables_are_tracked():
    metric = MeanAndMax()
    assert [v.path for v in metric.variables] == [
        "mean_and_max/maximum",
        "inner/total",
        "inner/count",
    ]
    metric.extra = Variable(np.zeros(()), name="extra")
    assert metric.variables[1].name == "extra"
    result = metric(jnp.array([1.0, 5.0, 3.0]))
    assert float(result["max"]) == 5.0 and float(result["mean"]) == 3.0
    metric.reset_state()
    assert all(float(v.value) == 0.0 for v in metric.variables)


def test_stateless_api_under_jit_matches_stateful_api():
    metric = MeanAndMax()
    batches = [jnp.array([1.0, 5.0]), jnp.array([7.0]), jnp.array([0.0, 2.0, 4.0])]

    @jax.jit
    def step(values, batch):
        return metric.stateless_update_state(values, batch)

    state = metric.stateless_reset_state()
    for batch in batches:
        state = step(state, batch)
    stateless = jax.jit(metric.stateless_result)(state)
    # The variables were not touched.
    assert all(float(v.value) == 0.0 for v in metric.variables)
    for batch in batches:
        metric.update_state(batch)
    stateful = metric.result()
    assert float(stateless["max"]) == float(stateful["max"]) == 7.0
    assert float(stateless["mean"]) == pytest.approx(float(stateful["mean"]))
    assert float(stateful["mean"]) == pytest.approx(19.0 / 6.0)


def test_stateless_update_keeps_values_it_does_not_assign():
    class OnlyFirst(Metric):
        def __init__(self):
            super().__init__()
            self.a = self.add_variable((), "zeros", name="a")
            self.b = self.add_variable((), "ones", name="b")

        def update_state(self, x):
            self.a.assign(self.a + x)

        def result(self):
            return self.a + self.b

    metric = OnlyFirst()
    new = jax.jit(metric.stateless_update_state)([jnp.array(1.0), jnp.array(5.0)], 2.0)
    assert [float(v) for v in new] == [3.0, 5.0]
    assert [float(v) for v in metric.stateless_reset_state()] == [0.0, 0.0]


def test_stateless_api_checks_the_number_of_values():
    metric = Mean()
    with pytest.raises(ValueError, match="expected 2 values"):
        metric.stateless_update_state([jnp.zeros(())], [1.0])
    with pytest.raises(ValueError, match="Received: a list of length 3"):
        metric.stateless_result([jnp.zeros(())] * 3)


def test_initializers_and_dtype():
    class Custom(Metric):
        def __init__(self):
            super().__init__(dtype="float16", name="c")
            self.ones = self.add_variable((2,), "ones", name="ones")
            self.fn = self.add_variable(
                (2,), lambda s, d: jnp.full(s, 3.0, d), dtype="int32", name="fn"
            )
            self.weight = self.add_weight((), name="w")

        def result(self):
            return self.ones.value

    metric = Custom()
    assert metric.dtype == "float16"
    np.testing.assert_array_equal(metric.ones.numpy(), [1.0, 1.0])
    assert metric.fn.dtype == "int32" and metric.fn.numpy().tolist() == [3, 3]
    assert float(metric.weight.value) == 0.0
    assert metric.get_config() == {"name": "c", "dtype": "float16"}
    # Other names go through kiln.initializers.
    normal = metric.add_variable((3,), "random_normal", name="normal")
    assert normal.shape == (3,) and normal.path == "c/normal"
    with pytest.raises(ValueError, match="nope"):
        metric.add_variable((), "nope")


def test_forgetting_super_init_is_reported():
    class Broken(Metric):
        def __init__(self):
            self.v = 1

    with pytest.raises(RuntimeError, match="super"):
        Broken().add_variable((), "zeros")


def test_base_methods_must_be_implemented():
    with pytest.raises(NotImplementedError, match="update_state"):
        Metric().update_state(1)
    with pytest.raises(NotImplementedError, match="result"):
        Metric().result()
    assert Metric().name.startswith("metric")
