import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest
from keras.src.losses import loss as keras_loss

from kiln._src.losses import loss as kiln_loss
from kiln._src.losses.loss import (
    Loss,
    reduce_weighted_values,
    squeeze_or_expand_to_same_rank,
    standardize_reduction,
)

REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none"]


class AbsoluteError(Loss):
    def call(self, y_true, y_pred):
        return jnp.mean(jnp.abs(y_pred - y_true), axis=-1)


def test_reductions_by_hand():
    # Per-sample losses: [1, 3]; weights [1, 0.5] -> weighted [1, 1.5].
    y_true = np.array([[0.0, 0.0], [0.0, 0.0]])
    y_pred = np.array([[1.0, 1.0], [2.0, 4.0]])
    weights = np.array([1.0, 0.5])
    expected = {
        "sum_over_batch_size": 2.5 / 2,
        "mean": 2.5 / 2,
        "sum": 2.5,
        "mean_with_sample_weight": 2.5 / 1.5,
    }
    for reduction, value in expected.items():
        loss = AbsoluteError(reduction=reduction)
        assert float(loss(y_true, y_pred, sample_weight=weights)) == pytest.approx(
            value
        )
    unreduced = AbsoluteError(reduction="none")(y_true, y_pred, weights)
    np.testing.assert_allclose(unreduced, [1.0, 1.5])
    assert AbsoluteError(reduction=None)(y_true, y_pred).shape == (2,)
    # Without weights, "mean_with_sample_weight" divides by the number of values.
    unweighted = AbsoluteError(reduction="mean_with_sample_weight")(y_true, y_pred)
    assert float(unweighted) == pytest.approx(2.0)


def test_zero_divisor_gives_zero():
    values = jnp.zeros((0,))
    assert reduce_weighted_values(values).shape == (0,)
    result = reduce_weighted_values(
        jnp.ones((2,)), jnp.zeros((2,)), reduction="mean_with_sample_weight"
    )
    assert float(result) == 0.0


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    "values_shape,weight_shape",
    [
        ((4,), None),
        ((4,), ()),
        ((4,), (4,)),
        ((4,), (4, 1)),
        ((4, 1), (4,)),
        ((4, 3), (4, 1)),
        ((4, 3), (4, 3)),
        ((4, 3), (4,)),
        ((), None),
    ],
    ids=lambda s: str(s),
)
def test_reduce_weighted_values_matches_keras(reduction, values_shape, weight_shape):
    rng = np.random.default_rng(0)
    values = rng.normal(size=values_shape).astype("float32")
    weights = None
    if weight_shape is not None:
        weights = rng.uniform(size=weight_shape).astype("float32")
    try:
        expected = keras_loss.reduce_weighted_values(
            values, sample_weight=weights, reduction=reduction, dtype="float32"
        )
    except Exception:  # an incompatible shape in Keras must fail here too
        with pytest.raises(Exception):  # noqa: B017
            reduce_weighted_values(values, weights, reduction=reduction)
        return
    result = reduce_weighted_values(values, weights, reduction=reduction)
    assert result.shape == tuple(expected.shape)
    np.testing.assert_allclose(result, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "mean", "none"])
@pytest.mark.parametrize("with_weights", [False, True])
def test_mask_matches_keras(reduction, with_weights):
    rng = np.random.default_rng(1)
    values = rng.normal(size=(3, 4)).astype("float32")
    mask = np.array([[1, 1, 0, 0], [1, 0, 0, 0], [1, 1, 1, 1]], dtype=bool)
    weights = rng.uniform(size=(3, 4)).astype("float32") if with_weights else None
    expected = keras_loss.reduce_weighted_values(
        values, sample_weight=weights, mask=mask, reduction=reduction, dtype="float32"
    )
    result = reduce_weighted_values(values, weights, mask=mask, reduction=reduction)
    np.testing.assert_allclose(result, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "shape1,shape2",
    [
        ((3,), (3, 1)),
        ((3, 1), (3,)),
        ((3, 2, 1), (3, 2)),
        ((3, 2), (3, 2, 1)),
        ((3, 2), (3,)),
        ((3,), (3,)),
        ((3, 2), (3, 2)),
    ],
    ids=str,
)
def test_squeeze_or_expand_matches_keras(shape1, shape2):
    x1, x2 = np.zeros(shape1), np.zeros(shape2)
    ours = squeeze_or_expand_to_same_rank(jnp.asarray(x1), jnp.asarray(x2))
    theirs = keras_loss.squeeze_or_expand_to_same_rank(
        keras.ops.convert_to_tensor(x1), keras.ops.convert_to_tensor(x2)
    )
    assert [o.shape for o in ours] == [tuple(t.shape) for t in theirs]


def test_bad_reduction_is_a_value_error():
    with pytest.raises(ValueError, match="Received: reduction='average'"):
        standardize_reduction("average")
    with pytest.raises(ValueError, match="reduction"):
        AbsoluteError(reduction="batch")


def test_base_class_config_name_and_dtype():
    loss = AbsoluteError(name="abs")
    assert loss.get_config() == {"name": "abs", "reduction": "sum_over_batch_size"}
    assert loss.dtype == "float32"
    clone = AbsoluteError.from_config(loss.get_config())
    assert clone.name == "abs"
    auto = AbsoluteError()
    assert auto.name.startswith("absolute_error")
    base = Loss()
    assert base.name.startswith("loss")
    assert base.get_config() == {"name": base.name, "reduction": "sum_over_batch_size"}
    assert kiln_loss.Loss(dtype="float16").dtype == "float16"


def test_call_casts_inputs_to_the_loss_dtype():
    loss = AbsoluteError(dtype="float16")
    assert loss(np.ones((2, 2)), np.zeros((2, 2))).dtype == jnp.float16
    assert AbsoluteError()(np.ones((2, 2), "int32"), np.zeros((2, 2))).dtype == (
        jnp.float32
    )


def test_base_call_is_not_implemented():
    with pytest.raises(NotImplementedError, match="call"):
        Loss()(np.ones(2), np.ones(2))


def test_works_under_jit_and_grad():
    loss = AbsoluteError()

    @jax.jit
    def f(y_pred, weights):
        return loss(jnp.zeros((2, 2)), y_pred, sample_weight=weights)

    value = f(jnp.array([[1.0, 1.0], [2.0, 4.0]]), jnp.array([1.0, 0.5]))
    assert float(value) == pytest.approx(1.25)
    grad = jax.grad(lambda p: loss(jnp.zeros((2, 2)), p))(jnp.ones((2, 2)))
    np.testing.assert_allclose(grad, np.full((2, 2), 0.25))
