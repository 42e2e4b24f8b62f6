"""Masks end to end against Keras: padding flows from `Embedding(mask_zero=True)`
through an LSTM to the loss, and one `fit` step from the same weights gives the
same loss and the same updated weights. (The wrappers' masked outputs are
checked against Keras in bidirectional_test.py and time_distributed_test.py.)"""

import numpy as np

X = np.array([[1, 2, 3, 0, 0], [0, 4, 5, 6, 1], [3, 0, 2, 0, 5]], "int32")
Y = np.random.default_rng(1).normal(size=(3, 5, 2)).astype("float32")


def _model(lib):
    inputs = lib.Input((5,), dtype="int32")
    x = lib.layers.Embedding(7, 3, mask_zero=True)(inputs)
    x = lib.layers.LSTM(4, return_sequences=True)(x)
    outputs = lib.layers.Dense(2)(x)
    model = lib.Model(inputs, outputs)
    model.compile(loss="mse", optimizer=lib.optimizers.SGD(0.1))
    return model


def test_one_masked_fit_step_matches_keras():
    import keras

    import kiln

    kiln_model, keras_model = _model(kiln), _model(keras)
    kiln_model.set_weights(keras_model.get_weights())
    np.testing.assert_allclose(
        kiln_model.predict(X, verbose=0),
        keras_model.predict(X, verbose=0),
        atol=1e-5,
    )
    kiln_loss = kiln_model.fit(X, Y, batch_size=3, verbose=0).history["loss"]
    keras_loss = keras_model.fit(X, Y, batch_size=3, verbose=0).history["loss"]
    np.testing.assert_allclose(kiln_loss, keras_loss, rtol=1e-5)
    for a, b in zip(kiln_model.get_weights(), keras_model.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)
    # Padding does not count: a target wrong only at padding steps costs 0.
    prediction = kiln_model.predict(X, verbose=0)
    wrong_at_padding = np.where((X == 0)[..., None], prediction + 100.0, prediction)
    assert kiln_model.evaluate(X, wrong_at_padding, verbose=0) < 1e-6
