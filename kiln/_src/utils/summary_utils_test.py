"""`print_summary` on stand-in models made of real Variables, Operations and Nodes.

The oracle is real Keras 3's ``model.summary()`` on the same architecture.
"""

from __future__ import annotations

import jax.numpy as jnp
import keras
import numpy as np
import pytest

from kiln._src.backend.keras_tensor import KerasTensor
from kiln._src.backend.variable import Variable
from kiln._src.ops.node import Node
from kiln._src.ops.operation import Operation
from kiln._src.utils import summary_utils
from kiln._src.utils.summary_utils import print_summary, readable_memory_size

GUIDE_SUMMARY = """\
Model: "sequential_4"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ dense_1 (Dense)                 │ (None, 64)             │        50,240 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense_2 (Dense)                 │ (None, 64)             │         4,160 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense_3 (Dense)                 │ (None, 5)              │           325 │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 54,725 (213.77 KB)
 Trainable params: 54,725 (213.77 KB)
 Non-trainable params: 0 (0.00 B)
"""


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch):
    # The default width depends on the terminal; fix it. It is also wide enough
    # for every table here: rich (used by Keras) crops lines at the terminal
    # width, while kiln never crops a table the caller sized.
    monkeypatch.setenv("COLUMNS", "150")


# -- stand-ins -------------------------------------------------------------------
class _StandInLayer(Operation):
    """The parts of a layer that the summary reads."""

    def __init__(self, name: str, weights: list[Variable] = (), built: bool = True):
        super().__init__(name=name)
        self.weights = list(weights)
        self.built = built
        self.trainable = True
        self.shape_hint = None  # Shown when the layer was never called.

    def count_params(self) -> int:
        return sum(int(np.prod(w.shape)) for w in self.weights)

    @property
    def output_shape_for_summary(self):
        if not self._inbound_nodes:
            return self.shape_hint
        outputs = self._inbound_nodes[-1].outputs
        if isinstance(outputs, list):
            return [t.shape for t in outputs]
        return outputs.shape


class Dense(_StandInLayer):
    def __init__(self, name: str, input_dim: int, units: int, built: bool = True):
        kernel = Variable(np.zeros((input_dim, units), "float32"), name="kernel")
        bias = Variable(np.zeros((units,), "float32"), name="bias")
        super().__init__(name, [kernel, bias] if built else [], built)
        self.shape_hint = (None, units) if built else None

    def call(self, x):
        return x @ self.weights[0].value + self.weights[1].value


class BatchNormalization(_StandInLayer):
    def __init__(self, name: str, dim: int):
        weights = [
            Variable(
                np.ones((dim,), "float32"), name=n, trainable=n in ("gamma", "beta")
            )
            for n in ("gamma", "beta", "moving_mean", "moving_variance")
        ]
        super().__init__(name, weights)
        self.dim = dim
        self.shape_hint = (None, dim)


class Dropout(_StandInLayer):
    def __init__(self, name: str, dim: int):
        super().__init__(name)
        self.shape_hint = (None, dim)


class Flatten(Dropout):
    pass


class Sequential(_StandInLayer):
    """A nested model, seen from the outer model as one layer."""

    def __init__(self, name: str, layers: list[_StandInLayer]):
        super().__init__(name, [w for layer in layers for w in layer.weights])
        self.layers = layers
        self.shape_hint = layers[-1].shape_hint


class InputLayer(_StandInLayer):
    def __init__(self, name: str, dim: int):
        super().__init__(name)
        self.output = KerasTensor((None, dim), name=name)
        Node(self, outputs=self.output)


class Concatenate(_StandInLayer):
    def call(self, xs):
        return jnp.concatenate(xs, axis=-1)


class Lambda(_StandInLayer):
    def call(self, x):
        return [x, x * 2]


class Add(_StandInLayer):
    def call(self, xs):
        return xs[0] + xs[1]


class StandInModel:
    def __init__(self, name, layers, outputs=None, optimizer=None):
        self.name = name
        self.layers = layers
        if outputs is not None:
            self.outputs = outputs
        self.optimizer = optimizer

    def _weights(self):
        return [w for layer in self.layers for w in layer.weights]

    @property
    def trainable_weights(self):
        return [w for w in self._weights() if w.trainable]

    @property
    def non_trainable_weights(self):
        return [w for w in self._weights() if not w.trainable]


class StandInOptimizer:
    def __init__(self, variables):
        self.variables = variables
        self.built = True


def _capture(model, **kwargs) -> str:
    texts = []
    print_summary(model, print_fn=texts.append, **kwargs)
    assert len(texts) == 1
    return texts[0]


