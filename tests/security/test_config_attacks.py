"""Hostile field values in `config.json`: each attack is forged from an honest
save, must fail with `InvalidFileError` naming the layer and field before
anything is built, and has a benign twin (the honest value) that loads.

Also: every `config.json` real Keras 3 writes (`keras_configs.json`, made by
`make_keras_configs.py`) passes the config and graph checks.
"""

from __future__ import annotations

import base64
import json
import marshal
import os
import zipfile

import numpy as np
import pytest
from security_zip_forge import MEMBERS, build_archive

import kiln
import kiln.saving
import kiln.utils  # noqa: F401 - its exports are in the table a file sees
from kiln._src.saving.errors import (
    ConfigTypeError,
    InvalidFileError,
    UnknownObjectError,
)
from kiln._src.saving.safety import config_checks, graph_checks

HERE = os.path.dirname(os.path.abspath(__file__))


def _members(model, directory) -> dict[str, bytes]:
    path = str(directory / "honest.keras")
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in MEMBERS}


@kiln.saving.register_keras_serializable(package="KilnConfigAttacks")
def add_array(x1, x2):
    """A registered function: what a safe-mode file may name (an op may not)."""
    return kiln.ops.add(x1, x2)


@pytest.fixture(scope="session")
def lambda_members(tmp_path_factory) -> dict[str, bytes]:
    """A Functional model with a Lambda whose `arguments` hold an array."""
    x = kiln.Input((3,), name="x")
    hidden = kiln.layers.Dense(2, name="d1")(x)
    add = kiln.layers.Lambda(
        add_array, arguments={"x2": np.ones((2,), "float32")}, name="lam"
    )
    return _members(kiln.Model(x, add(hidden)), tmp_path_factory.mktemp("lam"))


@pytest.fixture(scope="session")
def conv_members(tmp_path_factory) -> dict[str, bytes]:
    model = kiln.Sequential(
        [
            kiln.Input((4, 4, 1)),
            kiln.layers.Conv2D(2, 3, name="conv"),
            kiln.layers.Flatten(name="flat"),
            kiln.layers.Dense(2, name="dense"),
        ]
    )
    return _members(model, tmp_path_factory.mktemp("conv"))


def forge(members: dict[str, bytes], mutate) -> bytes:
    """The honest archive with `mutate(config)` applied to config.json."""
    config = json.loads(members["config.json"])
    mutate(config)
    data = dict(members, **{"config.json": json.dumps(config).encode()})
    return build_archive([(name, data[name]) for name in MEMBERS])


def layer(config: dict, name: str) -> dict:
    """The layer called `name`, or the one of class `name` (auto-generated
    names such as "input_layer_1" depend on what ran before)."""
    for entry in config["config"]["layers"]:
        if name in (entry["config"]["name"], entry["class_name"]):
            return entry
    raise KeyError(name)


def setter(layer_name: str, *keys: str, value):
    """A mutation that sets layer `layer_name`'s config[keys...] = value."""

    def mutate(config: dict) -> None:
        target = layer(config, layer_name)["config"]
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value

    return mutate


def loads(path: str, shape: tuple[int, ...]) -> None:
    model = kiln.saving.load_model(path)
    output = model(np.ones((1, *shape), "float32"))
    assert tuple(output.shape) == (1, 2)


# -- field values (the honest Sequential Dense model of conftest) --

