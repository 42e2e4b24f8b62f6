"""`kiln verify`: honest files pass every check; each kind of bad file fails
the check that names its fault, without the model being built."""

import json
import os
import re
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
@pytest.mark.parametrize("build", [True, False])
def test_honest_files_pass_every_check(saved, name, build):
    findings = verify(str(saved / name), build=build)
    assert findings and all(status == "ok" for status, _, _ in findings), findings


def test_build_runs_the_loaders_stages_in_its_order(saved):
    checks = [name for _, name, _ in verify(str(saved / "m.keras"), build=True)]
    assert checks == ["container", "config", "build", "budget", "variables", "checksum"]
    assert [name for _, name, _ in verify(str(saved / "m.keras"))] == checks
    quick = [name for _, name, _ in verify(str(saved / "m.keras"), build=False)]
    assert quick == ["container", "config", "weights", "checksum"]


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


# -- verify never performs the work it checks --


def _lambda_file(directory, name, function, arguments=None, node_kwargs=None):
    """A Functional model whose Lambda "lam" gets `function` (and optionally
    file-chosen `arguments` and a constants-only inbound node)."""
    inputs = kiln.Input((3,))
    hidden = kiln.layers.Dense(2, name="d1")(inputs)
    outputs = kiln.layers.Lambda(
        kiln.activations.relu, arguments={"max_value": 6.0}, name="lam"
    )(hidden)
    honest = directory / "honest-lambda.keras"
    kiln.Model(inputs, outputs).save(honest)
    members = _members(honest)
    config = json.loads(members["config.json"])
    lam = next(layer for layer in config["config"]["layers"] if layer["name"] == "lam")
    if function is not None:
        lam["config"]["function"] = function
        lam["config"]["arguments"] = arguments or {}
    if node_kwargs is not None:
        lam["inbound_nodes"] = [{"args": [], "kwargs": node_kwargs}]
    members["config.json"] = json.dumps(config).encode()
    return _write(directory / name, members)


def _gadgets(directory):
    def function(module, name):
        return {"module": module, "class_name": "function", "config": name}

    canary = str(directory / "PWNED")
    return {
        "set-epsilon": (function("keras.config", "set_epsilon"), None, {"inputs": 0.5}),
        "set-floatx": (
            function("keras.config", "set_floatx"),
            None,
            {"inputs": "float16"},
        ),
        "save-weights": (
            function("keras.saving", "save_weights"),
            {"filepath": canary + ".weights.h5"},
            {"inputs": None},
        ),
        "save-model-dotted": (
            {
                "module": None,
                "class_name": "function",
                "config": "keras.saving.save_model",
            },
            {"filepath": canary + ".keras"},
            None,
        ),
        "get-file": (
            function("keras.utils", "get_file"),
            {
                "origin": "file://" + canary,
                "fname": "PWNED2",
                "cache_dir": str(directory),
            },
            None,
        ),
        "ops-by-name": (function("keras.ops", "add"), {"x2": 1.0}, {"x1": 2.0}),
    }


@pytest.mark.parametrize(
    "gadget",
    ["set-epsilon", "set-floatx", "save-weights", "save-model-dotted", "get-file"]
    + ["ops-by-name"],
)
def test_verify_build_of_a_gadget_file_fails_and_changes_nothing(tmp_path, gadget):
    function, arguments, node_kwargs = _gadgets(tmp_path)[gadget]
    path = _lambda_file(tmp_path, f"{gadget}.keras", function, arguments, node_kwargs)
    files = sorted(os.listdir(tmp_path))
    state = (kiln.config.floatx(), kiln.config.epsilon())
    try:
        for build in (True, False):
            findings = verify(path, build=build)
            assert findings[-1][0] == "FAIL", findings
            assert not any(name == "build" for _, name, _ in findings), findings
        with pytest.raises(kiln.saving.InvalidFileError):
            kiln.saving.load_model(path)
        assert (kiln.config.floatx(), kiln.config.epsilon()) == state
        assert sorted(os.listdir(tmp_path)) == files, "verify wrote a file"
    finally:
        kiln.config.set_floatx(state[0])
        kiln.config.set_epsilon(state[1])


def test_the_benign_lambda_twin_verifies_and_loads(tmp_path):
    path = _lambda_file(tmp_path, "twin.keras", None)
    assert all(status == "ok" for status, _, _ in verify(path, build=True))
    model = kiln.saving.load_model(path)
    assert float(np.asarray(model(np.full((1, 3), 1e3, "float32"))).max()) <= 6.0


