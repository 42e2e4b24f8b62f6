"""`serialize_keras_object` / `deserialize_keras_object`: envelopes equal to
real Keras 3.15.1's, name resolution, and the errors that say how to fix."""

import json
import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402 - the oracle, on its JAX backend

import kiln  # noqa: E402
from kiln._src.saving.serialization_lib import (  # noqa: E402
    check_all_classes_resolvable,
    deserialize_keras_object,
    serialize_keras_object,
)

# Each family's serialize/deserialize pair, built the same way in both
# libraries (`lib` is kiln or keras).
FAMILY_CASES = {
    "layers": lambda lib: lib.layers.Dropout(0.3, seed=2, name="drop"),
    "layers_with_nested_objects": lambda lib: lib.layers.Reshape(
        (2, 3), name="r", activity_regularizer=lib.regularizers.L2(0.5)
    ),
    "initializers": lambda lib: lib.initializers.RandomNormal(
        mean=0.5, stddev=2.0, seed=3
    ),
    "regularizers": lambda lib: lib.regularizers.L1L2(l1=0.125, l2=0.25),
    "constraints": lambda lib: lib.constraints.MaxNorm(max_value=3.0, axis=1),
    "activations": lambda lib: lib.activations.gelu,
    "losses": lambda lib: lib.losses.Huber(delta=0.25),
    "losses_function": lambda lib: lib.losses.mean_squared_error,
    "metrics": lambda lib: lib.metrics.MeanAbsoluteError(name="m"),
    "optimizers": lambda lib: lib.optimizers.Adam(
        learning_rate=0.5, amsgrad=True, name="opt"
    ),
    "optimizers_schedule": lambda lib: lib.optimizers.SGD(
        lib.optimizers.schedules.ExponentialDecay(0.5, 10, 0.25),
        momentum=0.5,
        name="opt",
    ),
}


def _as_json(value):
    """What a file holds (Keras keeps tuples in memory; JSON makes lists)."""
    return json.loads(json.dumps(value))


@pytest.mark.parametrize("case", sorted(FAMILY_CASES))
def test_family_serialize_deserialize_pairs_match_keras(case):
    family = case.split("_")[0]
    make = FAMILY_CASES[case]
    ours = getattr(kiln, family).serialize(make(kiln))
    theirs = getattr(keras, family).serialize(make(keras))
    assert _as_json(ours) == _as_json(theirs)
    # Each library rebuilds the other's envelope into an equal object.
    rebuilt = getattr(kiln, family).deserialize(theirs)
    assert getattr(kiln, family).serialize(rebuilt) == ours
    rebuilt_by_keras = getattr(keras, family).deserialize(ours)
    assert _as_json(getattr(keras, family).serialize(rebuilt_by_keras)) == _as_json(
        theirs
    )


@pytest.mark.parametrize(
    "family, name, expected_class",
    [
        ("regularizers", "l1", "L1"),
        ("initializers", "ones", "Ones"),
        ("constraints", "non_neg", "NonNeg"),
        ("metrics", "mae", "MeanAbsoluteError"),
    ],
)
def test_family_deserialize_accepts_names(family, name, expected_class):
    ours = getattr(kiln, family).deserialize(name)
    theirs = getattr(keras, family).deserialize(name)
    assert type(ours).__name__ == type(theirs).__name__ == expected_class


def test_builtin_function_envelopes():
    assert serialize_keras_object(kiln.losses.mean_squared_error) == {
        "module": "builtins",
        "class_name": "function",
        "config": "mean_squared_error",
        "registered_name": "function",
    }
    assert kiln.activations.serialize(kiln.activations.relu) == "relu"
    assert deserialize_keras_object(
        serialize_keras_object(kiln.losses.mean_squared_error)
    ) is (kiln.losses.mean_squared_error)


