"""`kiln verify`: honest files pass every check; each kind of bad file fails
the check that names its fault, without the model being built."""

import json
import os
import subprocess
import sys
import zipfile

import h5py
import numpy as np
import pytest

import kiln
from kiln._src.cli.main import main
from kiln._src.cli.verify_file import verify


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    directory = tmp_path_factory.mktemp("verify")
    model = kiln.Sequential(
        [kiln.Input((3,)), kiln.layers.Dense(4, name="d1"), kiln.layers.Dense(2)]
    )
    model.compile("adam", "mse")
    model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0)
    model.save(directory / "m.keras")
    model.save(directory / "m_dir", zipped=False)
    model.save_weights(directory / "m.weights.h5")
    return directory


def _members(path):
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _write(path, members):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return str(path)


def _statuses(findings):
    return {name: status for status, name, _ in findings}


@pytest.mark.parametrize("name", ["m.keras", "m_dir", "m.weights.h5"])
def test_honest_files_pass_every_check(saved, name):
    findings = verify(str(saved / name), build=True)
    assert findings and all(status == "ok" for status, _, _ in findings), findings


def test_build_runs_the_loaders_stages_in_its_order(saved):
    checks = [name for _, name, _ in verify(str(saved / "m.keras"), build=True)]
    assert checks == ["container", "config", "build", "budget", "variables", "checksum"]
    plain = [name for _, name, _ in verify(str(saved / "m.keras"))]
    assert plain == ["container", "config", "weights", "checksum"]


def test_a_bad_field_fails_the_config_check(saved, tmp_path):
    members = _members(saved / "m.keras")
    config = json.loads(members["config.json"])
    config["config"]["layers"][1]["config"]["units"] = True
    members["config.json"] = json.dumps(config).encode()
    findings = verify(_write(tmp_path / "bad.keras", members))
    assert _statuses(findings)["config"] == "FAIL"
    assert "units" in findings[-1][2]
    assert "weights" not in _statuses(findings)  # later checks do not run


def test_a_soft_link_in_the_weights_fails_the_weights_check(saved, tmp_path):
    path = tmp_path / "linked.weights.h5"
    path.write_bytes((saved / "m.weights.h5").read_bytes())
    with h5py.File(path, "a") as file:
        del file["layers/dense_1/vars"]
        file["layers/dense_1/vars"] = h5py.SoftLink("/layers/dense/vars")
    status, name, detail = verify(str(path))[-1]
    assert (status, name) == ("FAIL", "weights")
    assert "layers/dense_1" in detail


def test_a_damaged_weights_member_fails_the_checksum(saved, tmp_path):
    raw = bytearray((saved / "m.keras").read_bytes())
    start = bytes(raw).index(b"\x89HDF")
    raw[start + 3000] ^= 0xFF  # inside the weights member, past its metadata
    (tmp_path / "damaged.keras").write_bytes(bytes(raw))
    findings = verify(str(tmp_path / "damaged.keras"))
    statuses = _statuses(findings)
    assert "FAIL" in statuses.values()
    assert statuses.get("checksum", "FAIL") == "FAIL"


def test_an_unknown_class_fails_as_the_load_does(saved, tmp_path):
    # load_model raises UnknownObjectError without custom objects, and the
    # command has none to give: verify fails the file, naming the class.
    members = _members(saved / "m.keras")
    config = json.loads(members["config.json"])
    layer = config["config"]["layers"][1]
    layer["class_name"], layer["module"] = "MyDense", None
    layer["registered_name"] = "Custom>MyDense"
    members["config.json"] = json.dumps(config).encode()
    path = _write(tmp_path / "custom.keras", members)
    findings = verify(path)
    status, name, detail = findings[-1]
    assert (status, name) == ("FAIL", "config")
    assert "UnknownObjectError" in detail and "MyDense" in detail
    with pytest.raises(kiln.saving.InvalidFileError, match="MyDense"):
        kiln.saving.load_model(path)


def test_a_file_declaring_huge_variables_fails_the_budget(saved, tmp_path):
    members = _members(saved / "m.keras")
    config = json.loads(members["config.json"])
    config["config"]["layers"][0]["config"]["batch_shape"] = [None, 60000]
    config["config"]["layers"][1]["config"]["units"] = 60000
    config["config"]["layers"][1]["build_config"]["input_shape"] = [None, 60000]
    second = config["config"]["layers"][2]
    second["build_config"]["input_shape"] = [None, 60000]
    members["config.json"] = json.dumps(config).encode()
    findings = verify(_write(tmp_path / "bomb.keras", members), build=True)
    status, name, detail = findings[-1]
    assert (status, name) == ("FAIL", "budget"), findings
    assert "bytes" in detail


def test_not_a_zip_fails_the_container_check(tmp_path):
    path = tmp_path / "junk.keras"
    path.write_bytes(b"not a zip at all" * 10)
    assert verify(str(path))[0][:2] == ("FAIL", "container")


def test_the_command_prints_and_exits_with_the_verdict(saved, tmp_path, capsys):
    assert main(["verify", str(saved / "m.keras")]) == 0
    assert "no problem found" in capsys.readouterr().out
    (tmp_path / "junk.keras").write_bytes(b"junk")
    assert main(["verify", str(tmp_path / "junk.keras")]) == 1
    assert "FAILED (container)" in capsys.readouterr().out


def test_the_installed_command_runs_as_a_process(saved):
    kiln_command = os.path.join(os.path.dirname(sys.executable), "kiln")
    result = subprocess.run(
        [kiln_command, "verify", "--build", str(saved / "m.keras")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "ok    variables" in result.stdout
