import jax.numpy as jnp
import keras
import numpy as np
import pytest
from keras.src.losses.losses import LossFunctionWrapper as KerasWrapper

from kiln._src.losses.loss_function_wrapper import LossFunctionWrapper
from kiln._src.losses.regression_losses import huber, mean_squared_error
from kiln._src.saving import object_registration
from kiln._src.saving.serialization_lib import (
    deserialize_keras_object,
    serialize_keras_object,
)


def test_wraps_a_function_with_kwargs():
    loss = LossFunctionWrapper(huber, delta=2.0)
    # Errors 3 and 0: 2 * 3 - 0.5 * 4 = 4 and 0, averaged over the batch.
    assert float(loss([[0.0], [1.0]], [[3.0], [1.0]])) == pytest.approx(2.0)
    assert loss.name.startswith("loss_function_wrapper")


def test_aligns_ranks_before_calling_fn():
    seen = {}

    def record(y_true, y_pred):
        seen["shapes"] = (y_true.shape, y_pred.shape)
        return jnp.mean(jnp.square(y_true - y_pred), axis=-1)

    LossFunctionWrapper(record)(np.zeros(4), np.ones((4, 1)))
    assert seen["shapes"] == ((4, 1), (4, 1))


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "none"])
def test_matches_keras(reduction):
    rng = np.random.default_rng(0)
    y_true = rng.normal(size=(5,)).astype("float32")
    y_pred = rng.normal(size=(5, 1)).astype("float32")
    weights = rng.uniform(size=(5,)).astype("float32")
    ours = LossFunctionWrapper(huber, reduction=reduction, name="w", delta=0.5)
    theirs = KerasWrapper(keras.losses.huber, reduction=reduction, name="w", delta=0.5)
    np.testing.assert_allclose(
        ours(y_true, y_pred, weights), theirs(y_true, y_pred, weights), rtol=1e-6
    )
    assert ours.get_config() == theirs.get_config()


def test_envelope_matches_keras_and_round_trips():
    ours = LossFunctionWrapper(huber, name="w", delta=3.0)
    theirs = KerasWrapper(keras.losses.huber, name="w", delta=3.0)
    envelope = serialize_keras_object(ours)
    assert envelope == keras.saving.serialize_keras_object(theirs)
    clone = deserialize_keras_object(envelope)
    assert isinstance(clone, LossFunctionWrapper)
    assert clone.fn is huber and clone.get_config() == ours.get_config()
    # A file written by Keras loads too.
    assert (
        deserialize_keras_object(
            keras.saving.serialize_keras_object(theirs)
        ).get_config()
        == ours.get_config()
    )


def test_custom_registered_function_round_trips():
    @object_registration.register_keras_serializable(package="Test")
    def scaled_mse(y_true, y_pred, scale=1.0):
        return scale * mean_squared_error(y_true, y_pred)

    try:
        loss = LossFunctionWrapper(scaled_mse, scale=2.0, name="s")
        clone = LossFunctionWrapper.from_config(loss.get_config())
        assert clone.fn is scaled_mse
        assert float(clone([[0.0]], [[1.0]])) == pytest.approx(2.0)
    finally:
        object_registration.GLOBAL_CUSTOM_OBJECTS.pop("Test>scaled_mse", None)
        object_registration.GLOBAL_CUSTOM_NAMES.pop(scaled_mse, None)


def test_fn_must_be_callable():
    with pytest.raises(TypeError, match="Received: fn=3"):
        LossFunctionWrapper(3)
