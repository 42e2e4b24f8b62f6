"""`model_from_json` on hostile text: the same bounded parse as a file."""

import pytest

import kiln


@pytest.mark.parametrize(
    "text, match",
    [
        ('{"class_name": "Sequential", "class_name": "Model", "config": {}}', "twice"),
        ("[" * 5000 + "]" * 5000, "deep|depth|nest"),
        ('{"class_name": "Sequential", "config": {"x": NaN}}', "NaN"),
    ],
    ids=["duplicate-key", "deep-nesting", "nan"],
)
def test_model_from_json_parses_with_the_bounded_parser(text, match):
    from kiln._src.saving.errors import InvalidFileError

    with pytest.raises(InvalidFileError, match=f"(?i){match}"):
        kiln.models.model_from_json(text)


def _lambda_json(function=None, arguments=None, node_kwargs=None) -> str:
    import json

    inputs = kiln.Input((3,))
    hidden = kiln.layers.Dense(2, name="d1")(inputs)
    outputs = kiln.layers.Lambda(
        kiln.activations.relu, arguments={"max_value": 6.0}, name="lam"
    )(hidden)
    config = json.loads(kiln.Model(inputs, outputs).to_json())
    lam = next(layer for layer in config["config"]["layers"] if layer["name"] == "lam")
    if function is not None:
        lam["config"]["function"] = function
        lam["config"]["arguments"] = arguments or {}
    if node_kwargs is not None:
        lam["inbound_nodes"] = [{"args": [], "kwargs": node_kwargs}]
    return json.dumps(config)


_SEQUENTIAL = '{"module": "keras", "class_name": "Sequential", "config": %s}'
_HOSTILE = {
    "not-an-envelope": '{"a": 1}',
    "no-config": '{"class_name": "Sequential"}',
    "config-not-an-object": '{"class_name": "Sequential", "config": []}',
    "function-at-top": '{"class_name": "function", "config": "relu"}',
    "marker-at-top": '{"class_name": "__numpy__", "config": {"value": 1}}',
    "bare-layer": '{"module": "keras.layers", "class_name": "Dense", '
    '"config": {"units": 2}}',
    "optimizer": '{"module": "keras.optimizers", "class_name": "Adam", "config": {}}',
    "unknown-class": '{"class_name": "Nope", "config": {}}',
    "layers-a-string": _SEQUENTIAL % '{"layers": "abc"}',
    "layer-a-number": _SEQUENTIAL % '{"layers": [3]}',
    "layer-without-class": _SEQUENTIAL % '{"layers": [{"config": {}}]}',
    "functional-no-inputs": '{"module": "keras", "class_name": "Functional", '
    '"config": {"layers": [], "input_layers": [], "output_layers": []}}',
    "lone-surrogate": '{"class_name": "Sequential\ud800", "config": {}}',
    "gadget-set-epsilon": _lambda_json(
        {"module": "keras.config", "class_name": "function", "config": "set_epsilon"},
        node_kwargs={"inputs": 0.5},
    ),
    "gadget-save-model": _lambda_json(
        {"module": None, "class_name": "function", "config": "keras.saving.save_model"},
        arguments={"filepath": "PWNED.keras"},
    ),
    "gadget-ops": _lambda_json(
        {"module": "keras.ops", "class_name": "function", "config": "add"},
        node_kwargs={"x1": 1.0, "x2": 2.0},
    ),
}


@pytest.mark.parametrize("text", _HOSTILE.values(), ids=_HOSTILE.keys())
def test_hostile_json_raises_only_invalid_file_error(text, tmp_path, monkeypatch):
    from kiln._src.saving.errors import InvalidFileError

    monkeypatch.chdir(tmp_path)
    epsilon, floatx = kiln.config.epsilon(), kiln.config.floatx()
    try:
        with pytest.raises(InvalidFileError, match="model_from_json|unknown|model"):
            kiln.models.model_from_json(text)
        assert (kiln.config.epsilon(), kiln.config.floatx()) == (epsilon, floatx)
        assert list(tmp_path.iterdir()) == []
    finally:
        kiln.config.set_epsilon(epsilon)
        kiln.config.set_floatx(floatx)


def test_the_benign_twins_rebuild_the_model():
    import numpy as np

    model = kiln.models.model_from_json(_lambda_json())
    assert isinstance(model, kiln.Model)
    assert float(np.asarray(model(np.full((1, 3), 1e3, "float32"))).max()) <= 6.0
    sequential = kiln.Sequential([kiln.Input((3,)), kiln.layers.Dense(2)])
    rebuilt = kiln.models.model_from_json(sequential.to_json())
    assert [type(layer) for layer in rebuilt.layers] == [kiln.layers.Dense]


def test_custom_objects_still_resolve():
    class Doubler(kiln.layers.Layer):
        def call(self, x):
            return x * 2

    model = kiln.Sequential([kiln.Input((3,)), Doubler(name="doubler")])
    text = model.to_json()
    with pytest.raises(kiln.saving.InvalidFileError, match="Doubler"):
        kiln.models.model_from_json(text)
    rebuilt = kiln.models.model_from_json(text, custom_objects={"Doubler": Doubler})
    assert isinstance(rebuilt.layers[0], Doubler)
    with pytest.raises(TypeError, match="custom_objects"):
        kiln.models.model_from_json(text, custom_objects=[Doubler])


def test_shared_object_ids_are_ignored_as_in_keras():
    # Keras's model_from_json rebuilds outside an object-sharing scope, so
    # two envelopes with one shared_object_id are two objects.
    import json

    model = kiln.Sequential([kiln.Input((3,)), kiln.layers.Dense(2)])
    config = json.loads(model.to_json())
    dense = config["config"]["layers"][1]["config"]
    dense["kernel_initializer"]["shared_object_id"] = 7
    dense["bias_initializer"] = dict(dense["kernel_initializer"])
    rebuilt = kiln.models.model_from_json(json.dumps(config))
    layer = rebuilt.layers[0]
    assert layer.kernel_initializer is not layer.bias_initializer


def test_automatic_names_do_not_depend_on_what_ran_before():
    # A fuzzer finding: a layer config without a name took the next name of
    # the process's counters, so the same JSON loaded or failed depending on
    # what had been built before, and every load moved the counters.
    import json

    model = kiln.Sequential(
        [kiln.Input((3,)), kiln.layers.Dense(2, name="dense"), kiln.layers.Dense(2)]
    )
    config = json.loads(model.to_json())
    del config["config"]["layers"][2]["config"]["name"]
    from kiln._src.utils import naming

    text = json.dumps(config)
    counters = dict(naming._counters)
    for _ in range(3):  # "dense" clashes with the named layer, every time
        with pytest.raises(kiln.saving.InvalidFileError, match="unique names"):
            kiln.models.model_from_json(text)
    assert dict(naming._counters) == counters
    config["config"]["layers"][1]["config"]["name"] = "first"
    names = {
        kiln.models.model_from_json(json.dumps(config)).layers[1].name for _ in range(3)
    }
    assert names == {"dense"}
