"""End-to-end saving tests: each test gets a fresh working directory, and the
global custom-object registry is restored afterwards (the fixture the saving
unit tests use)."""

import pytest

from kiln._src.saving.conftest import _restore_registry  # noqa: F401 - autouse


@pytest.fixture(autouse=True)
def _fresh_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