def _keras_capture(model, **kwargs) -> str:
    texts = []
    model.summary(print_fn=lambda text, **_: texts.append(text), **kwargs)
    return texts[0]


def _three_dense():
    layers = [
        Dense("dense_1", 784, 64),
        Dense("dense_2", 64, 64),
        Dense("dense_3", 64, 5),
    ]
    return StandInModel("sequential_4", layers)


def _keras_three_dense():
    return keras.Sequential(
        [
            keras.Input((784,)),
            keras.layers.Dense(64, name="dense_1"),
            keras.layers.Dense(64, name="dense_2"),
            keras.layers.Dense(5, name="dense_3"),
        ],
        name="sequential_4",
    )


# -- sizes -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "size, expected",
    [
        pytest.param(0, "0.00 B", id="zero"),
        pytest.param(104, "104.00 B", id="bytes"),
        pytest.param(1023, "1023.00 B", id="just_under_kb"),
        pytest.param(1024, "1.00 KB", id="one_kb"),
        pytest.param(54_725 * 4, "213.77 KB", id="guide_total"),
        pytest.param(3 * 1024**2 + 512 * 1024, "3.50 MB", id="mb"),
        pytest.param(5 * 1024**3, "5.00 GB", id="gb"),
        # Past PB the value is divided once more, as Keras does.
        pytest.param(2 * 1024**6, "2.00 PB", id="beyond_pb"),
    ],
)
def test_readable_memory_size(size, expected):
    assert readable_memory_size(size) == expected
    from keras.src.utils.summary_utils import readable_memory_size as keras_size

    assert keras_size(size) == expected


def test_weight_memory_size_counts_dtypes_and_unique_weights():
    w32 = Variable(np.zeros((10, 3), "float32"))
    w16 = Variable(np.zeros((4,), "float16"))
    flags = Variable(np.zeros((16,), "bool"))
    # 30 * 4 + 4 * 2 + 16 bits = 130 bytes; a repeated weight counts once.
    assert summary_utils.weight_memory_size([w32, w16, flags, w32]) == 130.0
    assert summary_utils.count_params([w32, w16]) == 34


# -- tables ------------------------------------------------------------------------
def test_three_dense_matches_guide_numbers_and_keras():
    text = _capture(_three_dense(), line_length=76)
    assert text == GUIDE_SUMMARY
    assert text == _keras_capture(_keras_three_dense(), line_length=76)


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({}, id="default_width"),
        pytest.param({"line_length": 50}, id="narrow"),
        pytest.param({"line_length": 120}, id="wide"),
        pytest.param({"line_length": 120, "show_trainable": True}, id="wide_trainable"),
        pytest.param({"positions": [0.3, 0.5, 0.6]}, id="positions_short"),
        pytest.param({"show_trainable": True}, id="show_trainable"),
        pytest.param({"layer_range": ["dense_2", "dense_3"]}, id="layer_range"),
    ],
)
def test_sequential_matches_keras(kwargs):
    assert _capture(_three_dense(), **kwargs) == _keras_capture(
        _keras_three_dense(), **kwargs
    )


def test_default_prints_to_stdout(capsys):
    print_summary(_three_dense(), line_length=76)
    assert capsys.readouterr().out == GUIDE_SUMMARY


def test_unbuilt_long_names_and_non_trainable_match_keras():
    long_name = "a_very_long_layer_name_that_goes_on_and_on_forever_and_ever"
    model = StandInModel(
        "unbuilt",
        [Dense(long_name, 5, 3, built=False), Dense("dense", 3, 2, built=False)],
    )
    keras_model = keras.Sequential(
        [keras.layers.Dense(3, name=long_name), keras.layers.Dense(2, name="dense")],
        name="unbuilt",
    )
    assert _capture(model) == _keras_capture(keras_model)

    bn = BatchNormalization("bn", 3)
    bn.trainable = False
    for w in bn.weights:
        w.trainable = False
    model = StandInModel("bnm", [bn, Dropout("dr", 3)])
    keras_model = keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.BatchNormalization(name="bn"),
            keras.layers.Dropout(0.1, name="dr"),
        ],
        name="bnm",
    )
    keras_model.layers[0].trainable = False
    for kwargs in ({}, {"show_trainable": True}, {"line_length": 40}):
        assert _capture(model, **kwargs) == _keras_capture(keras_model, **kwargs)