def test_registered_custom_class_and_function_envelopes():
    @kiln.saving.register_keras_serializable(package="MyLayers", name="KernelMult")
    class MyLayer(kiln.layers.Layer):
        def __init__(self, factor=1.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    @kiln.saving.register_keras_serializable(package="my_package", name="fn")
    def custom_fn(x):
        return x**2

    envelope = serialize_keras_object(MyLayer(2.0, name="m"))
    assert envelope["module"] == __name__
    assert envelope["class_name"] == "MyLayer"
    assert envelope["registered_name"] == "MyLayers>KernelMult"
    assert envelope["config"]["factor"] == 2.0
    rebuilt = deserialize_keras_object(envelope)
    assert type(rebuilt) is MyLayer and rebuilt.factor == 2.0 and rebuilt.name == "m"

    fn_envelope = serialize_keras_object(custom_fn)
    assert fn_envelope["config"] == "my_package>fn"
    assert deserialize_keras_object(fn_envelope) is custom_fn


def test_special_values_round_trip():
    values = {
        "array": np.arange(6, dtype="int64").reshape(2, 3),
        "bytes": b"abc",
        "slice": slice(1, None, 2),
        "ellipsis": Ellipsis,
        "scalar": np.float32(1.5),
        "tuple": (1, "a", None),
    }
    config = serialize_keras_object(values)
    assert config["array"] == {
        "class_name": "__numpy__",
        "config": {"value": [[0, 1, 2], [3, 4, 5]], "dtype": "int64"},
    }
    assert config["scalar"] == 1.5 and config["tuple"] == [1, "a", None]
    rebuilt = deserialize_keras_object(config)
    np.testing.assert_array_equal(rebuilt["array"], values["array"])
    assert rebuilt["array"].dtype == np.int64
    assert rebuilt["bytes"] == b"abc"
    assert rebuilt["slice"] == slice(1, None, 2)
    assert rebuilt["ellipsis"] is Ellipsis


def test_lambda_is_refused_both_ways():
    with pytest.raises(ValueError, match="lambda"):
        serialize_keras_object(lambda x: x)
    envelope = {"class_name": "__lambda__", "config": {"value": ["AAAA", None, None]}}
    for safe_mode in (True, False):
        with pytest.raises(ValueError, match="never runs bytecode"):
            deserialize_keras_object(envelope, safe_mode=safe_mode)


def test_modules_named_in_a_config_are_never_imported():
    envelope = {
        "module": "os",
        "class_name": "system",
        "config": {},
        "registered_name": None,
    }
    with pytest.raises(TypeError, match="Could not locate class 'system'"):
        deserialize_keras_object(envelope)


def test_missing_class_error_gives_the_three_ways():
    envelope = {
        "module": None,
        "class_name": "Unknown",
        "config": {},
        "registered_name": "Pkg>Unknown",
    }
    with pytest.raises(TypeError) as error:
        deserialize_keras_object(envelope)
    message = str(error.value)
    assert "Unknown" in message and "Pkg>Unknown" in message
    assert "register_keras_serializable" in message
    assert "custom_objects=" in message
    assert "custom_object_scope" in message


def test_every_missing_class_is_named_at_once():
    config = {
        "module": None,
        "class_name": "Outer",
        "config": {
            "inner": {
                "module": None,
                "class_name": "Inner",
                "config": {},
                "registered_name": "P>Inner",
            },
            "activation": {
                "module": "builtins",
                "class_name": "function",
                "config": "my_act",
                "registered_name": "function",
            },
            "known": serialize_keras_object(kiln.regularizers.L2(0.5)),
        },
        "registered_name": "Outer",
        "compile_config": {
            "loss": {
                "module": "builtins",
                "class_name": "function",
                "config": "my_loss",
                "registered_name": "function",
            },
            "metrics": ["mae"],
        },
    }
    with pytest.raises(TypeError) as error:
        check_all_classes_resolvable(config)
    message = str(error.value)
    assert "4 custom class(es) or function(s)" in message
    for name in ("Outer", "Inner (registered as 'P>Inner')", "my_act", "my_loss"):
        assert name in message
    assert "register_keras_serializable" in message
    assert "custom_objects=" in message and "custom_object_scope" in message
    # Providing them makes the same config resolvable.
    check_all_classes_resolvable(
        config,
        {
            "Outer": kiln.layers.Layer,
            "P>Inner": kiln.layers.Layer,
            "my_act": abs,
            "my_loss": abs,
        },
    )


def test_class_envelope_with_non_dict_config_is_a_type_error():
    envelope = {
        "module": "keras.layers",
        "class_name": "Dense",
        "config": "oops",
        "registered_name": None,
    }
    with pytest.raises(TypeError, match="Expected 'config' to be a dict for Dense"):
        deserialize_keras_object(envelope)


def test_from_config_type_error_explains_the_fix():
    class NeedsLayer(kiln.layers.Layer):
        def __init__(self, sublayer, **kwargs):
            super().__init__(**kwargs)
            self.sublayer = sublayer.units  # needs an object, not a dict

        def get_config(self):
            return super().get_config()

    envelope = {
        "module": None,
        "class_name": "NeedsLayer",
        "config": {"name": "n"},
        "registered_name": "NeedsLayer",
    }
    with pytest.raises(TypeError, match="from_config"):
        deserialize_keras_object(envelope, custom_objects={"NeedsLayer": NeedsLayer})


def test_custom_layer_without_get_config_is_told_to_write_one():
    class Wrapper(kiln.layers.Layer):
        def __init__(self, inner, **kwargs):
            super().__init__(**kwargs)
            self.inner = inner

        def call(self, x):
            return self.inner(x)

    with pytest.raises(NotImplementedError, match="Write a `get_config\\(\\)`"):
        serialize_keras_object(Wrapper(kiln.layers.Dense(2)))


def test_custom_layer_without_get_config_with_plain_arguments_round_trips():
    class Plain(kiln.layers.Layer):
        def __init__(self, factor=2.0, mode="a", **options):
            super().__init__(**options)
            self.factor = factor
            self.mode = mode

        def call(self, x):
            return x * self.factor

    layer = Plain(3.0, mode="b", name="plain")
    config = serialize_keras_object(layer)["config"]
    assert config["factor"] == 3.0 and config["mode"] == "b"
    assert config["name"] == "plain"
    rebuilt = deserialize_keras_object(
        serialize_keras_object(layer), custom_objects={"Plain": Plain}
    )
    assert (rebuilt.factor, rebuilt.mode, rebuilt.name) == (3.0, "b", "plain")
    # The rebuilt layer serializes to the same config again.
    assert rebuilt.get_config() == layer.get_config()


def test_objects_nested_in_configs():
    """The guide's appendix: a layer held by a layer, a regularizer object,
    and the string "l1", all inside one custom config."""

    @kiln.saving.register_keras_serializable(package="MyLayers", name="Holder")
    class Holder(kiln.layers.Layer):
        def __init__(self, units, regularizer=None, nested=None, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.regularizer = regularizer
            self.nested = nested

        def get_config(self):
            return {
                **super().get_config(),
                "units": self.units,
                "regularizer": self.regularizer,
                "nested": self.nested,
            }

        @classmethod
        def from_config(cls, config):
            config["nested"] = deserialize_keras_object(config["nested"])
            # A string stays a string; an envelope becomes the object.
            config["regularizer"] = deserialize_keras_object(config["regularizer"])
            return cls(**config)

    inner = Holder(2, regularizer="l1", name="inner")
    outer = Holder(
        3, regularizer=kiln.regularizers.L1L2(1e-5, 1e-4), nested=inner, name="outer"
    )
    config = kiln.layers.serialize(outer)
    assert config["config"]["regularizer"]["class_name"] == "L1L2"
    nested = config["config"]["nested"]
    assert nested["registered_name"] == "MyLayers>Holder"
    assert nested["config"]["regularizer"] == "l1"
    rebuilt = kiln.layers.deserialize(config)
    assert isinstance(rebuilt.nested, Holder) and rebuilt.nested.name == "inner"
    assert rebuilt.nested.regularizer == "l1"
    assert isinstance(
        kiln.regularizers.get(rebuilt.nested.regularizer), kiln.regularizers.L1
    )
    assert isinstance(rebuilt.regularizer, kiln.regularizers.L1L2)
    assert kiln.layers.serialize(rebuilt) == config


def test_custom_objects_argument_and_scope_resolve_names():
    class Local(kiln.layers.Layer):
        def get_config(self):
            return super().get_config()

    envelope = serialize_keras_object(Local(name="l"))
    assert envelope["registered_name"] == "Local"
    with pytest.raises(TypeError, match="Could not locate class 'Local'"):
        deserialize_keras_object(envelope)
    assert type(deserialize_keras_object(envelope, {"Local": Local})) is Local
    with kiln.saving.custom_object_scope({"Local": Local}):
        assert type(deserialize_keras_object(envelope)) is Local
