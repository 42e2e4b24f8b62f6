"""`History`: per-epoch logs, compared with Keras's History."""

from __future__ import annotations

import keras
import numpy as np

from kiln._src.callbacks.callback_list import CallbackList
from kiln._src.callbacks.history import History


class Model:
    stop_training = False


EPOCH_LOGS = [
    {"loss": np.float32(0.5), "val": {"val_loss": 0.75}},
    {"loss": np.float32(0.25), "val": {"val_loss": 0.5}, "mae": 0.1},
    {"loss": 0.125, "val": {"val_loss": 0.25}},
]


def _drive(callback_list_cls, **kwargs):
    model = Model()
    callbacks = callback_list_cls(add_history=True, model=model, **kwargs)
    callbacks.on_train_begin()
    for epoch, logs in enumerate(EPOCH_LOGS):
        callbacks.on_epoch_begin(epoch)
        callbacks.on_epoch_end(epoch, logs)
    callbacks.on_train_end()
    return model, model.history


def test_history_contents():
    model, history = _drive(CallbackList, verbose=0, epochs=3, steps=1)
    assert isinstance(history, History)
    assert history.epoch == [0, 1, 2]
    # The first epoch without `mae` leaves it out of line with `loss`.
    assert history.history == {
        "loss": [0.5, 0.25, 0.125],
        "val_loss": [0.75, 0.5, 0.25],
        "mae": [0.1],
    }
    assert history.params == {"verbose": 0, "epochs": 3, "steps": 1}
    assert history.model is model


def test_matches_keras():
    _, ours = _drive(CallbackList, verbose=0, epochs=3, steps=1)
    _, theirs = _drive(keras.callbacks.CallbackList, verbose=0, epochs=3, steps=1)
    assert ours.history == theirs.history
    assert ours.epoch == theirs.epoch
    assert ours.params == theirs.params


def test_new_fit_restarts_epochs_but_keeps_history():
    history = History()
    history.set_model(Model())
    for _ in range(2):
        history.on_train_begin()
        history.on_epoch_end(0, {"loss": 1.0})
    assert history.epoch == [0]
    assert history.history == {"loss": [1.0, 1.0]}
