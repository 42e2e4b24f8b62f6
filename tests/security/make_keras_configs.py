"""Writes `keras_configs.json`: the `config.json` real Keras 3 writes for many
models, so the config and graph checks can be tested against every one
without importing Keras (zero false positives is the requirement).

Run by hand (it needs `keras`, installed with the test extras):

    KERAS_BACKEND=jax .venv/bin/python tests/security/make_keras_configs.py

It covers one Functional model per layer case of
`tests/saving/test_round_trip_layers.py` (the same factories, given Keras's
`layers` module), plus graphs with shared layers, nested and reused models, a
nested Sequential, multi-output layers, dict inputs, compiled models and
layers with non-default arguments.
"""

from __future__ import annotations

import json
import os
import sys
import types

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "saving"))

import test_round_trip_layers as cases  # noqa: E402

L = keras.layers


def _with_keras(function):
    """`function` (a kiln test factory) with `layers`/`kiln` bound to Keras."""
    if function is None:
        return None
    names = dict(function.__globals__, layers=keras.layers, kiln=keras)
    return types.FunctionType(
        function.__code__, names, function.__name__, function.__defaults__
    )


def layer_case_models():
    for name, case in cases.LAYER_CASES.items():
        make = _with_keras(case["make"])
        call = _with_keras(case["call"]) or (lambda layer, inputs: layer(inputs))
        inputs = [
            keras.Input(shape, dtype=case["dtype"], name=f"in_{i}")
            for i, shape in enumerate(case["shapes"])
        ]
        single = inputs if len(inputs) > 1 else inputs[0]
        yield f"layer:{name}", keras.Model(single, call(make(), single))


def graph_models():
    a, b = keras.Input((4,), name="a"), keras.Input((4,), name="b")
    shared = L.Dense(4, name="shared")
    x, y = shared(a), shared(b)
    yield "shared_layer", keras.Model([a, b], shared(L.Add(name="add")([x, y])))

    i = keras.Input((3,), name="i")
    inner = keras.Model(i, L.Dense(3, name="dd")(i), name="inner")
    o = keras.Input((3,), name="o")
    h1 = inner(o)
    yield "nested_reused", keras.Model(o, [inner(h1), h1], name="outer")
    o2 = keras.Input((3,), name="o2")
    yield "nested_output", keras.Model(o2, inner(o2), name="outer2")

    seq = keras.Sequential([keras.Input((3,)), L.Dense(2, name="sd")], name="seq")
    o3 = keras.Input((3,), name="o3")
    yield "nested_sequential", keras.Model(o3, [seq(o3), L.Dense(1)(seq(o3))])

    t = keras.Input((5, 2), name="t")
    _, state_h, state_c = L.LSTM(3, return_state=True, name="lstm")(t)
    yield "multi_output", keras.Model(t, {"h": state_h, "c": L.Dense(2)(state_c)})

    p, q = keras.Input((2,), name="p"), keras.Input((2,), name="q")
    yield "dict_inputs", keras.Model({"p": p, "q": q}, L.Concatenate()([p, q]))

    deep_in = keras.Input((3,))
    level1 = keras.Model(deep_in, L.Dense(3)(deep_in), name="level1")
    mid_in = keras.Input((3,))
    level2 = keras.Model(mid_in, level1(level1(mid_in)), name="level2")
    top_in = keras.Input((3,))
    yield "nested_two_levels", keras.Model(top_in, level2(top_in))

    yield (
        "sequential",
        keras.Sequential([keras.Input((3,)), L.Dense(2), L.Dropout(0.1)]),
    )


def argument_models():
    """Layers with non-default (still valid) arguments."""
    specs = [
        ((6, 3), L.Conv1D(2, 3, padding="causal", dilation_rate=2)),
        ((6, 6, 2), L.Conv2D(2, (3, 1), strides=(2, 1), padding="same")),
        ((6, 6, 2), L.MaxPooling2D(pool_size=(2, 3), strides=None)),
        ((2, 3), L.Reshape((-1, 3))),
        ((3, 4), L.EinsumDense("abc,cd->abd", output_shape=(None, 5), bias_axes="d")),
        ((4,), L.Dropout(1.0)),
        ((4,), L.Dropout(0, noise_shape=(None, 1))),
        ((4,), L.BatchNormalization(momentum=0.0, epsilon=0.0, center=False)),
        ((5,), L.Embedding(10, 3, mask_zero=True)),
        ((3, 3, 1), L.ZeroPadding2D(((1, 2), (0, 3)))),
        ((3, 3, 1), L.Cropping2D(0)),
        ((3, 3, 1), L.UpSampling2D((2, 3), interpolation="bilinear")),
        ((5, 4), L.GRU(2, dropout=1.0, recurrent_dropout=0.5, go_backwards=True)),
        ((3, 4), L.MultiHeadAttention(num_heads=1, key_dim=3, value_dim=None)),
        ((4,), L.GaussianNoise(0.0)),
        ((2, 3), L.Permute((2, 1))),
        ((4,), L.Dense(2, dtype="mixed_bfloat16")),
        ((4,), L.Dense(2, dtype="float64")),
    ]
    for index, (shape, layer) in enumerate(specs):
        inputs = keras.Input(shape, dtype="int32" if index == 8 else "float32")
        if isinstance(layer, L.MultiHeadAttention):
            outputs = layer(inputs, inputs)
        else:
            outputs = layer(inputs)
        yield f"args:{type(layer).__name__}:{index}", keras.Model(inputs, outputs)
    fixed = keras.Input(batch_shape=(7, 3), name="fixed_batch")
    yield "args:fixed_batch", keras.Model(fixed, L.Dense(1)(fixed))
    unknown = keras.Input((None, None, 2), name="unknown_dims")
    yield "args:unknown_dims", keras.Model(unknown, L.Conv2D(1, 1)(unknown))


def compiled_models():
    for optimizer in (
        keras.optimizers.Adam(1e-3),
        keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True),
        keras.optimizers.RMSprop(momentum=0.5),
        keras.optimizers.AdamW(weight_decay=0.01),
    ):
        model = keras.Sequential([keras.Input((3,)), L.Dense(2)])
        model.compile(
            optimizer=optimizer,
            loss="mse",
            metrics=["mae", keras.metrics.MeanSquaredError(name="m/se")],
        )
        yield f"compiled:{optimizer.name}", model


def main() -> None:
    configs = {}
    for source in (layer_case_models, graph_models, argument_models, compiled_models):
        for name, model in source():
            config = keras.saving.serialize_keras_object(model)
            configs[name] = json.loads(json.dumps(config))
    path = os.path.join(HERE, "keras_configs.json")
    with open(path, "w") as file:
        json.dump(
            {"keras_version": keras.__version__, "configs": configs},
            file,
            indent=None,
            sort_keys=True,
        )
    print(f"wrote {len(configs)} configs to {path}")


if __name__ == "__main__":
    main()
