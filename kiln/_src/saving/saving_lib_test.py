"""`load_weights_into`: every dataset is checked before any is read, then the
variables are read and assigned one at a time, on real files."""

import numpy as np
import pytest

import kiln
from kiln._src.saving import saving_lib
from kiln._src.saving.errors import InvalidFileError
from kiln._src.saving.h5_store import H5Reader


class _RecordingReader(H5Reader):
    """A real reader that logs its calls and what the model held at each read."""

    def __init__(self, path, model):
        super().__init__(path, f"'{path}'")
        self.events = []
        self.model = model

    def check(self, path, key, shape, dtype):
        self.events.append(("check", f"{path}/{key}"))
        return super().check(path, key, shape, dtype)

    def read_checked(self, checked):
        loaded = [float(np.asarray(w).ravel()[0]) for w in self.model.weights]
        self.events.append(("read", loaded))
        return super().read_checked(checked)


def _model(fill):
    model = kiln.Sequential(
        [kiln.Input((2,)), kiln.layers.Dense(3), kiln.layers.Dense(1)]
    )
    for weight in model.weights:
        weight.assign(np.full(weight.shape, fill, "float32"))
    return model


def test_checks_then_reads_then_the_checksum_then_assignments(tmp_path):
    path = str(tmp_path / "w.weights.h5")
    _model(7.0).save_weights(path)
    target = _model(0.0)
    reader = _RecordingReader(path, target)

    def before_assign():
        held = [float(np.asarray(w).ravel()[0]) for w in target.weights]
        reader.events.append(("checksum", held))

    saving_lib.load_weights_into(
        target, reader, skip_mismatch=False, before_assign=before_assign
    )
    reader.close()
    kinds = [kind for kind, _ in reader.events]
    assert kinds == ["check"] * 4 + ["read"] * 4 + ["checksum"]
    # Nothing is assigned until every read and the checksum succeeded.
    for _, held in reader.events[4:]:
        assert held == [0.0] * 4
    for weight in target.weights:
        np.testing.assert_array_equal(np.asarray(weight), 7.0)


def test_a_failed_checksum_assigns_nothing(tmp_path):
    path = str(tmp_path / "w.weights.h5")
    _model(7.0).save_weights(path)
    target = _model(0.0)
    reader = _RecordingReader(path, target)

    def corrupt():
        raise InvalidFileError("bad CRC-32")

    with pytest.raises(InvalidFileError, match="CRC"):
        saving_lib.load_weights_into(
            target, reader, skip_mismatch=False, before_assign=corrupt
        )
    reader.close()
    for weight in target.weights:
        np.testing.assert_array_equal(np.asarray(weight), 0.0)


def test_a_failed_check_anywhere_reads_and_assigns_nothing(tmp_path):
    path = str(tmp_path / "w.weights.h5")
    source = kiln.Sequential(
        [kiln.Input((2,)), kiln.layers.Dense(3), kiln.layers.Dense(2)]
    )
    source.save_weights(path)
    target = _model(0.0)  # the last layer has 1 unit, not 2
    reader = _RecordingReader(path, target)
    with pytest.raises(ValueError, match="expected shape"):
        saving_lib.load_weights_into(target, reader, skip_mismatch=False)
    reader.close()
    assert all(kind == "check" for kind, _ in reader.events)
    for weight in target.weights:
        np.testing.assert_array_equal(np.asarray(weight), 0.0)
