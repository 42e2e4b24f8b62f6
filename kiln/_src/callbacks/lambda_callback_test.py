"""`LambdaCallback`: the given functions run at their hooks."""

from __future__ import annotations

import keras

from kiln._src.callbacks.callback_list import CallbackList
from kiln._src.callbacks.lambda_callback import LambdaCallback


def _run(callback_cls, list_cls):
    calls = []
    callback = callback_cls(
        on_epoch_begin=lambda epoch, logs: calls.append(("epoch_begin", epoch, logs)),
        on_epoch_end=lambda e, l: calls.append(("epoch_end", e, l)),  # noqa: E741
        on_train_begin=lambda logs: calls.append(("train_begin", logs)),
        on_train_end=lambda logs: calls.append(("train_end", logs)),
        on_train_batch_begin=lambda batch, logs: calls.append(("batch_begin", batch)),
        on_train_batch_end=lambda batch, logs: calls.append(("batch_end", batch, logs)),
        on_test_end=lambda logs: calls.append(("test_end", logs)),
    )
    callbacks = list_cls([callback])
    callbacks.on_train_begin()
    callbacks.on_epoch_begin(0)
    callbacks.on_train_batch_begin(0)
    callbacks.on_train_batch_end(0, {"loss": 2})
    callbacks.on_epoch_end(0, {"loss": 2})
    callbacks.on_train_end({"loss": 2})
    callbacks.on_test_begin()
    callbacks.on_test_end({"loss": 3})
    callbacks.on_predict_begin()  # Not overridden: the default does nothing.
    callbacks.on_predict_end()
    return calls


def test_calls():
    assert _run(LambdaCallback, CallbackList) == [
        ("train_begin", {}),
        ("epoch_begin", 0, {}),
        ("batch_begin", 0),
        ("batch_end", 0, {"loss": 2.0}),
        ("epoch_end", 0, {"loss": 2.0}),
        ("train_end", {"loss": 2.0}),
        ("test_end", {"loss": 3.0}),
    ]


def test_matches_keras():
    assert _run(LambdaCallback, CallbackList) == _run(
        keras.callbacks.LambdaCallback, keras.callbacks.CallbackList
    )


def test_unset_hooks_are_the_defaults():
    callback = LambdaCallback(on_epoch_end=print)
    assert callback.on_epoch_end is print
    assert callback.on_epoch_begin(0) is None
    assert callback.on_train_batch_end(0, {"loss": 1.0}) is None
