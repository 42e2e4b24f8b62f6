import inspect

import keras
import numpy as np
import pytest

from kiln._src.losses import lookup
from kiln._src.losses.loss import Loss
from kiln._src.losses.probabilistic_losses import (
    CategoricalCrossentropy,
    categorical_crossentropy,
)
from kiln._src.losses.regression_losses import Huber, mean_squared_error

# Keras 3.15.1 losses kiln does not implement yet.
MISSING = {
    "BinaryFocalCrossentropy",
    "CategoricalFocalCrossentropy",
    "Dice",
    "Tversky",
    "Circle",
    "CTC",
    "binary_focal_crossentropy",
    "categorical_focal_crossentropy",
    "dice",
    "tversky",
    "circle",
    "ctc",
}
KERAS_NAMES = sorted(set(keras.src.losses.ALL_OBJECTS_DICT) - MISSING)


@pytest.mark.parametrize("name", KERAS_NAMES)
def test_every_keras_name_resolves_like_keras(name):
    if name == "LossFunctionWrapper":
        with pytest.raises(TypeError):
            lookup.get(name)
        return
    ours = lookup.get(name)
    theirs = keras.losses.get(name)
    if inspect.isfunction(theirs):
        assert inspect.isfunction(ours) and ours.__name__ == theirs.__name__
    else:
        assert type(ours).__name__ == type(theirs).__name__
        assert ours.get_config() == theirs.get_config()


def test_only_keras_aliases_are_accepted():
    assert lookup.get("mse") is mean_squared_error
    assert lookup.get("MSE") is mean_squared_error
    for name in ["logcosh", "huber_loss", "crossentropy"]:
        with pytest.raises(ValueError):
            keras.losses.get(name)
        with pytest.raises(ValueError, match="Could not interpret loss identifier"):
            lookup.get(name)


def test_unknown_name_error_suggests_valid_names():
    with pytest.raises(ValueError) as info:
        lookup.get("mean_squared_eror")
    message = str(info.value)
    assert "'mean_squared_eror'" in message
    assert "Did you mean 'mean_squared_error'" in message
    assert message.endswith("Received: identifier='mean_squared_eror'")
    with pytest.raises(ValueError, match="Received: identifier=3"):
        lookup.get(3)


def test_none_callables_instances_classes_and_dicts():
    assert lookup.get(None) is None

    def my_loss(y_true, y_pred):
        return y_pred

    assert lookup.get(my_loss) is my_loss
    huber = Huber(delta=2.0)
    assert lookup.get(huber) is huber
    assert isinstance(lookup.get(CategoricalCrossentropy), CategoricalCrossentropy)
    loss = lookup.get(
        {"class_name": "CategoricalCrossentropy", "config": {"from_logits": True}}
    )
    assert isinstance(loss, CategoricalCrossentropy) and loss.from_logits
    with pytest.raises(ValueError):
        lookup.get({"not": "an envelope"})


@pytest.mark.parametrize(
    "ours,theirs",
    [
        (Huber(), keras.losses.Huber()),
        (
            CategoricalCrossentropy(label_smoothing=0.1),
            keras.losses.CategoricalCrossentropy(label_smoothing=0.1),
        ),
        (mean_squared_error, keras.losses.mean_squared_error),
        (categorical_crossentropy, keras.losses.categorical_crossentropy),
        (Loss(name="base"), keras.losses.Loss(name="base")),
    ],
    ids=["Huber", "CategoricalCrossentropy", "mse_fn", "cce_fn", "Loss"],
)
def test_serialize_matches_keras_and_round_trips(ours, theirs):
    envelope = lookup.serialize(ours)
    assert envelope == keras.losses.serialize(theirs)
    clone = lookup.deserialize(envelope)
    if inspect.isfunction(ours):
        assert clone is ours
    else:
        assert type(clone) is type(ours)
        assert clone.get_config() == ours.get_config()


def test_deserialize_names_and_custom_objects():
    assert lookup.deserialize("mean_squared_error") is mean_squared_error
    assert isinstance(lookup.deserialize("Huber"), Huber)

    class MyLoss(Loss):
        def call(self, y_true, y_pred):
            return y_pred

    envelope = {
        "module": None,
        "class_name": "MyLoss",
        "config": {"name": "mine", "reduction": "sum"},
        "registered_name": "MyLoss",
    }
    loss = lookup.deserialize(envelope, custom_objects={"MyLoss": MyLoss})
    assert isinstance(loss, MyLoss) and loss.reduction == "sum"
    assert lookup.deserialize("MyLoss", custom_objects={"MyLoss": MyLoss}).name
    # Keras's own files load.
    keras_file = keras.losses.serialize(
        keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)
    )
    loaded = lookup.deserialize(keras_file)
    assert (
        loaded.get_config()
        == keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, ignore_class=-1
        ).get_config()
    )
    np.testing.assert_allclose(
        loaded([0, -1], [[1.0, 0.0], [0.0, 1.0]]),
        np.log1p(np.exp(-1.0)),
        rtol=1e-6,
    )