def test_two_input_functional_has_connected_to_column():
    a, b = InputLayer("input_a", 8), InputLayer("in_b", 4)
    d1, d2 = Dense("d1", 8, 16), Dense("d2", 4, 16)
    cat, out = Concatenate("cat"), Dense("out", 32, 1)
    y = out(cat([d1(a.output), d2(b.output)]))
    model = StandInModel("two_in", [a, b, d1, d2, cat, out], outputs=[y])

    ka, kb = keras.Input((8,), name="input_a"), keras.Input((4,), name="in_b")
    kx = keras.layers.Dense(16, name="d1")(ka)
    ky = keras.layers.Dense(16, name="d2")(kb)
    kz = keras.layers.Concatenate(name="cat")([kx, ky])
    ko = keras.layers.Dense(1, name="out")(kz)
    keras_model = keras.Model([ka, kb], ko, name="two_in")

    text = _capture(model, line_length=76)
    assert "┃ Connected to      ┃" in text
    assert "│ d1[0][0],         │" in text  # Wrapped after the comma.
    assert "│ d2[0][0]          │" in text
    assert text == _keras_capture(keras_model, line_length=76)
    assert _capture(model) == _keras_capture(keras_model)
    kwargs = {"show_trainable": True, "line_length": 90}
    assert _capture(model, **kwargs) == _keras_capture(keras_model, **kwargs)

    # A built optimizer adds its own line. Adam holds two slots per trainable
    # weight, plus its iteration count (int64) and learning rate.
    slots = [
        Variable(np.zeros(w.shape, "float32")) for w in model.trainable_weights * 2
    ]
    scalars = [Variable(np.zeros((), "int64")), Variable(np.zeros((), "float32"))]
    model.optimizer = StandInOptimizer(slots + scalars)
    keras_model.compile("adam", "mse")
    keras_model.fit([np.ones((2, 8)), np.ones((2, 4))], np.ones((2, 1)), verbose=0)
    assert " Optimizer params: 516 (2.02 KB)" in _capture(model)
    assert _capture(model) == _keras_capture(keras_model)


def test_multi_output_layers_and_nodes_by_depth():
    x = InputLayer("x", 4)
    split, add, add2 = Lambda("split"), Add("add"), Add("add2")
    p, q = split(x.output)
    r = add([p, q])
    y = add2([r, r])
    model = StandInModel("multi", [x, split, add, add2], outputs=y)

    kx = keras.Input((4,), name="x")
    kp, kq = keras.layers.Lambda(lambda t: [t, t * 2], name="split")(kx)
    kr = keras.layers.Add(name="add")([kp, kq])
    keras_model = keras.Model(kx, keras.layers.Add(name="add2")([kr, kr]), name="multi")
    assert _capture(model) == _keras_capture(keras_model)

    # The same graph described by `_nodes_by_depth` / `_operations`.
    model._nodes_by_depth = {
        0: add2._inbound_nodes,
        1: add._inbound_nodes,
        2: split._inbound_nodes,
        3: x._inbound_nodes,
    }
    model._operations = model.layers
    assert _capture(model) == _keras_capture(keras_model)


def test_chain_of_graph_layers_has_no_connected_to_column():
    x = InputLayer("x", 4)
    d = Dense("d", 4, 2)
    model = StandInModel("chain", [x, d], outputs=d(x.output))
    text = _capture(model, line_length=76)
    assert "Connected to" not in text
    assert "│ d (Dense)                       │ (None, 2)              │" in text


def test_expand_nested_matches_keras():
    inner = Sequential("inner", [Dense("inner_d", 4, 3), Dense("inner_d2", 3, 1)])
    model = StandInModel("outer", [InputLayer("x", 4), inner, Flatten("fl", 1)])

    kinner = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(3, name="inner_d"),
            keras.layers.Dense(1, name="inner_d2"),
        ],
        name="inner",
    )
    ka = keras.Input((4,), name="x")
    ko = kinner(ka)
    keras_model = keras.Model(
        ka, [ko, keras.layers.Flatten(name="fl")(ko)], name="outer"
    )
    for kwargs in (
        {"expand_nested": True},
        {"expand_nested": True, "show_trainable": True},
    ):
        assert _capture(model, **kwargs) == _keras_capture(keras_model, **kwargs)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        pytest.param({"layer_range": ["dense_1"]}, "length 2", id="range_length"),
        pytest.param({"layer_range": ["dense_1", 3]}, "string type", id="range_type"),
        pytest.param(
            {"layer_range": ["nope", "dense_3"]}, "do not match", id="no_match"
        ),
        pytest.param(
            {"line_length": 10}, "Insufficient console width", id="too_narrow"
        ),
    ],
)
def test_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        _capture(_three_dense(), **kwargs)
