"""Every layer kiln has survives save -> load unchanged.

For each public layer class, a small Functional model around it is given
random values in *every* variable (so a weight that is not saved, or saved
under the wrong name, cannot pass by staying at its initial value), saved to
`.keras`, loaded, and checked: predictions bit-identical, `get_config()`
equal, every variable equal, and the reloaded model saves to the very same
`config.json` and `model.weights.h5` bytes.
"""

import inspect
import io
import json
import zipfile

import h5py
import numpy as np
import pytest

import kiln
from kiln import layers

F32 = "float32"


def _case(make, *shapes, dtype=F32, high=None, covers=(), call=None, zeros=False):
    """`call(layer, inputs)` builds the output (default: ``layer(inputs)``);
    `zeros` zeroes the last time steps of the first sample (for masking)."""
    return {
        "make": make,
        "shapes": shapes,
        "dtype": dtype,
        "high": high,
        "covers": covers,
        "call": call,
        "zeros": zeros,
    }


# One case per public layer class: (factory, input shape(s) without batch).
LAYER_CASES = {
    "Activation": _case(lambda: layers.Activation("tanh"), (4,)),
    "ActivityRegularization": _case(
        lambda: layers.ActivityRegularization(l1=0.01, l2=0.02), (4,)
    ),
    "Add": _case(lambda: layers.Add(), (4,), (4,)),
    "Average": _case(lambda: layers.Average(), (4,), (4,)),
    "Maximum": _case(lambda: layers.Maximum(), (4,), (4,)),
    "Minimum": _case(lambda: layers.Minimum(), (4,), (4,)),
    "Multiply": _case(lambda: layers.Multiply(), (4,), (4,)),
    "Subtract": _case(lambda: layers.Subtract(), (4,), (4,)),
    "Concatenate": _case(lambda: layers.Concatenate(axis=-1), (4,), (2,)),
    "Dot": _case(lambda: layers.Dot(axes=1, normalize=True), (4,), (4,)),
    "AveragePooling1D": _case(lambda: layers.AveragePooling1D(2), (6, 3)),
    "AveragePooling2D": _case(lambda: layers.AveragePooling2D(2), (4, 4, 2)),
    "AveragePooling3D": _case(lambda: layers.AveragePooling3D(2), (4, 4, 4, 2)),
    "MaxPooling1D": _case(lambda: layers.MaxPooling1D(2), (6, 3)),
    "MaxPooling2D": _case(lambda: layers.MaxPooling2D(2), (4, 4, 2)),
    "MaxPooling3D": _case(lambda: layers.MaxPooling3D(2), (4, 4, 4, 2)),
    "GlobalAveragePooling1D": _case(lambda: layers.GlobalAveragePooling1D(), (6, 3)),
    "GlobalAveragePooling2D": _case(
        lambda: layers.GlobalAveragePooling2D(keepdims=True), (4, 4, 2)
    ),
    "GlobalAveragePooling3D": _case(
        lambda: layers.GlobalAveragePooling3D(), (3, 3, 3, 2)
    ),
    "GlobalMaxPooling1D": _case(lambda: layers.GlobalMaxPooling1D(), (6, 3)),
    "GlobalMaxPooling2D": _case(lambda: layers.GlobalMaxPooling2D(), (4, 4, 2)),
    "GlobalMaxPooling3D": _case(lambda: layers.GlobalMaxPooling3D(), (3, 3, 3, 2)),
    "BatchNormalization": _case(lambda: layers.BatchNormalization(), (4,)),
    "LayerNormalization": _case(lambda: layers.LayerNormalization(), (4,)),
    "GroupNormalization": _case(lambda: layers.GroupNormalization(groups=2), (4,)),
    "RMSNormalization": _case(lambda: layers.RMSNormalization(), (4,)),
    "UnitNormalization": _case(lambda: layers.UnitNormalization(), (4,)),
    "Normalization": _case(lambda: layers.Normalization(axis=-1), (4,)),
    "CategoryEncoding": _case(
        lambda: layers.CategoryEncoding(num_tokens=5, output_mode="count"),
        (3,),
        dtype="int32",
        high=5,
    ),
    "Embedding": _case(lambda: layers.Embedding(10, 3), (5,), dtype="int32", high=10),
    "Conv1D": _case(lambda: layers.Conv1D(2, 3), (6, 3)),
    "Conv2D": _case(lambda: layers.Conv2D(2, 3, padding="same"), (5, 5, 2)),
    "Conv3D": _case(lambda: layers.Conv3D(2, 2), (3, 3, 3, 2)),
    "Conv1DTranspose": _case(lambda: layers.Conv1DTranspose(2, 3), (5, 3)),
    "Conv2DTranspose": _case(
        lambda: layers.Conv2DTranspose(2, 3, strides=2), (3, 3, 2)
    ),
    "Conv3DTranspose": _case(lambda: layers.Conv3DTranspose(2, 2), (2, 2, 2, 2)),
    "DepthwiseConv1D": _case(lambda: layers.DepthwiseConv1D(3), (6, 2)),
    "DepthwiseConv2D": _case(
        lambda: layers.DepthwiseConv2D(3, depth_multiplier=2), (5, 5, 2)
    ),
    "SeparableConv1D": _case(lambda: layers.SeparableConv1D(2, 3), (6, 3)),
    "SeparableConv2D": _case(lambda: layers.SeparableConv2D(2, 3), (5, 5, 2)),
    "Cropping1D": _case(lambda: layers.Cropping1D(1), (6, 2)),
    "Cropping2D": _case(lambda: layers.Cropping2D(((1, 0), (0, 1))), (4, 4, 2)),
    "Cropping3D": _case(lambda: layers.Cropping3D(1), (4, 4, 4, 1)),
    "ZeroPadding1D": _case(lambda: layers.ZeroPadding1D(1), (3, 2)),
    "ZeroPadding2D": _case(lambda: layers.ZeroPadding2D((1, 2)), (3, 3, 1)),
    "ZeroPadding3D": _case(lambda: layers.ZeroPadding3D(1), (2, 2, 2, 1)),
    "UpSampling1D": _case(lambda: layers.UpSampling1D(2), (3, 2)),
    "UpSampling2D": _case(lambda: layers.UpSampling2D(2), (2, 2, 2)),
    "UpSampling3D": _case(lambda: layers.UpSampling3D(2), (2, 2, 2, 1)),
    "Dense": _case(lambda: layers.Dense(3, activation="relu"), (4,)),
    "EinsumDense": _case(
        lambda: layers.EinsumDense("ab,bc->ac", output_shape=3, bias_axes="c"), (4,)
    ),
    "Attention": _case(lambda: layers.Attention(use_scale=True), (3, 4), (2, 4)),
    "AdditiveAttention": _case(lambda: layers.AdditiveAttention(), (3, 4), (2, 4)),
    "MultiHeadAttention": _case(
        lambda: layers.MultiHeadAttention(num_heads=2, key_dim=2),
        (3, 4),
        (2, 4),
        call=lambda layer, inputs: layer(inputs[0], inputs[1]),
    ),
    "Dropout": _case(lambda: layers.Dropout(0.5, seed=1), (4,)),
    "AlphaDropout": _case(lambda: layers.AlphaDropout(0.2, seed=1), (4,)),
    "GaussianDropout": _case(lambda: layers.GaussianDropout(0.3, seed=1), (4,)),
    "GaussianNoise": _case(lambda: layers.GaussianNoise(0.2, seed=1), (4,)),
    "SpatialDropout1D": _case(lambda: layers.SpatialDropout1D(0.5, seed=1), (5, 3)),
    "SpatialDropout2D": _case(lambda: layers.SpatialDropout2D(0.5, seed=1), (4, 4, 2)),
    "SpatialDropout3D": _case(
        lambda: layers.SpatialDropout3D(0.5, seed=1), (3, 3, 3, 2)
    ),
    "ELU": _case(lambda: layers.ELU(0.5), (4,)),
    "LeakyReLU": _case(lambda: layers.LeakyReLU(0.2), (4,)),
    "PReLU": _case(lambda: layers.PReLU(), (4,)),
    "ReLU": _case(lambda: layers.ReLU(max_value=0.5), (4,)),
    "Softmax": _case(lambda: layers.Softmax(), (4,)),
    "Flatten": _case(lambda: layers.Flatten(), (2, 3)),
    "Masking": _case(
        lambda: layers.Masking(0.0),
        (5, 4),
        call=lambda layer, inputs: layers.SimpleRNN(2)(layer(inputs)),
        zeros=True,
    ),
    "Identity": _case(lambda: layers.Identity(), (4,)),
    # A modeling function: an op (kiln.ops.square) loads only with
    # safe_mode=False or custom_objects (see FORMAT.md, "Names").
    "Lambda": _case(lambda: layers.Lambda(kiln.activations.softplus), (4,)),
    "Permute": _case(lambda: layers.Permute((2, 1)), (2, 3)),
    "RepeatVector": _case(lambda: layers.RepeatVector(3), (4,)),
    "Rescaling": _case(lambda: layers.Rescaling(0.5, offset=0.25), (4,)),
    "Reshape": _case(lambda: layers.Reshape((6,)), (2, 3)),
    "SimpleRNN": _case(lambda: layers.SimpleRNN(3), (5, 4)),
    "LSTM": _case(lambda: layers.LSTM(3, return_sequences=True), (5, 4)),
    "GRU": _case(lambda: layers.GRU(3), (5, 4)),
    "RNN": _case(
        lambda: layers.RNN(layers.SimpleRNNCell(3)),
        (5, 4),
        covers=("SimpleRNNCell",),
    ),
    "LSTMCell": _case(lambda: layers.RNN(layers.LSTMCell(3)), (5, 4)),
    "GRUCell": _case(lambda: layers.RNN(layers.GRUCell(3)), (5, 4)),
    "Bidirectional": _case(lambda: layers.Bidirectional(layers.LSTM(3)), (5, 4)),
    "TimeDistributed": _case(lambda: layers.TimeDistributed(layers.Dense(2)), (5, 4)),
    "StackedRNNCells": _case(
        lambda: layers.RNN(
            layers.StackedRNNCells([layers.SimpleRNNCell(3), layers.LSTMCell(2)])
        ),
        (5, 4),
    ),
}

