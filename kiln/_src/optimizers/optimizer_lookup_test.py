import keras
import pytest

from kiln import optimizers
from kiln._src.saving import object_registration

NAMES = {
    "sgd": optimizers.SGD,
    "adam": optimizers.Adam,
    "adamw": optimizers.AdamW,
    "rmsprop": optimizers.RMSprop,
    "adagrad": optimizers.Adagrad,
    "SGD": optimizers.SGD,
    "Adam": optimizers.Adam,
    "AdamW": optimizers.AdamW,
    "RMSprop": optimizers.RMSprop,
    "Adagrad": optimizers.Adagrad,
}


@pytest.mark.parametrize("name", NAMES)
def test_get_by_name_like_keras(name):
    ours = optimizers.get(name)
    theirs = keras.optimizers.get(name)
    assert type(ours) is NAMES[name]
    assert type(theirs).__name__ == type(ours).__name__
    ours_config = {k: v for k, v in ours.get_config().items() if k != "name"}
    theirs_config = {k: v for k, v in theirs.get_config().items() if k != "name"}
    assert ours_config == theirs_config


def test_get_none_instance_and_dict():
    assert optimizers.get(None) is None
    adam = optimizers.Adam()
    assert optimizers.get(adam) is adam
    envelope = keras.optimizers.serialize(keras.optimizers.RMSprop(0.5, name="r"))
    restored = optimizers.get(envelope)
    assert isinstance(restored, optimizers.RMSprop)
    assert restored.get_config() == envelope["config"]


@pytest.mark.parametrize("identifier", ["nadam_typo", "", 3, object()])
def test_get_unknown_lists_valid_names(identifier):
    with pytest.raises(
        ValueError, match="Could not interpret optimizer identifier"
    ) as info:
        optimizers.get(identifier)
    for name in ["adagrad", "adam", "adamw", "rmsprop", "sgd"]:
        assert name in str(info.value)


@pytest.mark.parametrize("cls_name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_serialize_matches_keras(cls_name):
    ours = optimizers.serialize(getattr(optimizers, cls_name)(name="o"))
    theirs = keras.optimizers.serialize(getattr(keras.optimizers, cls_name)(name="o"))
    assert ours == theirs


def test_deserialize_keras_envelope_with_schedule():
    schedule = keras.optimizers.schedules.CosineDecay(0.1, 100)
    envelope = keras.optimizers.serialize(keras.optimizers.AdamW(schedule, name="w"))
    restored = optimizers.deserialize(envelope)
    assert isinstance(restored, optimizers.AdamW)
    assert isinstance(restored._learning_rate, optimizers.schedules.CosineDecay)
    assert optimizers.serialize(restored) == envelope


def test_deserialize_lowercase_class_name():
    restored = optimizers.deserialize({"class_name": "adamw", "config": {}})
    assert isinstance(restored, optimizers.AdamW)


def test_get_registered_custom_optimizer():
    @object_registration.register_keras_serializable(package="Test")
    class Halving(optimizers.SGD):
        pass

    try:
        assert isinstance(optimizers.get("Test>Halving"), Halving)
        envelope = optimizers.serialize(Halving(name="h"))
        assert envelope["registered_name"] == "Test>Halving"
        assert isinstance(optimizers.deserialize(envelope), Halving)
    finally:
        object_registration.GLOBAL_CUSTOM_OBJECTS.pop("Test>Halving")
        object_registration.GLOBAL_CUSTOM_NAMES.pop(Halving)


def test_public_names():
    assert sorted(optimizers.__all__) == sorted(
        [
            "SGD",
            "Adagrad",
            "Adam",
            "AdamW",
            "Optimizer",
            "RMSprop",
            "deserialize",
            "get",
            "schedules",
            "serialize",
        ]
    )