# id: (layer, keys, hostile value, honest value, expected message)
DENSE_CASES = {
    "units-string": ("dense", ("units",), "2", 2, "'dense' \\(Dense\\) field 'units'"),
    "units-negative": ("dense", ("units",), -2, 2, "field 'units'.*got -2"),
    "units-boolean": ("dense", ("units",), True, 2, "not a boolean.*got true"),
    "units-float": ("dense", ("units",), 2.0, 2, "field 'units'.*got 2.0"),
    "units-huge": ("dense", ("units",), 2**40, 2, "field 'units'.*at most"),
    "units-zero": ("dense", ("units",), 0, 2, "field 'units'"),
    "batch-shape-huge-dim": (
        "InputLayer",
        ("batch_shape",),
        [None, 2**40],
        [None, 3],
        "'input_layer(_\\d+)?' \\(InputLayer\\) field 'batch_shape'",
    ),
    "batch-shape-negative-dim": (
        "InputLayer",
        ("batch_shape",),
        [None, -3],
        [None, 3],
        "field 'batch_shape'",
    ),
    "batch-shape-rank-17": (
        "InputLayer",
        ("batch_shape",),
        [None] + [1] * 16,
        [None, 3],
        "field 'batch_shape'.*at most 16",
    ),
    "name-slash": ("dense", ("name",), "den/se", "dense", "field 'name'.*'/'"),
    "name-nul": ("dense", ("name",), "den\x00se", "dense", "field 'name'.*NUL"),
    "name-too-long": ("dense", ("name",), "d" * 257, "dense", "field 'name'"),
    "use-bias-int": ("dense", ("use_bias",), 1, True, "field 'use_bias'"),
    "dtype-numpy-string": (
        "dense",
        ("dtype",),
        "U500000000",
        "float32",
        "'dense' \\(Dense\\) field 'dtype'",
    ),
}


def _dense_case(honest_members, case: str, hostile: bool) -> bytes:
    layer_name, keys, bad, good, _ = DENSE_CASES[case]
    mutate = setter(layer_name, *keys, value=bad if hostile else good)
    return forge(honest_members, mutate)


@pytest.mark.parametrize("case", sorted(DENSE_CASES))
def test_field_attack_rejected(honest_members, write_file, expect_rejected, case):
    expect_rejected(
        write_file(_dense_case(honest_members, case, True)), DENSE_CASES[case][4]
    )


@pytest.mark.parametrize("case", sorted(DENSE_CASES))
def test_field_attack_twin_loads(honest_members, write_file, expect_loads, case):
    expect_loads(write_file(_dense_case(honest_members, case, False)))


def test_dtype_policy_name_checked(honest_members, write_file, expect_rejected):
    data = forge(
        honest_members, setter("dense", "dtype", "config", "name", value="U500000000")
    )
    expect_rejected(write_file(data), "\\(DTypePolicy\\) field 'name'.*dtype name")


def test_build_config_huge_input_shape(honest_members, write_file, expect_rejected):
    def mutate(config):
        layer(config, "dense")["build_config"]["input_shape"] = [None, 2**40]

    expect_rejected(
        write_file(forge(honest_members, mutate)),
        "'dense' \\(Dense\\) field 'build_config.input_shape'",
    )


@pytest.mark.parametrize(
    "bad", [[3, 0], [3, True], "3", [3] * 17, [[3, 3]], 2**31], ids=str
)
def test_bad_kernel_size_rejected(conv_members, write_file, expect_rejected, bad):
    data = forge(conv_members, setter("conv", "kernel_size", value=bad))
    expect_rejected(write_file(data), "'conv' \\(Conv2D\\) field 'kernel_size'")


@pytest.mark.parametrize("good", [[3, 3], 3], ids=str)
def test_honest_kernel_size_loads(conv_members, write_file, good):
    loads(
        write_file(forge(conv_members, setter("conv", "kernel_size", value=good))),
        (4, 4, 1),
    )


# -- markers (the Functional Lambda model) --


def _array(value, dtype):
    return {"class_name": "__numpy__", "config": {"value": value, "dtype": dtype}}


