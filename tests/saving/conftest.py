"""End-to-end saving tests write files: each gets a fresh working directory."""

import pytest


@pytest.fixture(autouse=True)
def _fresh_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
