"""One hostile file per attack class, each loaded in a fresh, memory-capped
child process (see `sandbox.py`), and a benign twin per class that must load.

A hostile load must raise `InvalidFileError` (or a subclass), leave no canary
and no file behind, import no module the benign loads do not import, and
leave kiln's global config as it was. All files are forged at once and run in
as few children as possible (a child that crashes is replaced for the rest).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import marshal
import os
import stat
import sys
import zipfile

import h5py
import numpy as np
import pytest
from sandbox import GADGET_MODULE, Job, Sandbox
from security_zip_forge import (
    archive_with,
    build_archive,
    edit_h5,
    honest_list,
    patch_central,
    read_members,
)

import kiln

SECRET = b"TOP-SECRET-0123456789abc"  # 24 bytes: a (3, 2) float32 kernel
_ALWAYS_ALLOWED_PACKAGES = {"kiln", "jax", "jaxlib", "numpy", "h5py", "ml_dtypes"}
# Standard-library modules that only a gadget would import during a load.
_SUSPICIOUS_STDLIB = {"antigravity", "this", "webbrowser", "pickle", "ctypes"}


# -- forging --


def _functional_lambda_model() -> kiln.Model:
    """Input(3) -> Dense "d1" -> Lambda(relu, max_value=6.0) "lam"."""
    inputs = kiln.Input((3,))
    x = kiln.layers.Dense(2, name="d1")(inputs)
    outputs = kiln.layers.Lambda(
        kiln.activations.relu, arguments={"max_value": 6.0}, name="lam"
    )(x)
    return kiln.Model(inputs, outputs)


def _layer(config: dict, name: str) -> dict:
    return next(layer for layer in config["config"]["layers"] if layer["name"] == name)


def _with_config(members: dict[str, bytes], config: dict) -> bytes:
    return archive_with(members, config_json=json.dumps(config).encode())


def _lambda_gadget(members, function, arguments=None, node_kwargs=None) -> bytes:
    """The Functional twin with the Lambda's function (and optionally its
    arguments and call kwargs, as in probe c07) replaced."""
    config = json.loads(members["config.json"])
    lam = _layer(config, "lam")
    lam["config"]["function"] = function
    lam["config"]["arguments"] = {} if arguments is None else arguments
    if node_kwargs is not None:
        lam["inbound_nodes"] = [{"args": [], "kwargs": node_kwargs}]
    return _with_config(members, config)


def _function(module: str, name: str) -> dict:
    return {"module": module, "class_name": "function", "config": name}


def _bytecode_lambda(canary: str) -> dict:
    fn = eval(f"lambda x: (open({canary!r}, 'w').close(), x)[1]")  # noqa: S307
    code = base64.encodebytes(marshal.dumps(fn.__code__)).decode("ascii")
    return {
        "class_name": "__lambda__",
        "config": {"code": code, "defaults": None, "closure": None},
    }


def _extra_layer(members, layer: dict) -> bytes:
    """The Functional twin with `layer` inserted after "d1" and made the
    model's output."""
    config = json.loads(members["config.json"])
    layer.setdefault("name", layer["config"]["name"])
    layer["inbound_nodes"] = _layer(config, "lam")["inbound_nodes"]
    config["config"]["layers"].append(layer)
    config["config"]["output_layers"] = [layer["name"], 0, 0]
    return _with_config(members, config)


def _numpy_argument(dtype: str, value) -> dict:
    return {
        "max_value": {
            "class_name": "__numpy__",
            "config": {"value": value, "dtype": dtype},
        }
    }


def _json_edit(members, old: str, new: str) -> bytes:
    text = members["config.json"].decode()
    assert text.count(old) >= 1, old
    return archive_with(members, config_json=text.replace(old, new, 1).encode())


def _dense_bomb_config(members, units: int, width: int) -> bytes:
    config = json.loads(members["config.json"])
    layers = config["config"]["layers"]
    layers[0]["config"]["batch_shape"] = [None, width]
    dense = layers[1]
    dense["config"]["units"] = units
    dense["build_config"] = {"input_shape": [None, width]}
    return _with_config(members, config)