def test_the_command_on_a_gadget_file_fails_without_a_traceback(tmp_path):
    function, arguments, node_kwargs = _gadgets(tmp_path)["save-model-dotted"]
    path = _lambda_file(tmp_path, "gadget.keras", function, arguments, node_kwargs)
    before = sorted(os.listdir(tmp_path))
    kiln_command = os.path.join(os.path.dirname(sys.executable), "kiln")
    for flags in (["--build"], [], ["--no-build"]):
        result = subprocess.run(
            [kiln_command, "verify", *flags, path],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
        assert result.returncode == 1, result.stdout + result.stderr
        assert "FAILED (config)" in result.stdout
        assert "keras.saving.save_model" in result.stdout
        assert "Traceback" not in result.stdout + result.stderr
    assert sorted(os.listdir(tmp_path)) == before


@pytest.mark.parametrize(
    "top",
    [
        {"class_name": "function", "config": "relu", "module": "keras.activations"},
        {"class_name": "Dense", "config": {"units": 2}, "module": "keras.layers"},
        {"class_name": "Sequential"},
        {"config": {}},
    ],
    ids=["function", "bare-layer", "no-config", "no-class"],
)
def test_a_config_that_is_not_a_model_fails_like_the_load(saved, tmp_path, top):
    members = _members(saved / "m.keras")
    members["config.json"] = json.dumps(top).encode()
    path = _write(tmp_path / "not-a-model.keras", members)
    findings = verify(path, build=True)
    assert findings[-1][0] == "FAIL", findings
    assert "model" in findings[-1][2]
    with pytest.raises(kiln.saving.InvalidFileError, match="model"):
        kiln.saving.load_model(path)


def test_paths_the_loader_refuses_fail_the_container_check(saved, tmp_path):
    for path in [tmp_path / "missing.keras", tmp_path / "model.h5", tmp_path / "x.zip"]:
        if path.suffix != ".keras":
            path.write_bytes(b"PK")
        status, name, detail = verify(str(path), build=True)[0]
        assert (status, name) == ("FAIL", "container"), detail
    empty = tmp_path / "empty_dir"
    empty.mkdir()
    status, name, detail = verify(str(empty))[0]
    assert (status, name) == ("FAIL", "container") and "config.json" in detail
    with pytest.raises(kiln.saving.InvalidFileError, match="config.json"):
        kiln.saving.load_model(str(empty))  # a fuzzer finding: was ValueError


def test_a_sharded_index_verifies_through_the_checked_readers(saved, tmp_path):
    model = kiln.Sequential([kiln.Input((3,)), kiln.layers.Dense(2)])
    index = tmp_path / "s.weights.json"
    model.save_weights(index, max_shard_size=30 / 1024**3)
    findings = verify(str(index))
    assert [name for _, name, _ in findings] == ["index", "shards"]
    assert all(status == "ok" for status, _, _ in findings), findings
    index.write_text('{"weight_map": {"/vars": "../s_00000.weights.h5"}}')
    assert verify(str(index))[-1][:2] == ("FAIL", "index")


def test_no_build_stops_before_the_rebuild_and_never_passes_a_refused_file(
    saved, tmp_path
):
    # The budget bomb needs the rebuild to be seen: --no-build passes it (and
    # says the rebuild was skipped); the default verdict is load_model's.
    members = _members(saved / "m.keras")
    config = json.loads(members["config.json"])
    config["config"]["layers"][0]["config"]["batch_shape"] = [None, 60000]
    config["config"]["layers"][1]["config"]["units"] = 60000
    config["config"]["layers"][1]["build_config"]["input_shape"] = [None, 60000]
    config["config"]["layers"][2]["build_config"]["input_shape"] = [None, 60000]
    members["config.json"] = json.dumps(config).encode()
    path = _write(tmp_path / "bomb.keras", members)
    assert verify(path)[-1][:2] == ("FAIL", "budget")
    quick = verify(path, build=False)
    assert all(status == "ok" for status, _, _ in quick)
    assert "build" not in {name for _, name, _ in quick}
    with pytest.raises(kiln.saving.InvalidFileError, match="bytes"):
        kiln.saving.load_model(path)


def test_max_bytes_sets_the_variable_budget(saved, capsys):
    path = str(saved / "m.keras")
    assert main(["verify", "--max-bytes", "1", path]) == 1
    out = capsys.readouterr().out
    assert "FAIL  budget" in out and "over the limit of 1 bytes" in out
    needed = int(re.search(r"kiln verify --max-bytes (\d+) FILE", out).group(1))
    assert main(["verify", "--max-bytes", str(needed), path]) == 0
    assert f"the variables need {needed:,} bytes" in capsys.readouterr().out
    assert main(["verify", "--max-bytes", "-1", path]) == 2
    assert "must be a non-negative integer" in capsys.readouterr().out


def _user_warnings(recwarn):
    return [str(w.message) for w in recwarn if issubclass(w.category, UserWarning)]


def test_verify_build_of_a_trained_model_prints_no_warning(saved, capsys, recwarn):
    # Compiled and trained: the optimizer's state is in the file and is
    # checked with the layers' variables (2 x 2 layer variables + Adam's
    # iterations, learning rate and 2 slots per variable = 14).
    assert main(["verify", "--build", str(saved / "m.keras")]) == 0
    out, err = capsys.readouterr()
    assert "ok    variables  14 variables match" in out
    assert "note" not in out and err == ""
    assert _user_warnings(recwarn) == []


def test_verify_build_reports_a_skipped_optimizer_on_its_line(
    tmp_path, capsys, recwarn
):
    # Compiled, never trained: the file holds the unbuilt optimizer's two
    # variables, the load builds it (as Keras's compile_from_config does) and
    # skips them with a warning. verify reports that warning on the stage's
    # line instead of printing it mid-report.
    model = kiln.Sequential([kiln.Input((3,)), kiln.layers.Dense(2)])
    model.compile("adam", "mse")
    model.save(tmp_path / "untrained.keras")
    assert main(["verify", "--build", str(tmp_path / "untrained.keras")]) == 0
    out, err = capsys.readouterr()
    line = next(row for row in out.splitlines() if row.startswith("ok    variables"))
    assert "note (load_model warns): Skipping variable loading for optimizer" in line
    assert "saved before the optimizer was built" in line
    assert err == "" and _user_warnings(recwarn) == []
    with pytest.warns(UserWarning, match="saved before the optimizer was built"):
        kiln.saving.load_model(tmp_path / "untrained.keras")
