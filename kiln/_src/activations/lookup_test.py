import keras
import numpy as np
import pytest

from kiln._src.activations import activations as act
from kiln._src.activations import lookup
from kiln._src.saving import object_registration, serialization_lib


def test_every_keras_name_is_known():
    assert set(lookup.ALL_OBJECTS_DICT) == set(keras.src.activations.ALL_OBJECTS_DICT)
    for name, fn in lookup.ALL_OBJECTS_DICT.items():
        assert fn.__name__ == keras.src.activations.ALL_OBJECTS_DICT[name].__name__


@pytest.mark.parametrize("name", sorted(lookup.ALL_OBJECTS_DICT))
def test_builtin_names_round_trip_like_keras(name):
    fn = lookup.get(name)
    expected = keras.activations.serialize(keras.activations.get(name))
    assert lookup.serialize(fn) == expected  # "swish" -> "silu", as in Keras
    assert lookup.deserialize(lookup.serialize(fn)) is fn
    assert lookup.get(serialization_lib.serialize_keras_object(fn)) is fn


def test_aliases():
    assert lookup.get("swish") is act.silu
    assert lookup.get("hard_swish") is act.hard_silu
    assert lookup.get(None) is act.linear


@pytest.mark.parametrize("identifier", ["Relu", "relu7", "", 3, [act.relu]])
def test_unknown_identifiers(identifier):
    with pytest.raises(ValueError, match="Could not interpret activation") as info:
        lookup.get(identifier)
    assert "'relu'" in str(info.value) and "'softmax'" in str(info.value)


def test_custom_function():
    def my_activation(x):
        return x * 2

    envelope = lookup.serialize(my_activation)
    assert envelope == {
        "module": "builtins",
        "class_name": "function",
        "config": "my_activation",
        "registered_name": "function",
    }
    assert envelope == keras.activations.serialize(my_activation)
    restored = lookup.deserialize(
        envelope, custom_objects={"my_activation": my_activation}
    )
    assert restored is my_activation
    assert lookup.get(my_activation) is my_activation


def test_registered_function():
    @object_registration.register_keras_serializable(package="Pkg")
    def doubled(x):
        return x * 2

    try:
        envelope = lookup.serialize(doubled)
        assert envelope["config"] == "Pkg>doubled"
        assert lookup.deserialize(envelope) is doubled
        assert lookup.get("Pkg>doubled") is doubled
    finally:
        object_registration.GLOBAL_CUSTOM_OBJECTS.pop("Pkg>doubled")
        object_registration.GLOBAL_CUSTOM_NAMES.pop(doubled)


class Scaled:
    def __init__(self, factor=2.0):
        self.factor = factor

    def __call__(self, x):
        return x * self.factor

    def get_config(self):
        return {"factor": self.factor}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def test_callable_object_gets_a_full_envelope():
    envelope = lookup.serialize(Scaled(3.0))
    assert envelope["class_name"] == "Scaled" and envelope["config"] == {"factor": 3.0}
    restored = lookup.deserialize(envelope, custom_objects={"Scaled": Scaled})
    assert isinstance(restored, Scaled) and restored.factor == 3.0
    np.testing.assert_allclose(np.asarray(restored(np.ones(2))), [3.0, 3.0])


def test_unserializable_object():
    class NoConfig:
        def __call__(self, x):
            return x

    with pytest.raises(ValueError, match="Cannot serialize the activation"):
        lookup.serialize(NoConfig())


def test_public_names_match_keras_and_are_exported():
    import kiln.activations as public
    from kiln._src.api_export import get_exported_object

    keras_names = {n for n in dir(keras.activations) if not n.startswith("_")} - set()
    assert set(public.__all__) == keras_names
    for name in keras_names:
        assert get_exported_object(f"keras.activations.{name}") is getattr(public, name)
