"""Hostile Functional graphs in `config.json`: each attack is forged from an
honest save of a model with a shared layer, must fail with `InvalidFileError`
naming the layer or field before anything is built (process state
unchanged), and has a benign twin that loads.
"""

from __future__ import annotations

import copy
import json
import zipfile

import numpy as np
import pytest
from security_zip_forge import MEMBERS, build_archive

import kiln
import kiln.saving
from kiln._src.saving.errors import InvalidFileError
from kiln._src.saving.safety import graph_checks


@pytest.fixture(scope="session")
def graph_members(tmp_path_factory) -> dict[str, bytes]:
    """x -> d1 -> shared -> shared -> add(d1, .) -> out: 'shared' is called
    twice (nodes 0 and 1)."""
    x = kiln.Input((3,), name="x")
    hidden = kiln.layers.Dense(4, name="d1")(x)
    shared = kiln.layers.Dense(4, name="shared")
    twice = shared(shared(hidden))
    added = kiln.layers.Add(name="add")([hidden, twice])
    model = kiln.Model(x, kiln.layers.Dense(2, name="out")(added), name="graph")
    path = str(tmp_path_factory.mktemp("graph") / "honest.keras")
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in MEMBERS}


def forge(members: dict[str, bytes], mutate) -> bytes:
    config = json.loads(members["config.json"])
    mutate(config["config"])
    data = dict(members, **{"config.json": json.dumps(config).encode()})
    return build_archive([(name, data[name]) for name in MEMBERS])


def entry(config: dict, name: str) -> dict:
    return next(layer for layer in config["layers"] if layer["name"] == name)


def history(config: dict, layer_name: str, node: int = 0, arg: int = 0) -> list:
    """The keras_history list of `layer_name`'s call `node`, argument `arg`."""
    args = entry(config, layer_name)["inbound_nodes"][node]["args"][0]
    tensor = args[arg] if isinstance(args, list) else args
    return tensor["config"]["keras_history"]


def set_history(layer_name, node, arg, position, value):
    def mutate(config):
        history(config, layer_name, node, arg)[position] = value

    return mutate


def set_key(key, value):
    def mutate(config):
        config[key] = value

    return mutate


def rename(old, new):
    def mutate(config):
        layer = entry(config, old)
        layer["name"] = layer["config"]["name"] = new

    return mutate


