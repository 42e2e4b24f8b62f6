"""`shared_object_id`: a layer referenced twice is marked on save (every
copy, numbered deterministically) and rebuilt once on load."""

import json

import kiln
from kiln._src.saving.object_sharing import ObjectSharingScope
from kiln._src.saving.serialization_lib import (
    deserialize_keras_object,
    serialize_keras_object,
)


def _shared_structure():
    dense = kiln.layers.Dense(2, name="d")
    other = kiln.layers.Dense(3, name="e")
    return {"a": dense, "b": [other, dense], "c": {"again": dense}}


def _ids(config):
    return json.loads(
        json.dumps(
            {
                "a": config["a"].get("shared_object_id"),
                "b": [c.get("shared_object_id") for c in config["b"]],
                "c": config["c"]["again"].get("shared_object_id"),
            }
        )
    )


def test_repeated_layers_are_marked_in_every_copy():
    structure = _shared_structure()
    with ObjectSharingScope():
        config = serialize_keras_object(structure)
    assert _ids(config) == {"a": 1, "b": [None, 1], "c": 1}
    # Numbers do not depend on memory addresses: saving again gives the same.
    with ObjectSharingScope():
        assert serialize_keras_object(structure) == config


def test_no_marks_outside_a_scope():
    config = serialize_keras_object(_shared_structure())
    assert _ids(config) == {"a": None, "b": [None, None], "c": None}


def test_a_copy_serialized_inside_get_config_is_marked_too():
    """The first reference is inside a custom layer's config (serialized by
    its get_config, then embedded): the mark added later must reach it."""

    class Holder(kiln.layers.Layer):
        def __init__(self, inner, **kwargs):
            super().__init__(**kwargs)
            self.inner = inner

        def get_config(self):
            config = super().get_config()
            config["inner"] = serialize_keras_object(self.inner)
            return config

    dense = kiln.layers.Dense(2)
    with ObjectSharingScope():
        config = serialize_keras_object([Holder(dense), dense])
    assert config[0]["config"]["inner"]["shared_object_id"] == 1
    assert config[1]["shared_object_id"] == 1


def test_marked_envelopes_load_as_one_object():
    with ObjectSharingScope():
        config = serialize_keras_object(_shared_structure())
    with ObjectSharingScope():
        rebuilt = deserialize_keras_object(config)
    assert rebuilt["a"] is rebuilt["b"][1] is rebuilt["c"]["again"]
    assert rebuilt["b"][0] is not rebuilt["a"]
    # Without a scope (e.g. model_from_json) each envelope is its own object.
    separate = deserialize_keras_object(config)
    assert separate["a"] is not separate["b"][1]


def test_non_integer_marks_are_ignored():
    config = serialize_keras_object(kiln.layers.Dense(2))
    config["shared_object_id"] = ["not", "hashable"]
    with ObjectSharingScope():
        first = deserialize_keras_object(config)
        second = deserialize_keras_object(config)
    assert first is not second