ARRAY_CASES = {
    # Probe c50: numpy allocates 14.9 GiB for this dtype string.
    "unicode-dtype-bomb": (
        _array([0, 1, 2, 3, 4, 5, 6, 7], "U500000000"),
        "field 'arguments.x2'.*dtype",
    ),
    "object-dtype": (_array([1.0, 1.0], "object"), "dtype"),
    "ragged": (_array([[1.0], [1.0, 2.0]], "float32"), "regular nested list"),
    "strings-inside": (_array(["a", "b"], "float32"), "numbers or booleans"),
    "too-many-elements": (
        _array([[0] * 1001] * 1000, "float32"),
        "at most 1000000 elements",
    ),
    "unknown-marker": (
        {"class_name": "__typespec__", "config": {"value": [1.0, 1.0]}},
        "'__typespec__' is not one kiln reads",
    ),
}


@pytest.mark.parametrize("case", sorted(ARRAY_CASES))
def test_array_marker_attack_rejected(
    lambda_members, write_file, expect_rejected, case
):
    value, match = ARRAY_CASES[case]
    data = forge(lambda_members, setter("lam", "arguments", "x2", value=value))
    expect_rejected(write_file(data), "layer 'lam' \\(Lambda\\).*" + match)


def test_array_marker_twin_loads(lambda_members, write_file):
    honest = _array([1.0, 1.0], "float32")
    data = forge(lambda_members, setter("lam", "arguments", "x2", value=honest))
    loads(write_file(data), (3,))


def test_lambda_bytecode_rejected(lambda_members, write_file, expect_rejected):
    # CVE-2024-3660 shape: marshal'd bytecode of a (here harmless) lambda.
    code = base64.b64encode(marshal.dumps((lambda x: x).__code__)).decode()
    function = {
        "class_name": "__lambda__",
        "config": {"code": code, "defaults": None, "closure": None},
    }
    data = forge(lambda_members, setter("lam", "function", value=function))
    expect_rejected(
        write_file(data),
        "layer 'lam' \\(Lambda\\) field 'function'.*bytecode.*safe_mode=False",
    )


def _named(name: str, module: str = "builtins") -> dict:
    return {
        "module": module,
        "class_name": "function",
        "config": name,
        "registered_name": "function",
    }


def test_lambda_named_function_loads(lambda_members, write_file):
    function = _named("KilnConfigAttacks>add_array")
    loads(
        write_file(forge(lambda_members, setter("lam", "function", value=function))),
        (3,),
    )


def test_lambda_over_an_op_needs_unsafe_mode(lambda_members, write_file):
    # An op is outside the safe-mode allowlist; the caller may allow it.
    path = write_file(
        forge(lambda_members, setter("lam", "function", value=_named("add")))
    )
    with pytest.raises(UnknownObjectError, match="'add' is an op.*safe_mode=False"):
        kiln.saving.load_model(path)
    model = kiln.saving.load_model(path, safe_mode=False)
    assert tuple(model(np.ones((1, 3), "float32")).shape) == (1, 2)
    model = kiln.saving.load_model(path, custom_objects={"add": kiln.ops.add})
    assert tuple(model(np.ones((1, 3), "float32")).shape) == (1, 2)


# A Lambda's `function` naming kiln's own non-modeling functions, through a
# function envelope (resolved by name: unknown, or a family utility refused)
# and through a class envelope (`module` + `class_name`, which reaches kiln's
# whole export table: refused as not a modeling object).
NON_MODELING = {
    "function-save_model": (_named("save_model", "keras.saving"), "'save_model'"),
    "function-load_model": (_named("load_model", "keras.saving"), "'load_model'"),
    "function-get": (_named("get"), "keras.activations.get.*not a modeling"),
    "function-deserialize": (
        _named("deserialize", "keras.losses"),
        "keras.activations.deserialize.*not a modeling",
    ),
    "function-square-op": (_named("square"), "'square' is an op"),
    "class-save_model": (
        {"module": "keras.saving", "class_name": "save_model", "config": {}},
        "keras.saving.save_model.*not a modeling object",
    ),
    "class-load_model": (
        {"module": "keras.models", "class_name": "load_model", "config": {}},
        "keras.saving.load_model.*not a modeling object",
    ),
    "class-set_random_seed": (
        {"module": "keras.utils", "class_name": "set_random_seed", "config": {}},
        "keras.utils.set_random_seed.*not a modeling object",
    ),
    "class-concatenate": (
        {"module": "keras.layers", "class_name": "concatenate", "config": {}},
        "keras.layers.concatenate.*not a modeling object",
    ),
    "class-losses-get": (
        {"module": "keras.losses", "class_name": "get", "config": {}},
        "keras.losses.get.*not a modeling object",
    ),
}


