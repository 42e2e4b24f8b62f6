import pathlib
import subprocess
import sys
import tomllib

import numpy as np

import kiln as keras


def _run(*args):
    return subprocess.run(
        [sys.executable, "-m", "kiln._src.cli.main", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_inspect_keras_file_without_importing_jax(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="d")])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0)
    path = str(tmp_path / "m.keras")
    model.save(path)
    result = _run("inspect", path)
    assert result.returncode == 0, result.stderr
    assert 'Sequential "' in result.stdout
    assert "d (Dense)" in result.stdout
    assert "layers/dense/vars/0  (3, 2)" in result.stdout
    assert "optimizer/vars/0" in result.stdout
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, io; from kiln._src.cli.inspect_file import describe; "
            f"describe({path!r}, io.StringIO()); print('jax' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.strip() == "False"


def test_inspect_weights_file_and_bad_file(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    path = str(tmp_path / "w.weights.h5")
    model.save_weights(path)
    assert "weights (2 arrays" in _run("inspect", path).stdout
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"not a model")
    result = _run("inspect", str(bad))
    assert result.returncode == 1 and "cannot read" in result.stderr


def test_inspect_sharded_weights_without_importing_jax(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    path = str(tmp_path / "s.weights.json")
    model.save_weights(path, max_shard_size=30 / 1024**3)
    result = _run("inspect", path)
    assert result.returncode == 0, result.stderr
    assert "sharded weights index (2 shards)" in result.stdout
    assert "layers/dense/vars/0  (3, 2)" in result.stdout
    assert "s_00001.weights.h5" in result.stdout
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, io; from kiln._src.cli.inspect_file import describe; "
            f"describe({path!r}, io.StringIO()); print('jax' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.strip() == "False"
    (tmp_path / "s.weights.json").write_text(
        '{"weight_map": {"/vars": "../s_00000.weights.h5"}}'
    )
    result = _run("inspect", path)
    assert result.returncode == 1 and "not a plain shard file" in result.stderr


def test_inspect_reads_through_the_checked_readers(tmp_path):
    # A soft link in the weights is refused, as a load would refuse it, and
    # a model saved as a directory is described like a .keras file.
    import h5py

    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(2), keras.layers.Dense(2)]
    )
    path = str(tmp_path / "w.weights.h5")
    model.save_weights(path)
    with h5py.File(path, "a") as file:
        del file["layers/dense_1/vars"]
        file["layers/dense_1/vars"] = h5py.SoftLink("/layers/dense/vars")
    result = _run("inspect", path)
    assert result.returncode == 1
    assert "layers/dense_1" in result.stderr and "link" in result.stderr
    directory = str(tmp_path / "m_dir")
    model.save(directory, zipped=False)
    result = _run("inspect", directory)
    assert result.returncode == 0, result.stderr
    assert "model directory" in result.stdout
    assert "layers/dense_1/vars/0  (2, 2)" in result.stdout


def test_bad_files_exit_with_1_and_no_traceback(tmp_path, capsys):
    # Each command, on each kind of file it cannot read: one line saying why,
    # exit status 1, never an exception out of main() (a traceback).
    import json
    import zipfile

    from kiln._src.cli.main import main

    (tmp_path / "empty.keras").write_bytes(b"")
    (tmp_path / "junk.weights.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 64)
    (tmp_path / "junk.weights.json").write_text('{"weight_map": 3}')
    with zipfile.ZipFile(tmp_path / "junk-config.keras", "w") as archive:
        archive.writestr("metadata.json", "{}")
        archive.writestr("config.json", json.dumps({"class_name": 3, "config": []}))
        archive.writestr("model.weights.h5", b"")
    (tmp_path / "no_config_dir").mkdir()
    paths = [
        "empty.keras",
        "junk.weights.h5",
        "junk.weights.json",
        "junk-config.keras",
        "no_config_dir",
        "missing.keras",
    ]
    for name in paths:
        for command in (["inspect"], ["verify"], ["verify", "--no-build"]):
            code = main([*command, str(tmp_path / name)])
            captured = capsys.readouterr()
            output = captured.out + captured.err
            # inspect describes what it can of an empty model directory.
            allowed = (
                (0, 1) if name == "no_config_dir" and command == ["inspect"] else (1,)
            )
            assert code in allowed, (command, name, output)
            assert "internal error" not in output, (command, name, output)
            assert "cannot read" in output or "FAIL" in output or code == 0


def test_version():
    result = _run("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"kiln {keras.__version__}\n"
    # The version shown is the one the package is published under.
    pyproject = pathlib.Path(__file__).parents[3] / "pyproject.toml"
    with pyproject.open("rb") as file:
        assert tomllib.load(file)["project"]["version"] == keras.__version__
