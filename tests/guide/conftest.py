"""The guide's examples write files to the current directory and edit the
global custom-object registry: give each test a fresh directory and restore
the registry afterwards."""

import pytest

from kiln._src.saving import object_registration


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    saved_objects = dict(object_registration.GLOBAL_CUSTOM_OBJECTS)
    saved_names = dict(object_registration.GLOBAL_CUSTOM_NAMES)
    yield
    object_registration.GLOBAL_CUSTOM_OBJECTS.clear()
    object_registration.GLOBAL_CUSTOM_OBJECTS.update(saved_objects)
    object_registration.GLOBAL_CUSTOM_NAMES.clear()
    object_registration.GLOBAL_CUSTOM_NAMES.update(saved_names)
