import numpy as np
import pytest

import kiln as keras


def _mlp(seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(4,))
    x = keras.layers.Dense(16, activation="relu")(inputs)
    outputs = keras.layers.Dense(1)(keras.layers.Dropout(0.1)(x))
    return keras.Model(inputs, outputs)


def _linear_data(n=256, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5], [3.0]], "float32") + 0.25
    return x, y


def test_fit_learns_a_linear_map():
    x, y = _linear_data()
    model = _mlp()
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    history = model.fit(x, y, epochs=40, batch_size=32, verbose=0)
    assert set(history.history) == {"loss", "mae"}
    assert len(history.history["loss"]) == 40
    assert history.history["loss"][-1] < 0.05 * history.history["loss"][0]
    assert model.evaluate(x, y, verbose=0)[0] < 0.1


def test_validation_split_and_data_add_val_logs():
    x, y = _linear_data(100)
    model = _mlp()
    model.compile(optimizer="adam", loss="mean_squared_error", metrics=["mae"])
    history = model.fit(x, y, epochs=2, validation_split=0.2, verbose=0)
    assert set(history.history) == {"loss", "mae", "val_loss", "val_mae"}
    history = model.fit(x, y, epochs=1, validation_data=(x[:10], y[:10]), verbose=0)
    assert "val_loss" in history.history


def test_step_is_traced_once_per_input_shape():
    x, y = _linear_data(64)
    model = _mlp()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, batch_size=16, epochs=3, verbose=0)
    train_functions = [f for key, f in model._step_cache.items() if key[0] == "train"]
    assert len(train_functions) == 1
    assert train_functions[0]._cache_size() == 1
    model.fit(x[:40], y[:40], batch_size=16, epochs=1, verbose=0)  # last batch of 8
    assert train_functions[0]._cache_size() == 2


def test_same_seed_gives_same_training_run():
    x, y = _linear_data(64)
    results = []
    for _ in range(2):
        model = _mlp(seed=7)
        model.compile(optimizer="adam", loss="mse")
        model.fit(x, y, epochs=2, verbose=0)
        results.append(model.get_weights())
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_predict_evaluate_and_on_batch_functions():
    x, y = _linear_data(10)
    model = _mlp()
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    assert model.predict(x, batch_size=4, verbose=0).shape == (10, 1)
    np.testing.assert_allclose(
        model.predict_on_batch(x), model.predict(x, verbose=0), rtol=1e-6
    )
    loss, mae = model.test_on_batch(x, y)
    assert loss >= 0 and mae >= 0
    before = model.get_weights()[0].copy()
    model.train_on_batch(x, y)
    assert not np.array_equal(before, model.get_weights()[0])
    assert set(model.evaluate(x, y, verbose=0, return_dict=True)) == {"loss", "mae"}


def test_generator_input_and_multiple_outputs_with_loss_weights():
    a = keras.Input((3,), name="a")
    h = keras.layers.Dense(8)(a)
    model = keras.Model(
        a, [keras.layers.Dense(1, name="o1")(h), keras.layers.Dense(2, name="o2")(h)]
    )
    model.compile(optimizer="sgd", loss=["mse", "mae"], loss_weights=[1.0, 0.5])

    def batches():
        for _ in range(3):
            yield np.ones((4, 3)), [np.zeros((4, 1)), np.zeros((4, 2))]

    history = model.fit(batches(), epochs=1, verbose=0)
    assert len(history.history["loss"]) == 1


def test_callbacks_run_and_early_stopping_stops():
    x, y = _linear_data(32)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")  # loss stays put
    seen = []
    callbacks = [
        keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: seen.append(epoch)
        ),
        keras.callbacks.EarlyStopping(monitor="loss", patience=1),
    ]
    model.fit(x, y, epochs=10, callbacks=callbacks, shuffle=False, verbose=0)
    assert seen == [0, 1]


def test_regularization_losses_join_the_training_loss():
    x = np.ones((8, 2), "float32")
    y = np.zeros((8, 1), "float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(
                1,
                kernel_initializer="ones",
                bias_initializer="zeros",
                kernel_regularizer=keras.regularizers.L2(0.1),
            ),
        ]
    )
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
    loss = model.evaluate(x, y, verbose=0)
    # prediction 2 -> mse 4; plus 0.1 * (1 + 1)
    np.testing.assert_allclose(loss, 4.2, rtol=1e-6)


def test_errors_for_uncompiled_and_bad_data():
    model = _mlp()
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(np.ones((2, 4)), np.ones((2, 1)), verbose=0)
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="same number of samples"):
        model.fit(np.ones((4, 4)), np.ones((3, 1)), verbose=0)
    with pytest.raises(
        ValueError, match="Unknown loss|not a valid|Could not interpret"
    ):
        model.compile(optimizer="sgd", loss="no_such_loss")


def test_single_output_accepts_one_element_loss_and_weight_lists():
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(1, kernel_initializer="zeros")]
    )
    model.compile(optimizer="sgd", loss=["mse"], loss_weights=[0.5])
    # prediction 0, target 1: mse 1, weighted by 0.5
    np.testing.assert_allclose(
        model.evaluate(np.ones((2, 3)), np.ones((2, 1)), verbose=0), 0.5
    )


def test_weights_stay_readable_during_fit_despite_donated_buffers():
    x, y = _linear_data(64)
    model = _mlp()
    model.compile(optimizer="adam", loss="mse")
    seen = []
    reader = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: seen.append(model.get_weights()[0].sum())
    )
    model.fit(x, y, batch_size=16, epochs=2, callbacks=[reader], verbose=0)
    model.train_on_batch(x[:4], y[:4])
    assert len(seen) == 8 and all(np.isfinite(seen))
    assert np.isfinite(model.get_weights()[0]).all()