class Forge:
    """Writes the hostile files and their benign twins into `root/inputs`."""

    def __init__(self, sandbox: Sandbox, root):
        self.sandbox = sandbox
        self.inputs = root / "inputs"
        self.inputs.mkdir()
        self.scratch = root / "scratch"
        self.scratch.mkdir()

        path = str(self.inputs / "honest-dense.keras")
        kiln.Sequential([kiln.Input((3,)), kiln.layers.Dense(2, name="dense")]).save(
            path
        )
        self.dense_model = path
        self.dense = read_members(path)
        path = str(self.inputs / "honest-lambda.keras")
        _functional_lambda_model().save(path)
        self.functional = read_members(path)
        path = str(self.inputs / "honest.weights.h5")
        kiln.Sequential(
            [kiln.Input((3,)), kiln.layers.Dense(2, name="dense")]
        ).save_weights(path)
        with open(path, "rb") as f:
            self.weights = f.read()
        (root / "secret.txt").write_bytes(SECRET)
        self.secret = str(root / "secret.txt")
        with h5py.File(root / "secret.h5", "w") as f:
            f.create_dataset("vars/0", data=np.frombuffer(SECRET, "f4").reshape(3, 2))
            f.create_dataset("vars/1", data=np.zeros(2, "f4"))
        self.secret_h5 = str(root / "secret.h5")

    def write(self, name: str, data: bytes) -> str:
        path = self.inputs / name
        path.write_bytes(data)
        return str(path)

    def keras_h5(self, edit) -> bytes:
        """The Dense model's archive with its weights member edited by h5py."""
        weights = edit_h5(self.dense["model.weights.h5"], edit, str(self.scratch))
        return archive_with(self.dense, model_weights_h5=weights)

    def weights_h5(self, edit) -> bytes:
        return edit_h5(self.weights, edit, str(self.scratch))


def _replace_dataset(key: str, **create):
    def edit(f: h5py.File) -> None:
        data = f[key][()]
        del f[key]
        if "data" not in create and "shape" not in create:
            create["data"] = data
        f.create_dataset(key, **create)

    return edit


def _link_vars(link):
    def edit(f: h5py.File) -> None:
        del f["layers/dense/vars"]
        f["layers/dense/vars"] = link

    return edit


def _relink_same(f: h5py.File) -> None:
    """Benign twin of the link attacks: the group rewritten as hard links."""
    group = f["layers/dense/vars"]
    values = {key: group[key][()] for key in group}
    name = group.attrs.get("name")
    del f["layers/dense/vars"]
    group = f.create_group("layers/dense/vars")
    if name is not None:
        group.attrs["name"] = name
    for key, value in values.items():
        group.create_dataset(key, data=value)


def _external_storage(secret: str):
    def edit(f: h5py.File) -> None:
        del f["layers/dense/vars/0"]
        f["layers/dense/vars"].create_dataset(
            "0", shape=(3, 2), dtype="f4", external=[(secret, 0, len(SECRET))]
        )

    return edit


