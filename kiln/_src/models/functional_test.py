import numpy as np
import pytest

import kiln as keras


def test_multi_input_multi_output_lists_and_dicts():
    a = keras.Input((3,), name="a")
    b = keras.Input((2,), name="b")
    shared = keras.layers.Dense(4, name="shared")
    ha = shared(keras.layers.Dense(2, name="pa")(a))
    hb = shared(b)
    model = keras.Model(
        [a, b],
        {
            "sum": keras.layers.Dense(1, name="s")(ha),
            "other": keras.layers.Dense(2, name="o")(hb),
        },
    )
    out = model([np.ones((5, 3)), np.ones((5, 2))])
    assert out["sum"].shape == (5, 1) and out["other"].shape == (5, 2)
    assert len(shared._inbound_nodes) == 2
    by_name = model({"a": np.ones((1, 3)), "b": np.ones((1, 2))})
    assert by_name["sum"].shape == (1, 1)


def test_layer_order_follows_keras_map_graph():
    # Keras orders by depth (deepest first), then by first visit from outputs.
    a = keras.Input((2,), name="a")
    yy = keras.layers.Dense(2, name="yy")(a)
    zz = keras.layers.Dense(2, name="zz")(a)
    by_dict = keras.Model(a, {"z_out": zz, "a_out": yy})
    assert [layer.name for layer in by_dict.layers] == ["a", "yy", "zz"]
    by_list = keras.Model(a, [zz, yy])
    assert [layer.name for layer in by_list.layers] == ["a", "zz", "yy"]


def test_model_used_as_a_layer():
    inner_in = keras.Input((3,))
    inner = keras.Model(inner_in, keras.layers.Dense(2)(inner_in), name="inner")
    x = keras.Input((3,))
    outer = keras.Model(x, keras.layers.Dense(1)(inner(x)))
    assert outer(np.ones((4, 3))).shape == (4, 1)
    assert len(inner._inbound_nodes) == 2  # node 0 is the model's own
    assert outer.layers[1] is inner
    assert len(outer.weights) == 4


def test_errors_for_bad_graphs_and_inputs():
    a = keras.Input((2,), name="in_a")
    b = keras.Input((2,), name="in_b")
    with pytest.raises(ValueError, match="Graph disconnected"):
        keras.Model(a, keras.layers.Dense(1)(b))
    model = keras.Model(a, keras.layers.Dense(1)(a))
    with pytest.raises(
        ValueError, match=r"expected shape=\(None, 2\), found shape=\(3, 5\)"
    ):
        model(np.ones((3, 5)))
    with pytest.raises(TypeError, match="KerasTensors"):
        keras.Model(np.ones((1, 2)), a)
    with pytest.raises(ValueError, match="unique"):
        keras.Model(a, keras.layers.Dense(1, name="in_a")(a))


def test_get_layer_by_name_and_index():
    a = keras.Input((2,), name="inp")
    model = keras.Model(a, keras.layers.Dense(1, name="out")(a))
    assert model.get_layer("out").name == "out"
    assert model.get_layer(index=0).name == "inp"
    with pytest.raises(ValueError, match="No such layer: nope"):
        model.get_layer("nope")
    with pytest.raises(ValueError, match="only has 2 layers"):
        model.get_layer(index=5)


def _lambda_graph_config():
    x = keras.Input((3,), name="x")
    y = keras.layers.Lambda(keras.activations.relu, name="lam")(x)
    return keras.Model(x, y, name="m").get_config()


def test_from_config_refuses_constant_only_calls_before_building(monkeypatch):
    # Defence in depth: Functional.from_config runs the graph check itself,
    # for configs that reach it without load_model's checks.
    from kiln._src.saving.errors import InvalidFileError

    config = _lambda_graph_config()
    lam = next(entry for entry in config["layers"] if entry["name"] == "lam")
    lam["inbound_nodes"] = [{"args": [[1.0, 2.0]], "kwargs": {}}]
    built = []
    monkeypatch.setattr(
        keras.layers.Lambda,
        "from_config",
        classmethod(lambda cls, c: built.append(c) or cls(keras.activations.relu)),
    )
    with pytest.raises(
        InvalidFileError, match="'lam' call \\(node\\) 0 reads no tensor"
    ):
        keras.Model.from_config(config)
    assert built == []  # refused before any layer was built


def test_from_config_refuses_calls_that_lead_to_no_output():
    from kiln._src.saving.errors import InvalidFileError

    config = _lambda_graph_config()
    lam = next(entry for entry in config["layers"] if entry["name"] == "lam")
    config["layers"].append(
        {**lam, "name": "extra", "config": dict(lam["config"], name="extra")}
    )
    with pytest.raises(
        InvalidFileError, match="'extra' call \\(node\\) 0 does not lead"
    ):
        keras.Model.from_config(config)


def test_from_config_replays_a_backward_listing_once_per_call():
    x = keras.Input((2,), name="x")
    h = x
    for index in range(50):
        h = keras.layers.Activation("relu", name=f"a{index}")(h)
    shared = keras.layers.Dense(2, name="shared")
    out = keras.layers.Add(name="add")([shared(h), shared(shared(h))])
    config = keras.Model(x, out, name="m").get_config()
    config["layers"].reverse()
    rebuilt = keras.Model.from_config(config)
    assert [layer.name for layer in rebuilt.layers] == [
        layer["name"] for layer in reversed(config["layers"])
    ]
    assert len(rebuilt.get_layer("shared")._inbound_nodes) == 3
