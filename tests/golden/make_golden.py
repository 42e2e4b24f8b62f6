"""Writes the golden files: small models saved by real Keras 3 (JAX backend).

Run by hand (it needs `keras`, installed with the test extras):

    KERAS_BACKEND=jax .venv/bin/python tests/golden/make_golden.py

For each model it writes ``<name>.keras`` (or ``.weights.h5``) and
``<name>.npz`` holding an input batch, Keras's predictions, the weights and the
optimizer variables, so `test_golden.py` checks kiln against Keras without
importing Keras. It also derives "older format" variants by rewriting the
config the way Keras 3.0-3.3 wrote it (dtype strings, no build_config, older
module paths), per the format reference's version table.
"""

from __future__ import annotations

import json
import os
import zipfile

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "files")


@keras.saving.register_keras_serializable(package="Golden")
class Scale(keras.layers.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w")

    def call(self, x):
        return x * self.w * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


@keras.saving.register_keras_serializable(package="Golden")
class TwoLayer(keras.Model):
    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.alpha = keras.layers.Dense(units, activation="relu")
        self.zeta = keras.layers.Dense(1)

    def call(self, x):
        return self.zeta(self.alpha(x))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def functional():
    inputs = keras.Input((6,), name="x")
    h = keras.layers.Dense(8, activation="relu", name="hidden")(inputs)
    h = Scale(0.5, name="scale")(h)
    h = keras.layers.Dropout(0.1, name="drop")(h)
    outputs = keras.layers.Dense(3, activation="softmax", name="out")(h)
    return keras.Model(inputs, outputs, name="golden_functional")


def multi_io():
    a = keras.Input((4,), name="a")
    b = keras.Input((2,), name="b")
    shared = keras.layers.Dense(5, name="shared")
    merged = keras.layers.Dense(3, name="merge")(shared(a))
    other = shared(keras.layers.Dense(4, name="lift")(b))
    return keras.Model({"a": a, "b": b}, {"left": merged, "right": other}, name="multi")


def sequential():
    return keras.Sequential(
        [
            keras.Input((5,)),
            keras.layers.Dense(4, activation="tanh"),
            keras.layers.Dense(2),
        ],
        name="golden_sequential",
    )


def _save(name, model, x, y, optimizer, loss):
    model.compile(optimizer=optimizer, loss=loss)
    model.fit(x, y, epochs=2, batch_size=4, verbose=0, shuffle=False)
    model.save(os.path.join(HERE, f"{name}.keras"))
    np.savez(
        os.path.join(HERE, f"{name}.npz"),
        **_flat("x", x),
        **_flat("y", model.predict(x, verbose=0)),
        **{f"w{i}": w for i, w in enumerate(model.get_weights())},
        **{f"opt{i}": np.asarray(v) for i, v in enumerate(model.optimizer.variables)},
    )


def _flat(prefix, value):
    if isinstance(value, dict):
        return {f"{prefix}__{k}": v for k, v in value.items()}
    return {prefix: value}


def _older_format(source, target):
    """Rewrites a config the way Keras 3.0-3.3 wrote it."""

    def rewrite(value):
        if isinstance(value, list):
            return [rewrite(v) for v in value]
        if not isinstance(value, dict):
            return value
        value = {k: rewrite(v) for k, v in value.items() if k != "build_config"}
        if value.get("class_name") == "DTypePolicy":
            return value["config"]["name"]
        if value.get("module") == "keras.initializers":
            value["module"] = "keras.src.initializers.random_initializers"
            value["registered_name"] = value["class_name"]
        return value

    with zipfile.ZipFile(source) as archive:
        config = json.loads(archive.read("config.json"))
        weights = archive.read("model.weights.h5")
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr("config.json", json.dumps(rewrite(config)))
        archive.writestr("model.weights.h5", weights)


def main():
    os.makedirs(HERE, exist_ok=True)
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 6)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, size=8)]
    _save(
        "functional_adam",
        functional(),
        x,
        y,
        keras.optimizers.Adam(0.01),
        "categorical_crossentropy",
    )
    _older_format(
        os.path.join(HERE, "functional_adam.keras"),
        os.path.join(HERE, "functional_adam_v3_0.keras"),
    )

    xs = rng.normal(size=(8, 5)).astype("float32")
    _save(
        "sequential_sgd",
        sequential(),
        xs,
        rng.normal(size=(8, 2)).astype("float32"),
        keras.optimizers.SGD(0.05, momentum=0.9),
        "mse",
    )

    xm = {
        "a": rng.normal(size=(8, 4)).astype("float32"),
        "b": rng.normal(size=(8, 2)).astype("float32"),
    }
    ym = {
        "left": rng.normal(size=(8, 3)).astype("float32"),
        "right": rng.normal(size=(8, 5)).astype("float32"),
    }
    _save(
        "multi_io_rmsprop",
        multi_io(),
        xm,
        ym,
        keras.optimizers.RMSprop(0.01),
        {"left": "mse", "right": "mae"},
    )

    sub = TwoLayer(4)
    sub(xs)
    _save(
        "subclassed_adamw",
        sub,
        xs,
        rng.normal(size=(8, 1)).astype("float32"),
        keras.optimizers.AdamW(0.01),
        "mse",
    )

    weights_only = sequential()
    weights_only.save_weights(os.path.join(HERE, "sequential.weights.h5"))
    np.savez(
        os.path.join(HERE, "sequential_weights.npz"),
        **{f"w{i}": w for i, w in enumerate(weights_only.get_weights())},
    )
    print("wrote", sorted(os.listdir(HERE)))


if __name__ == "__main__":
    main()