def _forge_cases(forge: Forge, canary: str) -> dict[str, tuple[Job, Job]]:
    """Attack id -> (hostile job, benign twin job)."""
    fn, dense, w = forge.functional, forge.dense, forge.write
    honest_lambda = w("twin-lambda.keras", build_archive(honest_list(fn)))
    honest_dense = w("twin-dense.keras", build_archive(honest_list(dense)))
    cases: dict[str, tuple[str | Job, str | Job]] = {}

    # -- code in the config (CVE-2024-3660, -1550, -8747, -9906, probe c07) --
    cases["bytecode-lambda"] = (
        w("bytecode.keras", _lambda_gadget(fn, _bytecode_lambda(canary))),
        honest_lambda,
    )
    gadgets = {
        "os-system": (_function("os", "system"), {"inputs": f"touch {canary}"}),
        "builtins-exec": (
            _function("builtins", "exec"),
            {"inputs": f"open({canary!r}, 'w').close()"},
        ),
        "get-file": (_function("keras.utils", "get_file"), None),
        "enable-unsafe": (
            _function("keras.config", "enable_unsafe_deserialization"),
            {"inputs": None},
        ),
        "set-epsilon": (_function("keras.config", "set_epsilon"), {"inputs": 0.5}),
        "set-floatx": (_function("keras.config", "set_floatx"), {"inputs": "float16"}),
        "import-gadget-function": (_function(GADGET_MODULE, "run"), None),
    }
    for name, (function, node_kwargs) in gadgets.items():
        arguments = None
        if name == "get-file":
            arguments = {
                "origin": "file://" + forge.secret,
                "fname": "PWNED",
                "cache_dir": os.path.dirname(canary),
                "cache_subdir": ".",
            }
        data = _lambda_gadget(fn, function, arguments, node_kwargs)
        cases[f"gadget-{name}"] = (w(f"{name}.keras", data), honest_lambda)
    evil_class = {
        "module": GADGET_MODULE,
        "class_name": "Evil",
        "config": {"name": "evil"},
        "registered_name": None,
    }
    cases["gadget-import-class"] = (
        w("import-class.keras", _extra_layer(fn, evil_class)),
        honest_lambda,
    )

    # -- strings used as paths (CVE-2025-12058, CVE-2026-1462) --
    for name, class_name, field in [
        ("vocabulary-path", "StringLookup", {"vocabulary": forge.secret}),
        ("tfsm-filepath", "TFSMLayer", {"filepath": os.path.dirname(forge.secret)}),
        ("torch-module", "TorchModuleWrapper", {"module": "gASVAAAA"}),
    ]:
        layer = {
            "module": "keras.layers",
            "class_name": class_name,
            "config": {"name": name.replace("-", "_"), **field},
            "registered_name": None,
        }
        cases[f"path-{name}"] = (
            w(f"{name}.keras", _extra_layer(fn, layer)),
            honest_lambda,
        )

    # -- HDF5: links and external storage (CVE-2026-1669, link advisories) --
    for kind in ("keras", "weights"):
        make = forge.keras_h5 if kind == "keras" else forge.weights_h5
        suffix = ".keras" if kind == "keras" else ".weights.h5"

        def job(path: str, kind=kind) -> Job:
            if kind == "keras":
                return Job(path)
            return Job(path, kind="weights", model=forge.dense_model)

        twin = job(w(f"h5-hardlinks-{kind}{suffix}", make(_relink_same)))
        cases[f"h5-external-link-{kind}"] = (
            job(
                w(
                    f"h5-extlink-{kind}{suffix}",
                    make(_link_vars(h5py.ExternalLink(forge.secret_h5, "/vars"))),
                )
            ),
            twin,
        )
        cases[f"h5-soft-link-{kind}"] = (
            job(
                w(
                    f"h5-softlink-{kind}{suffix}",
                    make(_link_vars(h5py.SoftLink("/layers/input_layer/vars"))),
                )
            ),
            twin,
        )
        cases[f"h5-external-storage-{kind}"] = (
            job(
                w(f"h5-external-{kind}{suffix}", make(_external_storage(forge.secret)))
            ),
            twin,
        )
        # CVE-2026-0897 / -12570: 4 TiB declared, nothing stored.
        cases[f"h5-shape-bomb-{kind}"] = (
            job(
                w(
                    f"h5-shape-bomb-{kind}{suffix}",
                    make(
                        _replace_dataset(
                            "layers/dense/vars/0",
                            shape=(1 << 20, 1 << 20),
                            dtype="f4",
                            chunks=(1, 1024),
                            compression="gzip",
                        )
                    ),
                )
            ),
            job(
                w(
                    # Chunked like the bomb, but the true shape and no
                    # compression filter (kiln allows none: Keras writes none).
                    f"h5-chunked-{kind}{suffix}",
                    make(
                        _replace_dataset(
                            "layers/dense/vars/0", chunks=(1, 2), shuffle=True
                        )
                    ),
                )
            ),
        )

    # -- zip container (security.md section 3) --
    members = honest_list(dense)
    cases["zip-slip"] = (
        w("zip-slip.keras", build_archive(members + [("../../PWNED", b"x")])),
        w("zip-asset.keras", build_archive(members + [("assets/ok.txt", b"x")])),
    )
    symlink = patch_central(
        build_archive(members),
        "config.json",
        external_attr=(stat.S_IFLNK | 0o777) << 16,
    )
    regular = patch_central(
        build_archive(members),
        "config.json",
        external_attr=(stat.S_IFREG | 0o644) << 16,
    )
    cases["zip-symlink-member"] = (
        w("zip-symlink.keras", symlink),
        w("zip-reg.keras", regular),
    )
    cases["zip-duplicate-member"] = (
        w("zip-dup.keras", build_archive(members + [("config.json", b'{"x": 1}')])),
        honest_dense,
    )
    deflated = build_archive(members, zipfile.ZIP_DEFLATED)
    deflated_twin = w("zip-deflated.keras", deflated)
    with zipfile.ZipFile(deflated_twin) as archive:
        stored = archive.getinfo("config.json").compress_size
    cases["zip-deflate-bomb"] = (
        w(
            "zip-bomb.keras",
            patch_central(deflated, "config.json", file_size=stored * 5000),
        ),
        deflated_twin,
    )
    plain = build_archive(members)
    weights_size = len(dense["model.weights.h5"])
    cases["zip-lying-size"] = (
        w(
            "zip-lie.keras",
            patch_central(plain, "model.weights.h5", file_size=weights_size * 1000),
        ),
        honest_dense,
    )
    cases["zip-truncated"] = (
        w("zip-truncated.keras", plain[: len(plain) // 2]),
        honest_dense,
    )

    # -- JSON --
    config_text = dense["config.json"].decode()
    cases["json-deep-nesting"] = (
        w(
            "json-deep.keras",
            archive_with(
                dense,
                config_json=(
                    config_text[:-1]
                    + ', "extra": '
                    + "[" * 100_000
                    + "]" * 100_000
                    + "}"
                ).encode(),
            ),
        ),
        w(
            "json-shallow.keras",
            archive_with(
                dense,
                config_json=(config_text[:-1] + ', "extra": [[[[]]]]}').encode(),
            ),
        ),
    )
    cases["json-duplicate-key"] = (
        w("json-dup.keras", _json_edit(dense, '"units": 2', '"units": 2, "units": 3')),
        honest_dense,
    )
    cases["json-nan"] = (
        w("json-nan.keras", _json_edit(dense, '"seed": null', '"seed": NaN')),
        w("json-seed.keras", _json_edit(dense, '"seed": null', '"seed": 7')),
    )
    cases["json-huge-int"] = (
        w("json-int.keras", _json_edit(dense, '"seed": null', '"seed": ' + "9" * 5000)),
        w("json-seed2.keras", _json_edit(dense, '"seed": null', '"seed": 7')),
    )
    cases["json-numpy-dtype-bomb"] = (
        w(
            "numpy-bomb.keras",
            _lambda_gadget(
                fn,
                _function("builtins", "relu"),
                _numpy_argument("U500000000", list(range(8))),
            ),
        ),
        w(
            "numpy-ok.keras",
            _lambda_gadget(
                fn, _function("builtins", "relu"), _numpy_argument("float32", 6.0)
            ),
        ),
    )

    # -- allocation driven by hyper-parameters (probe c15b) --
    cases["build-allocation-bomb"] = (
        w("dense-bomb.keras", _dense_bomb_config(dense, 60000, 60000)),
        honest_dense,
    )

    return {
        key: tuple(j if isinstance(j, Job) else Job(j) for j in pair)
        for key, pair in cases.items()
    }


# -- running --

# Every hostile file goes through each entry point that reads its kind of
# file; `_STRICT` kinds must refuse it, the others may also succeed (e.g.
# `open_weights` reads only the weights of a file whose config is hostile),
# and none may breach the promise.
_MODEL_KINDS = ("model", "open_weights", "inspect", "verify", "verify_build")
_WEIGHTS_KINDS = ("weights", "open_weights", "weights_subset", "inspect", "verify")
_STRICT = {"model", "weights", "weights_subset", "verify", "verify_build"}
# Attacks on the container or the weights: open_weights must refuse them too.
_WEIGHTS_LAYER_PREFIXES = ("h5-", "zip-")


def _as(job: Job, kind: str) -> Job:
    return dataclasses.replace(job, kind=kind)


def _kinds(job: Job) -> tuple[str, ...]:
    return _MODEL_KINDS if job.kind == "model" else _WEIGHTS_KINDS


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """(attack id, entry point) -> (hostile result, benign result), from one
    sandbox run.

    Benign twins run first (they set the baseline of imported modules); then
    the hostile files, the likeliest to crash the child last.
    """
    root = tmp_path_factory.mktemp("sandbox")
    sandbox = Sandbox(str(root))
    forge = Forge(sandbox, root)
    cases = _forge_cases(forge, sandbox.canary)
    pairs = {
        (attack, kind): (_as(job, kind), _as(twin, kind))
        for attack, (job, twin) in cases.items()
        for kind in _kinds(job)
    }
    return sandbox.run_with_twins(
        pairs, run_last=lambda job: any(word in job.path for word in ("bomb",))
    )


def _unexpected_modules(new_modules, allowed_extra) -> list[str]:
    stdlib = set(sys.stdlib_module_names) - _SUSPICIOUS_STDLIB
    found = []
    for module in new_modules:
        top = module.partition(".")[0]
        if module in allowed_extra:
            continue
        if top in _ALWAYS_ALLOWED_PACKAGES or top in stdlib or top.startswith("_"):
            continue
        found.append(module)
    return found


ATTACKS = [
    "bytecode-lambda",
    "gadget-os-system",
    "gadget-builtins-exec",
    "gadget-get-file",
    "gadget-enable-unsafe",
    "gadget-set-epsilon",
    "gadget-set-floatx",
    "gadget-import-gadget-function",
    "gadget-import-class",
    "path-vocabulary-path",
    "path-tfsm-filepath",
    "path-torch-module",
    "h5-external-link-keras",
    "h5-external-link-weights",
    "h5-soft-link-keras",
    "h5-soft-link-weights",
    "h5-external-storage-keras",
    "h5-external-storage-weights",
    "h5-shape-bomb-keras",
    "h5-shape-bomb-weights",
    "zip-slip",
    "zip-symlink-member",
    "zip-duplicate-member",
    "zip-deflate-bomb",
    "zip-lying-size",
    "zip-truncated",
    "json-deep-nesting",
    "json-duplicate-key",
    "json-nan",
    "json-huge-int",
    "json-numpy-dtype-bomb",
    "build-allocation-bomb",
]


def _entry_points(attack: str) -> tuple[str, ...]:
    weights_only = attack.endswith("-weights")
    return _WEIGHTS_KINDS if weights_only else _MODEL_KINDS


CASES = [(attack, kind) for attack in ATTACKS for kind in _entry_points(attack)]


def test_every_forged_case_is_listed(outcomes):
    assert sorted(outcomes) == sorted(CASES)


@pytest.mark.parametrize("attack,kind", CASES)
def test_benign_twin_loads(outcomes, attack, kind):
    _, twin = outcomes[attack, kind]
    assert twin.loaded, twin.describe()
    assert twin.breaches() == [], twin.describe()


@pytest.mark.parametrize("attack,kind", CASES)
def test_hostile_file_rejected_cleanly(outcomes, attack, kind):
    result, _ = outcomes[attack, kind]
    benign_modules = {m for _, twin in outcomes.values() for m in twin.new_modules}
    assert result.breaches() == [], result.describe()
    assert _unexpected_modules(result.new_modules, benign_modules) == [], (
        result.describe()
    )
    strict = kind in _STRICT or (
        kind == "open_weights" and attack.startswith(_WEIGHTS_LAYER_PREFIXES)
    )
    if strict:
        assert result.refused_cleanly, result.describe()
    else:
        assert result.loaded or result.refused_cleanly, result.describe()