# Classes with no case of their own, and why.
NOT_CASES = {
    "Layer": "the base class; subclasses are covered in test_custom_objects",
    "InputLayer": "every model here starts with one",
}


def _public_layer_classes():
    classes = {}
    for name in layers.__all__:
        obj = getattr(layers, name)
        if inspect.isclass(obj) and issubclass(obj, layers.Layer):
            classes.setdefault(obj, obj.__name__)
    return set(classes.values())


def test_every_public_layer_has_a_case():
    covered = set(LAYER_CASES) | set(NOT_CASES)
    for case in LAYER_CASES.values():
        covered |= set(case["covers"])
    missing = sorted(_public_layer_classes() - covered)
    assert not missing, (
        f"Layers without a save/load round-trip case: {missing}. Add a case "
        "to LAYER_CASES in tests/saving/test_round_trip_layers.py."
    )


def _data(case, rng):
    arrays = []
    for shape in case["shapes"]:
        if case["dtype"] == F32:
            arrays.append(rng.normal(size=(3, *shape)).astype(F32))
        else:
            arrays.append(rng.integers(0, case["high"], size=(3, *shape)))
    if case["zeros"]:
        arrays[0][0, 2:] = 0.0
    return arrays


def _fill_every_variable(model, rng):
    for variable in model.weights:
        dtype = np.dtype(variable.dtype)
        if np.issubdtype(dtype, np.floating):
            value = rng.uniform(0.1, 1.0, size=variable.shape)
        else:
            value = rng.integers(1, 5, size=variable.shape)
        variable.assign(value.astype(dtype))


