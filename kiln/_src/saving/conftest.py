"""The saving tests register custom objects: restore the global registry
after each test."""

import pytest

from kiln._src.saving import object_registration


@pytest.fixture(autouse=True)
def _restore_registry():
    objects = dict(object_registration.GLOBAL_CUSTOM_OBJECTS)
    names = dict(object_registration.GLOBAL_CUSTOM_NAMES)
    yield
    object_registration.GLOBAL_CUSTOM_OBJECTS.clear()
    object_registration.GLOBAL_CUSTOM_OBJECTS.update(objects)
    object_registration.GLOBAL_CUSTOM_NAMES.clear()
    object_registration.GLOBAL_CUSTOM_NAMES.update(names)
