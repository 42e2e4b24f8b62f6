import json

import numpy as np
import pytest

import kiln
from kiln._src.saving.errors import InvalidFileError
from kiln._src.saving.safety import graph_checks
from kiln._src.saving.safety.graph_checks import check_graph, replay_order
from kiln._src.saving.saving_lib import serialize_model_config


def tensor(name, node=0, index=0):
    return {
        "class_name": "__keras_tensor__",
        "config": {
            "shape": [None, 2],
            "dtype": "float32",
            "keras_history": [name, node, index],
        },
    }


def call(*inputs):
    return {"args": [list(inputs) if len(inputs) > 1 else inputs[0]], "kwargs": {}}


def entry(name, *nodes, class_name="Dense", config=None):
    return {
        "class_name": class_name,
        "config": config or {"name": name},
        "name": name,
        "inbound_nodes": list(nodes),
    }


def graph(layers, inputs=("x", 0, 0), outputs=("y", 0, 0)):
    return {
        "name": "m",
        "layers": layers,
        "input_layers": list(inputs),
        "output_layers": list(outputs),
    }


def chain():
    return graph(
        [
            entry("x", class_name="InputLayer"),
            entry("s", call(tensor("x"))),
            entry("s2", call(tensor("s"))),
            entry("y", call(tensor("s", 0), tensor("s2"))),
        ]
    )


def test_honest_graph_passes():
    check_graph(chain())


def test_shared_layer_calls_in_order():
    config = chain()
    # 's' called again on its own first output (node 1 reads node 0).
    config["layers"][1]["inbound_nodes"].append(call(tensor("s", 0)))
    config["output_layers"] = [["y", 0, 0], ["s", 1, 0]]
    check_graph(config)


def test_shared_layer_call_reading_its_later_call_is_a_cycle():
    config = chain()
    config["layers"][1]["inbound_nodes"] = [call(tensor("s", 1)), call(tensor("x"))]
    with pytest.raises(InvalidFileError, match="cycle: layers \\['s', 's2', 'y'\\]"):
        check_graph(config)


def test_nested_functional_numbering():
    # Keras numbers a nested Functional's calls from 1 in output_layers, from
    # 0 inside nodes.
    inner = graph([entry("a", class_name="InputLayer")], ("a", 0, 0), ("a", 0, 0))
    config = graph(
        [
            entry("x", class_name="InputLayer"),
            entry("inner", call(tensor("x")), call(tensor("inner", 0)), config=inner),
        ],
        outputs=[["inner", 2, 0], ["inner", 1, 0]],
    )
    check_graph(config)
    config["output_layers"] = [["inner", 3, 0]]
    with pytest.raises(InvalidFileError, match="call \\(node\\) 3 of layer 'inner'"):
        check_graph(config)
    config["output_layers"] = [["inner", 0, 0]]
    config["layers"][1]["inbound_nodes"][1] = call(tensor("inner", 2))
    with pytest.raises(InvalidFileError, match="call \\(node\\) 2 of layer 'inner'"):
        check_graph(config)


@pytest.mark.parametrize(
    "nested_model, numbered_from_1, calls, in_file",
    [
        pytest.param(True, True, [0, 1, 2], [1, 2, 3], id="model_in_structure"),
        pytest.param(True, False, [0, 1, 2], [0, 1, 2], id="model_in_nodes"),
        pytest.param(False, True, [0, 1, 2], [0, 1, 2], id="layer_in_structure"),
        pytest.param(False, False, [0, 1, 2], [0, 1, 2], id="layer_in_nodes"),
    ],
)
def test_node_numbering_rule(nested_model, numbered_from_1, calls, in_file):
    # One rule for the writer (file_node_index), the check and the rebuild
    # (call_index), its inverse.
    rule = (nested_model, numbered_from_1)
    assert [graph_checks.file_node_index(c, *rule) for c in calls] == in_file
    assert [graph_checks.call_index(n, *rule) for n in in_file] == calls


def test_node_numbering_accepts_0_for_a_nested_models_first_call():
    assert graph_checks.call_index(0, True, True) == 0


