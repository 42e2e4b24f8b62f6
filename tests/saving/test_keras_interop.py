"""Files interchange with real Keras 3.15.1 (JAX backend): kiln's `.keras`
files load in Keras and Keras's load in kiln, with the same predictions and
optimizer state; for the same architecture both write the same HDF5 groups,
datasets and attributes."""

import io
import os
import zipfile

import h5py
import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402 - the oracle

import kiln  # noqa: E402

pytestmark = pytest.mark.slow


def _register_subclassed(lib):
    """The same subclassed model in `lib` (kiln or keras), registered in it
    as ``Interop>Sub``: attributes sorting before and after `layers`, a list
    of layers holding a layer with its own list, a nested model, and a
    private attribute."""
    layers = lib.layers

    class Block(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.inner = [layers.Dense(3), layers.Dense(3)]

        def call(self, x):
            for layer in self.inner:
                x = layer(x)
            return x

    class Sub(lib.Model):
        def __init__(self, units=2, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.alpha = layers.Dense(4, activation="relu")
            self.zeta = layers.Dense(4)
            self.blocks = [layers.Dense(4), Block()]
            self.nested = lib.Sequential([layers.Dense(4), layers.Dense(units)])
            self._private = layers.Dense(units)

        def call(self, x):
            x = self.zeta(self.alpha(x))
            for block in self.blocks:
                x = block(x)
            return self._private(self.nested(x))

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    lib.saving.register_keras_serializable(package="Interop", name="Block")(Block)
    lib.saving.register_keras_serializable(package="Interop", name="Sub")(Sub)
    return Sub


def _functional(lib):
    a, b = lib.Input((5,), name="a"), lib.Input((5,), name="b")
    shared = lib.layers.Dense(4, activation="relu", name="shared")
    inner_in = lib.Input((4,))
    inner = lib.Model(inner_in, lib.layers.Dense(4)(inner_in), name="inner")
    merged = lib.layers.Concatenate()([inner(shared(a)), shared(b)])
    return lib.Model([a, b], lib.layers.Dense(2, name="out")(merged))


def _sequential(lib):
    return lib.Sequential(
        [
            lib.Input((5,)),
            lib.layers.Dense(4, activation="tanh"),
            lib.layers.Dropout(0.25),
            lib.layers.Dense(2),
        ]
    )


MODELS = {
    "functional": _functional,
    "sequential": _sequential,
    # Registered in both libraries under the same name by building it.
    "subclassed": lambda lib: _register_subclassed(lib)(units=2, name="sub"),
}


def _data(kind):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 5)).astype("float32")
    y = rng.normal(size=(8, 2)).astype("float32")
    return ([x, -x] if kind == "functional" else x), y


def _trained(lib, kind):
    lib.utils.clear_session()  # same auto-names in both libraries
    model = MODELS[kind](lib)
    model.compile(optimizer=lib.optimizers.Adam(0.01), loss="mse")
    x, y = _data(kind)
    model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    return model


def _assert_same(source, loaded, x):
    np.testing.assert_allclose(
        np.asarray(loaded(x, training=False)),
        np.asarray(source(x, training=False)),
        rtol=0,
        atol=1e-6,
    )
    saved = [np.asarray(v) for v in source.optimizer.variables]
    restored = [np.asarray(v) for v in loaded.optimizer.variables]
    assert len(restored) == len(saved) > 2
    for a, b in zip(saved, restored):
        np.testing.assert_array_equal(b, a)
    assert int(np.asarray(loaded.optimizer.iterations)) == 2


