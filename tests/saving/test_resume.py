"""Training resumes where it stopped: N steps, save, reload, one more step
gives what N+1 uninterrupted steps give (weights and optimizer state)."""

import numpy as np
import pytest

import kiln
from kiln import layers

STEPS = 3

OPTIMIZERS = {
    "adam": lambda: kiln.optimizers.Adam(0.01),
    "sgd_momentum": lambda: kiln.optimizers.SGD(0.05, momentum=0.9),
    "rmsprop": lambda: kiln.optimizers.RMSprop(0.01, momentum=0.5, centered=True),
    "adamw_with_schedule": lambda: kiln.optimizers.AdamW(
        kiln.optimizers.schedules.ExponentialDecay(0.02, decay_steps=2, decay_rate=0.5),
        weight_decay=0.05,
    ),
}


def _model(make_optimizer, initial_weights=None):
    model = kiln.Sequential(
        [kiln.Input((5,)), layers.Dense(8, activation="relu"), layers.Dense(2)]
    )
    if initial_weights is not None:
        model.set_weights(initial_weights)
    model.compile(optimizer=make_optimizer(), loss="mse")
    return model


def _fit(model, x, y, epochs):
    # One batch per epoch, in order: each epoch is exactly one step.
    model.fit(x, y, batch_size=len(x), epochs=epochs, shuffle=False, verbose=0)


def _assert_close(got, expected):
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        assert np.shape(a) == np.shape(b)
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    "optimizer, via",
    [(name, "keras_file") for name in sorted(OPTIMIZERS)] + [("adam", "weights_file")],
)
def test_resume_equals_an_uninterrupted_run(optimizer, via):
    make = OPTIMIZERS[optimizer]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 5)).astype("float32")
    y = rng.normal(size=(16, 2)).astype("float32")

    uninterrupted = _model(make)
    initial = uninterrupted.get_weights()
    _fit(uninterrupted, x, y, STEPS + 1)

    interrupted = _model(make, initial)
    _fit(interrupted, x, y, STEPS)
    if via == "keras_file":
        interrupted.save("checkpoint.keras")
        resumed = kiln.models.load_model("checkpoint.keras")
    else:
        interrupted.save_weights("checkpoint.weights.h5")
        resumed = _model(make)  # fresh weights, replaced by the file's
        resumed.optimizer.build(resumed.trainable_variables)
        resumed.load_weights("checkpoint.weights.h5")
    del interrupted
    _fit(resumed, x, y, 1)

    assert int(np.asarray(resumed.optimizer.iterations)) == STEPS + 1
    _assert_close(resumed.get_weights(), uninterrupted.get_weights())
    _assert_close(
        [v.value for v in resumed.optimizer.variables],
        [v.value for v in uninterrupted.optimizer.variables],
    )
