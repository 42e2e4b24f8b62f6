"""The custom-object registry and its scopes (Keras's rules, checked against
real Keras where both run)."""

import os

import pytest

import kiln
from kiln._src.saving.object_registration import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)

os.environ.setdefault("KERAS_BACKEND", "jax")


def _layer_class(name="Scale"):
    def get_config(self):
        return super(cls, self).get_config()

    cls = type(name, (kiln.layers.Layer,), {"get_config": get_config})
    return cls


def test_register_with_package_and_name():
    cls = register_keras_serializable(package="MyPkg", name="Mult")(_layer_class())
    assert get_registered_name(cls) == "MyPkg>Mult"
    assert get_registered_object("MyPkg>Mult") is cls
    assert get_custom_objects()["MyPkg>Mult"] is cls


def test_register_defaults_to_custom_package_and_class_name():
    cls = register_keras_serializable()(_layer_class("Doubler"))
    assert get_registered_name(cls) == "Custom>Doubler"


def test_registered_function():
    @register_keras_serializable(package="my_package", name="custom_fn")
    def custom_fn(x):
        return x**2

    assert get_registered_name(custom_fn) == "my_package>custom_fn"
    assert get_registered_object("my_package>custom_fn") is custom_fn


def test_unregistered_name_is_the_python_name():
    cls = _layer_class("Plain")
    assert get_registered_name(cls) == "Plain"
    assert get_registered_object("Plain") is None


def test_lookup_order_scope_then_registry_then_custom_objects_then_module():
    registered = register_keras_serializable(package="P", name="X")(_layer_class())
    other = _layer_class("Other")
    assert get_registered_object("P>X", custom_objects={"P>X": other}) is registered
    assert get_registered_object("Y", custom_objects={"Y": other}) is other
    assert get_registered_object("Y", module_objects={"Y": other}) is other
    scoped = _layer_class("Scoped")
    with custom_object_scope({"P>X": scoped}):
        assert get_registered_object("P>X") is scoped


def test_scopes_nest_and_unwind():
    a, b = _layer_class("A"), _layer_class("B")
    with custom_object_scope({"A": a}):
        with CustomObjectScope({"B": b}, None):
            assert get_registered_object("A") is a
            assert get_registered_object("B") is b
        assert get_registered_object("B") is None
    assert get_registered_object("A") is None


def test_scope_rejects_a_non_dict():
    with pytest.raises(TypeError, match="expects dicts"):
        custom_object_scope(["A"])


def test_clearing_the_registry_forgets_the_objects_like_keras():
    import keras

    cls = register_keras_serializable(package="P", name="Gone")(_layer_class())
    get_custom_objects().clear()
    assert get_custom_objects() == {}
    assert get_registered_object("P>Gone") is None
    # Keras keeps the reverse mapping, so the class still serializes under
    # its registered name (and needs registering again before loading).
    assert get_registered_name(cls) == "P>Gone"

    keras_cls = keras.saving.register_keras_serializable(package="P", name="Gone")(
        type("Gone", (keras.layers.Layer,), {})
    )
    saved_keras = dict(keras.saving.get_custom_objects())
    try:
        keras.saving.get_custom_objects().clear()
        assert keras.saving.get_registered_name(keras_cls) == "P>Gone"
        assert keras.saving.get_registered_object("P>Gone") is None
    finally:
        keras.saving.get_custom_objects().update(saved_keras)


def test_class_without_get_config_cannot_be_registered():
    class NoConfig:
        pass

    with pytest.raises(ValueError, match="must implement `get_config\\(\\)`"):
        register_keras_serializable()(NoConfig)


def test_package_with_separator_is_refused():
    with pytest.raises(ValueError, match="without '>'"):
        register_keras_serializable(package="a>b")


def test_public_aliases_are_the_same_objects():
    assert kiln.saving.get_custom_objects is kiln.utils.get_custom_objects
    assert kiln.saving.custom_object_scope is kiln.utils.custom_object_scope
    assert kiln.saving.register_keras_serializable is register_keras_serializable