def test_nested_functional_written_and_read_with_the_rule():
    inner_input = kiln.Input((2,))
    inner = kiln.Model(inner_input, kiln.layers.Dense(2)(inner_input), name="inner")
    x = kiln.Input((2,))
    y = inner(inner(x))
    config = kiln.Model(x, [y, inner(x)]).get_config()
    # output_layers number the inner model's calls from 1, nodes from 0.
    assert [ref[:2] for ref in config["output_layers"]] == [["inner", 2], ["inner", 3]]
    order = replay_order(config, "test")
    assert [call for call in order if call[0] == "inner"] == [
        ("inner", 0),
        ("inner", 1),
        ("inner", 2),
    ]
    rebuilt = kiln.Model.from_config(config)
    assert len(rebuilt.outputs) == 2


def test_shared_sequential_is_numbered_from_0(tmp_path):
    # Keras numbers a nested Sequential's calls from 0 everywhere (it is not a
    # Functional); its second call in output_layers is ["seq", 1, 0]. The
    # check used to read it as the first call and refuse the file.
    seq = kiln.Sequential([kiln.Input((2,)), kiln.layers.Dense(2)], name="seq")
    x = kiln.Input((2,))
    model = kiln.Model(x, seq(seq(x)))
    config = model.get_config()
    assert config["output_layers"] == ["seq", 1, 0]
    assert replay_order(config, "test")[-1] == ("seq", 1)
    path = str(tmp_path / "shared_sequential.keras")
    model.save(path)
    data = np.array([[0.5, -1.0]], "float32")
    loaded = kiln.saving.load_model(path)
    np.testing.assert_allclose(loaded(data), model(data), rtol=1e-6)


def test_nested_config_is_checked():
    inner = graph([entry("a", class_name="InputLayer")], ("a", 0, 0), ("ghost", 0, 0))
    outer = {
        "class_name": "Functional",
        "config": graph([entry("x", config=inner)], ("x", 0, 0), ("x", 0, 0)),
    }
    with pytest.raises(InvalidFileError, match="'ghost'"):
        check_graph(outer)


def test_legacy_list_nodes():
    config = chain()
    config["layers"][2]["inbound_nodes"] = [[["s", 0, 0, {}]]]
    check_graph(config)
    config["layers"][2]["inbound_nodes"] = [[["s", 4, 0, {}]]]
    with pytest.raises(InvalidFileError, match="call \\(node\\) 4 of layer 's'"):
        check_graph(config)


@pytest.mark.parametrize(
    "structure",
    [["x", 0, 0], [["x", 0, 0]], {"a": ["x", 0, 0]}, {"a": [["x", 0, 0]]}],
    ids=str,
)
def test_input_structures(structure):
    config = chain()
    config["input_layers"] = structure
    check_graph(config)


@pytest.mark.parametrize(
    "layers,match",
    [
        ([entry("x"), entry("x")], "'x' appears twice"),
        ([entry("x"), {"config": {}}], "layers\\[1\\] has no name"),
        ([entry("x"), 3], "layers\\[1\\] is 3"),
        ([entry("x", "node")], 'call \\(node\\) 0 is "node"'),
        ([{"name": "x", "inbound_nodes": {}}], "inbound_nodes \\{\\}"),
    ],
    ids=["duplicate", "no-name", "not-object", "bad-node", "bad-nodes"],
)
def test_malformed_layers(layers, match):
    with pytest.raises(InvalidFileError, match=match):
        check_graph(graph(layers, outputs=("x", 0, 0)))


def test_long_chain_needs_no_recursion():
    layers = [entry("l0", class_name="InputLayer")]
    layers += [entry(f"l{i}", call(tensor(f"l{i - 1}"))) for i in range(1, 20_000)]
    check_graph(graph(layers, ("l0", 0, 0), ("l19999", 0, 0)))


def test_kiln_functional_configs_pass():
    inner_in = kiln.Input((3,))
    inner = kiln.Model(inner_in, kiln.layers.Dense(3)(inner_in), name="inner")
    x = kiln.Input((3,))
    shared = kiln.layers.Dense(3, name="shared")
    h = inner(inner(shared(shared(x))))
    model = kiln.Model(x, [h, kiln.layers.Add()([h, shared(x)])])
    check_graph(json.loads(serialize_model_config(model)))


