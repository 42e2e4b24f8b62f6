"""Training continues on the same trajectory across libraries.

A model compiled and trained in one library is saved, loaded in the other and
trained one more step; the weights must equal what the first library gets for
that step (and the reverse).
"""

import keras
import numpy as np
import pytest

import kiln

OPTIMIZERS = {
    "sgd_momentum": lambda lib: lib.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
    "adam": lambda lib: lib.optimizers.Adam(0.01),
    "adam_amsgrad": lambda lib: lib.optimizers.Adam(0.01, amsgrad=True),
    "adamw": lambda lib: lib.optimizers.AdamW(0.01, weight_decay=0.1),
    "rmsprop": lambda lib: lib.optimizers.RMSprop(0.01, momentum=0.5, centered=True),
    "adagrad": lambda lib: lib.optimizers.Adagrad(0.05),
    "sgd_clipnorm": lambda lib: lib.optimizers.SGD(0.05, clipnorm=0.1),
}


def _model(lib):
    inputs = lib.Input((5,), name="x")
    hidden = lib.layers.Dense(8, activation="tanh", name="hidden")(inputs)
    outputs = lib.layers.Dense(2, name="out")(hidden)
    return lib.Model(inputs, outputs, name="net")


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 5)).astype("float32")
    y = rng.normal(size=(32, 2)).astype("float32")
    return x, y


def _compile(model, lib, name):
    model.compile(optimizer=OPTIMIZERS[name](lib), loss="mse", metrics=["mae"])


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("direction", ["keras_to_kiln", "kiln_to_keras"])
def test_resumed_training_follows_the_writer(tmp_path, name, direction):
    writer, reader = (keras, kiln) if direction == "keras_to_kiln" else (kiln, keras)
    x, y = _data()
    initial = [w.copy() for w in _model(keras).get_weights()]

    model = _model(writer)
    model.set_weights(initial)
    _compile(model, writer, name)
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    path = str(tmp_path / "trained.keras")
    model.save(path)

    # The writer goes on for one more step...
    model.train_on_batch(x[:8], y[:8])
    expected = model.get_weights()
    expected_optimizer = [np.asarray(v) for v in model.optimizer.variables]

    # ...and so does the reader, from the file.
    loaded = reader.models.load_model(path)
    loaded.train_on_batch(x[:8], y[:8])
    for got, want in zip(loaded.get_weights(), expected):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    got_optimizer = [np.asarray(v) for v in loaded.optimizer.variables]
    assert len(got_optimizer) == len(expected_optimizer)
    for got, want in zip(got_optimizer, expected_optimizer):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