# id: (hostile mutation, honest twin mutation, expected message)
CASES = {
    "unknown-layer-reference": (
        set_history("d1", 0, 0, 0, "ghost"),
        set_history("d1", 0, 0, 0, "x"),
        "layer 'd1' call \\(node\\) 0 refers to layer 'ghost', which the config "
        "does not define",
    ),
    "cycle": (
        # d1 reads out's output, and out depends on d1.
        set_history("d1", 0, 0, 0, "out"),
        set_history("d1", 0, 0, 0, "x"),
        "cycle: layers \\['add', 'd1', 'out', 'shared'\\]",
    ),
    "self-loop": (
        set_history("shared", 0, 0, 0, "shared"),
        set_history("shared", 0, 0, 0, "d1"),
        "cycle",
    ),
    "node-index-out-of-range": (
        set_history("add", 0, 1, 1, 2),
        set_history("add", 0, 1, 1, 1),
        "refers to call \\(node\\) 2 of layer 'shared', which is called 2 time",
    ),
    "node-index-negative": (
        set_history("add", 0, 1, 1, -1),
        set_history("add", 0, 1, 1, 1),
        "'add' \\(Add\\) field .*keras_history.*got \\[\"shared\", -1, 0\\]",
    ),
    "node-index-boolean": (
        set_history("add", 0, 1, 1, True),
        set_history("add", 0, 1, 1, 1),
        "keras_history",
    ),
    "tensor-index-huge": (
        set_history("out", 0, 0, 2, 2**40),
        set_history("out", 0, 0, 2, 0),
        "output \\(tensor index\\) 1099511627776 of layer 'add'",
    ),
    "tensor-index-beyond-outputs": (
        # Within the cap, but Add has one output: caught while rebuilding,
        # still an InvalidFileError naming the model.
        set_history("out", 0, 0, 2, 1),
        set_history("out", 0, 0, 2, 0),
        "'graph' \\(Functional\\).*refers to output 1 of layer 'add'",
    ),
    "duplicate-layer-names": (
        rename("out", "d1"),
        rename("out", "out"),
        "layer name 'd1' appears twice",
    ),
    "input-layers-naming-nothing": (
        set_key("input_layers", ["ghost", 0, 0]),
        set_key("input_layers", ["x", 0, 0]),
        "'input_layers' entry \\[\"ghost\", 0, 0\\] refers to layer 'ghost'",
    ),
    "output-layers-node-out-of-range": (
        set_key("output_layers", ["out", 5, 0]),
        set_key("output_layers", ["out", 0, 0]),
        "'output_layers' entry .* call \\(node\\) 5 of layer 'out'",
    ),
    # Class 1: rebuilding never calls a layer on file-chosen constants, nor
    # anything that does not lead to the outputs.
    "constant-only-node": (
        lambda config: entry(config, "d1")["inbound_nodes"][0].update(
            args=[[[1.0, 2.0, 3.0]]]
        ),
        lambda config: None,
        "layer 'd1' call \\(node\\) 0 reads no tensor of the graph",
    ),
    "dangling-layer": (
        lambda config: config["layers"].append(
            dict(copy.deepcopy(entry(config, "d1")), name="dangling")
        ),
        lambda config: None,
        "layer 'dangling' call \\(node\\) 0 does not lead to any of the model's "
        "outputs",
    ),
    "unused-second-call": (
        lambda config: entry(config, "out")["inbound_nodes"].append(
            copy.deepcopy(entry(config, "out")["inbound_nodes"][0])
        ),
        lambda config: None,
        "layer 'out' call \\(node\\) 1 does not lead",
    ),
    "layer-without-calls": (
        lambda config: config["layers"].append(
            dict(copy.deepcopy(entry(config, "d1")), name="idle", inbound_nodes=[])
        ),
        lambda config: None,
        "layer 'idle' has no calls",
    ),
    "output-layers-not-a-reference": (
        set_key("output_layers", [["out", 0, 0], "out"]),
        set_key("output_layers", ["out", 0, 0]),
        "'output_layers' holds \"out\"",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_graph_attack_rejected(graph_members, write_file, expect_rejected, case):
    hostile, _, match = CASES[case]
    expect_rejected(write_file(forge(graph_members, hostile)), match)


@pytest.mark.parametrize("case", sorted(CASES))
def test_graph_attack_twin_loads(graph_members, write_file, expect_loads, case):
    _, honest, _ = CASES[case]
    expect_loads(write_file(forge(graph_members, honest)))


def test_layer_count_cap(graph_members, write_file, expect_rejected, monkeypatch):
    # The real cap (100,000 layers) needs a huge file; the same code path
    # runs with a small cap.
    monkeypatch.setattr(graph_checks, "MAX_LAYERS", 4)
    expect_rejected(
        write_file(forge(graph_members, lambda config: None)),
        "it has 5 layers, over the limit of 4",
    )


def test_node_count_cap(graph_members, write_file, expect_rejected, monkeypatch):
    monkeypatch.setattr(graph_checks, "MAX_NODES", 3)
    expect_rejected(
        write_file(forge(graph_members, lambda config: None)),
        "more than 3 nodes",
    )


def test_nested_functional_graph_checked(tmp_path, write_file, expect_rejected):
    """A bad reference inside a nested model's config is found too."""
    inner_in = kiln.Input((3,), name="inner_in")
    inner = kiln.Model(
        inner_in, kiln.layers.Dense(2, name="inner_dense")(inner_in), name="inner"
    )
    x = kiln.Input((3,), name="x")
    path = str(tmp_path / "nested.keras")
    kiln.Model(x, inner(x), name="outer").save(path)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in MEMBERS}

    def hostile(config):
        nested = entry(config, "inner")["config"]
        dense = entry(nested, "inner_dense")
        dense["inbound_nodes"][0]["args"][0]["config"]["keras_history"][0] = "ghost"

    expect_rejected(
        write_file(forge(members, hostile)), "Functional model 'inner'.*'ghost'"
    )
    loaded = kiln.saving.load_model(path)  # the honest file
    assert tuple(loaded(np.ones((1, 3), "float32")).shape) == (1, 2)


def test_graph_errors_are_invalid_file_errors():
    with pytest.raises(InvalidFileError, match="appears twice"):
        graph_checks.check_graph(
            {
                "layers": [{"name": "a"}, {"name": "a"}],
                "input_layers": [],
                "output_layers": [],
            }
        )
