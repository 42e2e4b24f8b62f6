import keras
import numpy as np
import pytest

from kiln._src.initializers import lookup
from kiln._src.initializers.constant_initializers import Ones
from kiln._src.initializers.initializer import Initializer
from kiln._src.initializers.random_initializers import RandomNormal
from kiln._src.initializers.variance_scaling import GlorotUniform
from kiln._src.saving import object_registration

KERAS_NAMES = sorted(
    name
    for name in keras.src.initializers.ALL_OBJECTS_DICT
    if name not in ("STFT", "stft", "STFTInitializer")
)


@pytest.mark.parametrize("name", KERAS_NAMES)
def test_every_keras_name_resolves_to_the_same_class(name):
    ours = lookup.get(name)
    # (Keras's own get("constant") fails: its Constant.from_config needs a
    # value; so instantiate Keras's class directly.)
    theirs = keras.src.initializers.ALL_OBJECTS_DICT[name]()
    assert type(ours).__name__ == type(theirs).__name__
    if isinstance(ours, Initializer) and type(ours) is not Initializer:
        config = ours.get_config()
        config.pop("seed", None)
        expected = theirs.get_config()
        expected.pop("seed", None)
        assert config == expected


@pytest.mark.parametrize("name", ["glorot_unifrom", "GLOROT_UNIFORM", "stft", ""])
def test_unknown_name_is_a_value_error(name):
    with pytest.raises(ValueError, match="Could not interpret initializer") as info:
        lookup.get(name)
    assert "glorot_uniform" in str(info.value)


@pytest.mark.parametrize("identifier", [3, [1, 2]])
def test_bad_identifier_type(identifier):
    with pytest.raises(ValueError, match="Could not interpret initializer"):
        lookup.get(identifier)


def test_none_instances_classes_and_callables():
    assert lookup.get(None) is None
    init = RandomNormal(seed=1)
    assert lookup.get(init) is init
    assert isinstance(lookup.get(Ones), Ones)

    def fn(shape, dtype=None):
        return np.zeros(shape)

    assert lookup.get(fn) is fn


def test_array_identifier():
    init = lookup.get(np.arange(6.0).reshape(2, 3))
    values = init((2, 3), dtype="float32")
    assert values.dtype == np.float32
    np.testing.assert_array_equal(np.asarray(values), np.arange(6.0).reshape(2, 3))
    with pytest.raises(ValueError, match=r"expected shape=\(2, 3\)"):
        init((3, 2))


def test_serialize_matches_keras():
    for ours, theirs in [
        (GlorotUniform(seed=3), keras.initializers.GlorotUniform(seed=3)),
        (RandomNormal(), keras.initializers.RandomNormal()),
    ]:
        assert lookup.serialize(ours) == keras.initializers.serialize(theirs)


def test_deserialize_keras_envelope_and_round_trip():
    envelope = keras.initializers.serialize(keras.initializers.HeUniform(seed=5))
    init = lookup.deserialize(envelope)
    assert type(init).__name__ == "HeUniform" and init.seed == 5
    again = lookup.deserialize(lookup.serialize(init))
    assert again.get_config() == init.get_config()
    # A short config dict, as users write it.
    init = lookup.get({"class_name": "random_uniform", "config": {"maxval": 2.0}})
    assert init.maxval == 2.0


def test_custom_initializer_by_name():
    class MyInit(Initializer):
        def __call__(self, shape, dtype=None):
            return np.full(shape, 7.0)

    with pytest.raises(ValueError, match="MyInit"):
        lookup.get("MyInit")
    with object_registration.custom_object_scope({"MyInit": MyInit}):
        assert isinstance(lookup.get("MyInit"), MyInit)
    assert isinstance(
        lookup.deserialize("MyInit", custom_objects={"MyInit": MyInit}), MyInit
    )


def test_public_names_match_keras_and_are_exported():
    import kiln.initializers as public
    from kiln._src.api_export import get_exported_object

    keras_names = {n for n in dir(keras.initializers) if not n.startswith("_")} - {
        "STFT",
        "STFTInitializer",
        "stft",
    }
    assert set(public.__all__) == keras_names
    for name in keras_names:
        assert get_exported_object(f"keras.initializers.{name}") is getattr(
            public, name
        )