def _saved_content(path):
    """config.json's bytes, and every weights dataset's path, dtype and bytes.

    (The `name` attributes of weight groups are left out: a layer's internal
    sublayers, e.g. MultiHeadAttention's softmax, get fresh auto-names when
    the model is rebuilt, in Keras as in kiln.)
    """
    datasets = {}
    with zipfile.ZipFile(path) as archive:
        config = archive.read("config.json")
        weights = io.BytesIO(archive.read("model.weights.h5"))
    with h5py.File(weights, "r") as h5:
        h5.visititems(
            lambda name, obj: (
                datasets.__setitem__(
                    name, (obj.dtype.str, obj.shape, obj[()].tobytes())
                )
                if isinstance(obj, h5py.Dataset)
                else None
            )
        )
    return config, datasets


def _as_json(value):
    return json.loads(json.dumps(value))


@pytest.mark.parametrize("name", sorted(LAYER_CASES))
def test_layer_round_trip(name):
    case = LAYER_CASES[name]
    rng = np.random.default_rng(0)
    inputs = [
        kiln.Input(shape, dtype=case["dtype"], name=f"in_{i}")
        for i, shape in enumerate(case["shapes"])
    ]
    layer = case["make"]()
    call = case["call"] or (lambda layer, inputs: layer(inputs))
    outputs = call(layer, inputs if len(inputs) > 1 else inputs[0])
    model = kiln.Model(inputs if len(inputs) > 1 else inputs[0], outputs)
    _fill_every_variable(model, rng)
    data = _data(case, rng)
    data = data if len(data) > 1 else data[0]
    expected = np.asarray(model(data, training=False))

    model.save("model.keras")
    loaded = kiln.models.load_model("model.keras")

    np.testing.assert_array_equal(np.asarray(loaded(data, training=False)), expected)
    assert _as_json(loaded.get_config()) == _as_json(model.get_config())
    assert len(loaded.weights) == len(model.weights)
    for saved, restored in zip(model.weights, loaded.weights):
        # (Variable paths are in-memory names, not part of the file: a cell
        # rebuilt from its own config is named without its RNN, as in Keras.)
        assert (restored.name, restored.shape) == (saved.name, saved.shape)
        assert restored.dtype == saved.dtype
        np.testing.assert_array_equal(np.asarray(restored), np.asarray(saved))
    loaded.save("again.keras")
    assert _saved_content("again.keras") == _saved_content("model.keras")
