"""Fixtures for the hostile-file tests.

Each test builds a `.keras` archive by hand (with `zipfile` and byte patches)
from the members of one small, honestly saved model.
"""

from __future__ import annotations

import os
import sys
import zipfile

import numpy as np
import pytest
from security_zip_forge import MEMBERS

import kiln
import kiln.saving
from kiln._src.cli.verify_file import verify
from kiln._src.saving import object_registration
from kiln._src.saving.errors import InvalidFileError


@pytest.fixture(scope="session", autouse=True)
def _modules_of_a_first_load(tmp_path_factory) -> None:
    """One honest save and load before any test, so that the modules a first
    load imports lazily (the safety checks, h5py's high-level API, ...) are
    already imported when `ProcessState` takes its snapshot: a hostile load
    must then import nothing new."""
    path = str(tmp_path_factory.mktemp("warm") / "warm.keras")
    model = kiln.Sequential([kiln.Input((3,)), kiln.layers.Dense(2)])
    model.compile("adam", "mse")
    # One step builds the optimizer, so its saved state matches on load.
    model.fit(np.ones((2, 3)), np.ones((2, 2)), verbose=0)
    model.save(path)
    kiln.saving.load_model(path)
    model.save_weights(path.replace(".keras", ".weights.h5"))
    model.load_weights(path.replace(".keras", ".weights.h5"))


@pytest.fixture(scope="session")
def honest_members(tmp_path_factory) -> dict[str, bytes]:
    """The members of a tiny Dense model saved by kiln."""
    path = str(tmp_path_factory.mktemp("honest") / "model.keras")
    model = kiln.Sequential([kiln.Input((3,)), kiln.layers.Dense(2, name="dense")])
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in MEMBERS}


class ProcessState:
    """What a failed load must leave as it was."""

    def __init__(self, directory: str):
        self.directory = directory
        self.snapshot = self._take()

    def _take(self):
        return (
            dict(object_registration.get_custom_objects()),
            kiln.config.floatx(),
            kiln.config.epsilon(),
            sorted(os.listdir(self.directory)),
            set(sys.modules),
        )

    def assert_unchanged(self) -> None:
        registry, floatx, epsilon, files, modules = self._take()
        assert registry == self.snapshot[0]
        assert (floatx, epsilon) == self.snapshot[1:3]
        assert files == self.snapshot[3], "files appeared beside the model"
        assert modules - self.snapshot[4] == set(), "modules were imported"


@pytest.fixture
def write_file(tmp_path):
    def write(data: bytes, name: str = "model.keras") -> str:
        path = tmp_path / name
        path.write_bytes(data)
        return str(path)

    return write


@pytest.fixture
def expect_rejected(tmp_path):
    """Loads `path`, which must fail with `InvalidFileError` matching
    `match`, leaving the process state unchanged."""

    def check(path: str, match: str) -> None:
        state = ProcessState(str(tmp_path))
        with pytest.raises(InvalidFileError, match=match):
            kiln.saving.load_model(path)
        state.assert_unchanged()
        # `kiln verify` fails every file the load refuses, changing nothing.
        findings = verify(path)
        assert any(status == "FAIL" for status, _, _ in findings), findings
        state.assert_unchanged()

    return check


@pytest.fixture
def expect_loads():
    def check(path: str) -> None:
        # `kiln verify` passes every file the load accepts.
        findings = verify(path)
        assert all(status == "ok" for status, _, _ in findings), findings
        model = kiln.saving.load_model(path)
        output = model(np.ones((1, 3), "float32"))
        assert tuple(output.shape) == (1, 2)

    return check