def _h5_layout(path):
    """Every group (with its attributes) and dataset (shape, dtype)."""
    layout = {}
    with zipfile.ZipFile(path) as archive:
        data = io.BytesIO(archive.read("model.weights.h5"))
    with h5py.File(data, "r") as h5:

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                layout[name] = ("dataset", obj.shape, obj.dtype.str)
            else:
                layout[name] = ("group", dict(obj.attrs))

        h5.visititems(visit)
    return layout


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_files_interchange_with_keras(kind, tmp_path):
    """Each library trains the same architecture and saves it; both files
    have the same HDF5 layout, and each loads in the other library with the
    same predictions and optimizer state."""
    ours = _trained(kiln, kind)
    ours.save(tmp_path / "kiln.keras")
    theirs = _trained(keras, kind)
    theirs.save(tmp_path / "keras.keras")

    layout = _h5_layout(tmp_path / "kiln.keras")
    assert layout == _h5_layout(tmp_path / "keras.keras")
    if kind == "subclassed":
        # The facts that make this case hard, spelled out.
        assert "alpha/vars/0" in layout  # sorts before `layers`
        assert "layers/dense_1/vars/0" in layout  # `zeta`, reached via `layers`
        assert "blocks/block/inner/dense_1/vars/0" in layout  # lists in lists
        assert "layers/sequential/layers/dense_1/vars/0" in layout  # nested model
        assert "layers/dense_3/vars/0" in layout  # `_private` sorts last
        assert layout["optimizer/vars"] == ("group", {"name": "adam"})

    x = _data(kind)[0]
    _assert_same(ours, keras.models.load_model(tmp_path / "kiln.keras"), x)
    _assert_same(theirs, kiln.models.load_model(tmp_path / "keras.keras"), x)


def test_keras_file_with_weights_only_loads_in_kiln(tmp_path):
    source = _trained(keras, "functional")
    source.save_weights(tmp_path / "keras.weights.h5")
    target = _functional(kiln)
    target.load_weights(tmp_path / "keras.weights.h5")
    x = _data("functional")[0]
    np.testing.assert_allclose(
        np.asarray(target(x)), np.asarray(source(x)), rtol=0, atol=1e-6
    )


def _nested(lib, topology):
    lib.utils.clear_session()
    inner_in = lib.Input((4,))
    inner = lib.Model(inner_in, lib.layers.Dense(4, name="d")(inner_in), name="inner")
    x = lib.Input((4,), name="x")
    if topology == "called_twice_then_dense":
        outputs = lib.layers.Dense(2, name="o")(inner(inner(x)))
    elif topology == "as_output":
        outputs = inner(lib.layers.Dense(4, name="p")(x))
    elif topology == "in_dict_outputs":
        outputs = {"a": inner(x), "b": lib.layers.Dense(2, name="o")(inner(x))}
    else:  # "two_levels"
        mid_in = lib.Input((4,))
        outputs = lib.Model(mid_in, inner(mid_in), name="mid")(x)
    return lib.Model(x, outputs)


def _references(path):
    """Every keras_history in the nodes, and input_layers / output_layers."""
    import json

    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))["config"]
    found = []

    def visit(value):
        if isinstance(value, dict):
            if "keras_history" in value:
                found.append(value["keras_history"])
            for item in value.values():
                visit(item)
        elif isinstance(value, list):
            for item in value:
                visit(item)

    for layer in config["layers"]:
        visit(layer["inbound_nodes"])
    return found, config["input_layers"], config["output_layers"]


@pytest.mark.parametrize(
    "topology",
    ["called_twice_then_dense", "as_output", "in_dict_outputs", "two_levels"],
)
def test_nested_functional_references_match_keras(topology, tmp_path):
    """Keras numbers a nested Functional's calls from 0 inside nodes but from
    1 in input_layers/output_layers; both files must agree and cross-load."""
    x = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    ours, theirs = _nested(kiln, topology), _nested(keras, topology)
    ours.save(tmp_path / "kiln.keras")
    theirs.save(tmp_path / "keras.keras")
    assert _references(tmp_path / "kiln.keras") == _references(tmp_path / "keras.keras")
    for source, path, reader in (
        (ours, "kiln.keras", keras),
        (theirs, "keras.keras", kiln),
        (ours, "kiln.keras", kiln),
    ):
        loaded = reader.models.load_model(tmp_path / path)
        expected = source.predict(x, verbose=0)
        got = loaded.predict(x, verbose=0)
        if isinstance(expected, dict):
            assert sorted(got) == sorted(expected)
        else:
            expected, got = {"out": expected}, {"out": got}
        for key in expected:
            np.testing.assert_allclose(
                np.asarray(got[key]), np.asarray(expected[key]), rtol=0, atol=1e-6
            )


