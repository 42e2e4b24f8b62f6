"""The guide's examples write files to the current directory: give each test a
fresh one (the root conftest restores the custom-object registry)."""

import pytest


@pytest.fixture(autouse=True)
def _fresh_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