@pytest.mark.parametrize("case", sorted(NON_MODELING))
def test_lambda_naming_a_non_modeling_function_rejected(
    lambda_members, write_file, expect_rejected, case
):
    function, shown = NON_MODELING[case]
    path = write_file(forge(lambda_members, setter("lam", "function", value=function)))
    expect_rejected(path, shown)


@pytest.mark.filterwarnings("ignore:Skipping variable loading")
def test_compile_config_naming_a_utility_rejected(
    honest_members, write_file, expect_rejected
):
    def compiled(loss):
        def mutate(config):
            config["compile_config"] = {
                "optimizer": "sgd",
                "loss": loss,
                "metrics": None,
                "loss_weights": None,
                "weighted_metrics": None,
                "run_eagerly": False,
                "steps_per_execution": 1,
                "jit_compile": False,
            }

        return mutate

    for loss, shown in [
        (_named("get"), "keras.activations.get"),
        (
            {"module": "keras.saving", "class_name": "save_model", "config": {}},
            "keras.saving.save_model",
        ),
        (
            {"module": "keras.metrics", "class_name": "deserialize", "config": {}},
            "keras.metrics.deserialize",
        ),
    ]:
        path = write_file(forge(honest_members, compiled(loss)))
        expect_rejected(path, f"{shown}.*not a modeling object")
    # The twin: a loss function by envelope.
    model = kiln.saving.load_model(
        write_file(forge(honest_members, compiled(_named("mean_squared_error"))))
    )
    assert model.loss is kiln.losses.mean_squared_error


def _set_epsilon_payload(function_name: str):
    """Probe c07: a Lambda calling an exported side-effecting function, fed a
    non-tensor through the node's kwargs."""

    def mutate(config):
        entry = layer(config, "lam")
        entry["config"]["function"] = {
            "module": "keras.config",
            "class_name": "function",
            "config": function_name,
        }
        entry["config"]["arguments"] = {}
        entry["inbound_nodes"] = [{"args": [], "kwargs": {"inputs": 0.5}}]

    return mutate


def test_set_epsilon_payload_rejected(lambda_members, write_file, expect_rejected):
    before = kiln.config.epsilon()
    path = write_file(forge(lambda_members, _set_epsilon_payload("set_epsilon")))
    # The constant-only call is refused by the graph check, before any name
    # is resolved or any layer built.
    expect_rejected(path, "layer 'lam' call \\(node\\) 0 reads no tensor")
    assert kiln.config.epsilon() == before


def test_set_epsilon_named_on_a_tensor_node_is_unknown(
    lambda_members, write_file, expect_rejected
):
    # With an honest node, the name itself is refused: kiln.config is not in
    # the table a file can reach.
    function = _named("set_epsilon", "keras.config")
    path = write_file(forge(lambda_members, setter("lam", "function", value=function)))
    expect_rejected(
        path,
        "\\['set_epsilon'\\] \\(functions named by \\[\"'lam' \\(Lambda\\)\"\\]\\)",
    )
    with pytest.raises(TypeError, match="set_epsilon"):  # still a TypeError
        kiln.saving.load_model(path)


def test_lambda_twin_with_honest_node_loads(lambda_members, write_file):
    # The honest node: the tensor from d1, as kiln wrote it.
    loads(write_file(forge(lambda_members, lambda config: None)), (3,))