@pytest.mark.parametrize("dtype", ["bfloat16", "float16", "mixed_bfloat16"])
def test_low_precision_weights_interchange(dtype, tmp_path):
    """bfloat16 is stored as 2-byte opaque data with a dtype attribute; both
    libraries must read each other's bits back exactly."""
    for writer, reader in ((kiln, keras), (keras, kiln)):
        inputs = writer.Input((3,))
        hidden = writer.layers.Dense(4, dtype=dtype)(inputs)
        model = writer.Model(inputs, writer.layers.Dense(2, dtype=dtype)(hidden))
        path = tmp_path / f"{writer.__name__}.keras"
        model.save(path)
        loaded = reader.models.load_model(path)
        assert [str(v.dtype) for v in loaded.weights] == [
            str(v.dtype) for v in model.weights
        ]
        for a, b in zip(model.weights, loaded.weights):
            np.testing.assert_array_equal(
                np.asarray(b).view(np.uint8), np.asarray(a).view(np.uint8)
            )


def _tied(lib, wrapper_first):
    """A Dense used in the graph and held by a custom layer (weight tying)."""

    class Wrapper(lib.layers.Layer):
        def __init__(self, sublayer, **kwargs):
            super().__init__(**kwargs)
            self.sublayer = sublayer

        def call(self, x):
            return self.sublayer(x) * 2.0

        def get_config(self):
            config = super().get_config()
            config["sublayer"] = lib.saving.serialize_keras_object(self.sublayer)
            return config

        @classmethod
        def from_config(cls, config):
            sublayer = lib.saving.deserialize_keras_object(config.pop("sublayer"))
            return cls(sublayer, **config)

    lib.saving.register_keras_serializable(package="Interop", name="Wrapper")(Wrapper)
    lib.utils.clear_session()
    tied = lib.layers.Dense(3, name="tied")
    x = lib.Input((3,))
    if wrapper_first:
        outputs = tied(Wrapper(tied, name="wrapper")(x))
    else:
        outputs = Wrapper(tied, name="wrapper")(tied(x))
    return lib.Model(x, outputs)


@pytest.mark.parametrize(
    "wrapper_first", [False, True], ids=["graph_first", "wrapper_first"]
)
def test_a_layer_referenced_twice_loads_as_one_layer(wrapper_first, tmp_path):
    """shared_object_id: kiln marks every copy, so its files load as one layer
    in kiln and in Keras. (Keras marks only later copies when the first one
    sits inside another layer's config, so Keras cannot reload its own file
    in the wrapper-first order; the graph-first Keras file loads in kiln.)"""
    x = np.random.default_rng(0).normal(size=(2, 3)).astype("float32")
    ours = _tied(kiln, wrapper_first)
    ours.save(tmp_path / "kiln.keras")
    readers = [(ours, "kiln.keras", kiln), (ours, "kiln.keras", keras)]
    if not wrapper_first:
        theirs = _tied(keras, wrapper_first)
        theirs.save(tmp_path / "keras.keras")
        readers.append((theirs, "keras.keras", kiln))
    else:
        _tied(keras, wrapper_first)  # register Keras's Wrapper for reading
    for source, path, reader in readers:
        loaded = reader.models.load_model(tmp_path / path)
        assert len(loaded.weights) == 2
        assert loaded.get_layer("wrapper").sublayer is loaded.get_layer("tied")
        np.testing.assert_allclose(
            np.asarray(loaded(x)), np.asarray(source(x)), rtol=0, atol=1e-6
        )