def test_constant_only_call_is_refused():
    config = chain()
    config["layers"][2]["inbound_nodes"] = [{"args": [[1.0, 2.0]], "kwargs": {}}]
    with pytest.raises(
        InvalidFileError, match="'s2' call \\(node\\) 0 reads no tensor"
    ):
        check_graph(config)
    config["layers"][2]["inbound_nodes"] = [{"args": [], "kwargs": {"inputs": 0.5}}]
    with pytest.raises(InvalidFileError, match="reads no tensor"):
        check_graph(config)
    config["layers"][2]["inbound_nodes"] = [[]]  # a legacy node with no entries
    with pytest.raises(InvalidFileError, match="reads no tensor"):
        check_graph(config)
    # A call on a tensor and constants is an ordinary call.
    config["layers"][2]["inbound_nodes"] = [
        {"args": [tensor("s")], "kwargs": {"training": False, "scale": 2.0}}
    ]
    check_graph(config)


def test_call_off_the_path_to_the_outputs_is_refused():
    config = chain()
    config["layers"].append(entry("dangling", call(tensor("x"))))
    with pytest.raises(InvalidFileError, match="'dangling' call \\(node\\) 0 does not"):
        check_graph(config)
    # A second, unused call of a used layer is refused the same way.
    config = chain()
    config["layers"][1]["inbound_nodes"].append(call(tensor("y")))
    with pytest.raises(InvalidFileError, match="'s' call \\(node\\) 1 does not lead"):
        check_graph(config)
    # The twin: the same layer made an output.
    config["output_layers"] = [["y", 0, 0], ["s", 1, 0]]
    check_graph(config)


def test_layer_without_calls_must_be_an_input():
    config = chain()
    config["layers"].append(entry("idle"))
    with pytest.raises(InvalidFileError, match="'idle' has no calls"):
        check_graph(config)
    # An unused input is fine.
    config["layers"][-1] = entry("idle", class_name="InputLayer")
    config["input_layers"] = [["x", 0, 0], ["idle", 0, 0]]
    check_graph(config)


def test_replay_order_is_topological_whatever_the_listing():
    config = chain()
    config["layers"].reverse()
    assert replay_order(config, "test") == [("s", 0), ("s2", 0), ("y", 0)]
    config = chain()
    config["layers"][1]["inbound_nodes"].append(call(tensor("s", 0)))
    config["output_layers"] = [["y", 0, 0], ["s", 1, 0]]
    order = replay_order(config, "test")
    assert order.index(("s", 0)) < order.index(("s", 1))
    assert sorted(order) == [("s", 0), ("s", 1), ("s2", 0), ("y", 0)]


def test_backward_listed_dangling_layers_are_refused_quickly():
    # 20,000 layers listed backwards, none leading to the output: refused in
    # one linear pass (the old replay swept the list once per layer).
    layers = [entry(f"l{i}", call(tensor(f"l{i - 1}"))) for i in range(20_000, 0, -1)]
    layers.append(entry("l0", class_name="InputLayer"))
    config = graph(layers, ("l0", 0, 0), ("l0", 0, 0))
    with pytest.raises(InvalidFileError, match="does not lead"):
        check_graph(config)
    # The twin, wired to the output, passes, and replays front to back.
    config["output_layers"] = ["l20000", 0, 0]
    check_graph(config)
    assert replay_order(config, "test")[:2] == [("l1", 0), ("l2", 0)]


def test_split_sections_bounded():
    def split_graph(args, kwargs):
        node = {"args": [tensor("x"), *args], "kwargs": kwargs}
        layer = entry("sp", node, class_name="Split")
        layer["module"] = "keras.src.ops.numpy"
        return graph([entry("x", class_name="InputLayer"), layer], outputs=("sp", 0, 0))

    bound = graph_checks.MAX_SPLIT_SECTIONS
    check_graph(split_graph([bound], {"axis": 1}))
    check_graph(split_graph([[1, 5, 9]], {}))
    for args, kwargs in [([bound + 1], {}), ([], {"indices_or_sections": 10**9})]:
        with pytest.raises(InvalidFileError, match="sections; at most"):
            check_graph(split_graph(args, kwargs))