# -- errors raised while building --


def test_constructor_error_names_the_layer(honest_members, write_file, expect_rejected):
    data = forge(honest_members, setter("dense", "activation", value="no_such_fn"))
    expect_rejected(write_file(data), "no_such_fn")


def test_constructor_error_twin_loads(honest_members, write_file, expect_loads):
    expect_loads(
        write_file(forge(honest_members, setter("dense", "activation", value="relu")))
    )


def test_constructor_type_error_is_invalid_file_and_type_error(
    honest_members, write_file, tmp_path
):
    # A layer whose config is not an object: the TypeError raised while
    # rebuilding surfaces as an InvalidFileError naming the model being built,
    # still catchable as TypeError (as in Keras).
    def mutate(config):
        layer(config, "dense")["config"] = "not an object"

    with pytest.raises(
        ConfigTypeError, match="'sequential(_\\d+)?' \\(Sequential\\)"
    ) as error:
        kiln.saving.load_model(write_file(forge(honest_members, mutate)))
    assert isinstance(error.value, TypeError)
    assert isinstance(error.value, InvalidFileError)


def test_unknown_argument_names_the_layer(honest_members, write_file, expect_rejected):
    data = forge(honest_members, setter("dense", "no_such_argument", value=1))
    expect_rejected(write_file(data), "layer 'dense' \\(Dense\\).*no_such_argument")


def test_unknown_class_is_unknown_object_error(honest_members, write_file):
    def mutate(config):
        entry = layer(config, "dense")
        entry["class_name"] = "NoSuchLayer"
        entry["module"] = "my_pkg.layers"

    with pytest.raises(UnknownObjectError, match="NoSuchLayer") as error:
        kiln.saving.load_model(write_file(forge(honest_members, mutate)))
    assert isinstance(error.value, TypeError)
    assert isinstance(error.value, InvalidFileError)


# -- no false positives on what Keras writes --


def _keras_configs() -> dict:
    with open(os.path.join(HERE, "keras_configs.json")) as file:
        return json.load(file)["configs"]


def test_every_keras_config_passes_the_checks():
    configs = _keras_configs()
    assert len(configs) > 100
    for name, config in configs.items():
        config_checks.check_config(config, name)
        graph_checks.check_graph(config, name)


def test_golden_keras_files_pass_the_checks():
    folder = os.path.join(HERE, "..", "golden", "files")
    checked = 0
    for name in sorted(os.listdir(folder)):
        if name.endswith(".keras"):
            with zipfile.ZipFile(os.path.join(folder, name)) as archive:
                config = json.loads(archive.read("config.json"))
            config_checks.check_config(config, name)
            graph_checks.check_graph(config, name)
            checked += 1
    assert checked >= 4


# -- the top level must be a model (class 6: never a dict or a function) --

TOP_LEVELS = {
    "no-envelope": {"layers": []},
    "function": {"class_name": "function", "config": "relu"},
    "function-as-class": {
        "module": "keras.activations",
        "class_name": "relu",
        "config": {},
    },
    "no-config": {"class_name": "Sequential"},
    "marker": {"class_name": "__numpy__", "config": {"value": [1], "dtype": "int32"}},
    "a-layer": {
        "module": "keras.layers",
        "class_name": "Dense",
        "config": {"units": 2, "name": "d"},
        "registered_name": None,
    },
}


@pytest.mark.parametrize("case", sorted(TOP_LEVELS))
def test_top_level_that_is_not_a_model_rejected(
    honest_members, write_file, expect_rejected, case
):
    data = dict(
        honest_members, **{"config.json": json.dumps(TOP_LEVELS[case]).encode()}
    )
    path = write_file(build_archive([(name, data[name]) for name in MEMBERS]))
    expect_rejected(path, "model")
    with pytest.raises(InvalidFileError):
        kiln.models.model_from_json(json.dumps(TOP_LEVELS[case]))
