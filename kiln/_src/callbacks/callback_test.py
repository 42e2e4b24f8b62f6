"""`Callback` defaults and `CallbackList` dispatch."""

from __future__ import annotations

import jax.numpy as jnp
import keras
import numpy as np
import pytest

from kiln._src.callbacks.callback import Callback
from kiln._src.callbacks.callback_list import CallbackList, pythonify_logs
from kiln._src.callbacks.history import History
from kiln._src.callbacks.progbar_logger import ProgbarLogger

HOOKS_WITH_INDEX = [
    "on_epoch_begin",
    "on_epoch_end",
    "on_batch_begin",
    "on_batch_end",
    "on_train_batch_begin",
    "on_train_batch_end",
    "on_test_batch_begin",
    "on_test_batch_end",
    "on_predict_batch_begin",
    "on_predict_batch_end",
]
HOOKS_WITHOUT_INDEX = [
    "on_train_begin",
    "on_train_end",
    "on_test_begin",
    "on_test_end",
    "on_predict_begin",
    "on_predict_end",
]


class Recorder(Callback):
    """Records every hook call with its arguments."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def __getattribute__(self, name):
        if name in HOOKS_WITH_INDEX + HOOKS_WITHOUT_INDEX:
            calls = object.__getattribute__(self, "calls")

            def record(*args, **kwargs):
                calls.append((name, args, kwargs))

            return record
        return object.__getattribute__(self, name)


class Model:
    stop_training = False


def test_base_hooks_do_nothing_and_batch_hooks_forward():
    forwarded = []

    class Legacy(Callback):
        def on_batch_begin(self, batch, logs=None):
            forwarded.append(("begin", batch, logs))

        def on_batch_end(self, batch, logs=None):
            forwarded.append(("end", batch, logs))

    callback = Legacy()
    callback.on_train_batch_begin(3, {"a": 1})
    callback.on_train_batch_end(3, logs={"loss": 0.5})
    callback.on_test_batch_end(3, {"loss": 0.5})  # Not forwarded.
    assert forwarded == [("begin", 3, {"a": 1}), ("end", 3, {"loss": 0.5})]

    base = Callback()
    assert base.model is None and base.params is None
    for hook in HOOKS_WITH_INDEX:
        assert getattr(base, hook)(0, {}) is None
    for hook in HOOKS_WITHOUT_INDEX:
        assert getattr(base, hook)({}) is None
    model = Model()
    base.set_model(model)
    base.set_params({"epochs": 2})
    assert base.model is model and base.params == {"epochs": 2}


def test_model_state_is_synced_before_use():
    class Synced:
        syncs = 0

        def jax_state_sync(self):
            self.syncs += 1

    callback = Callback()
    model = Synced()
    callback.set_model(model)
    assert callback.model is model
    assert model.syncs == 1


def test_dispatches_every_hook_in_order_with_clean_logs():
    first, second = Recorder(), Recorder()
    callbacks = CallbackList([first, [second]])  # Nested lists are flattened.
    logs = {"loss": np.float32(0.5), "acc": jnp.asarray(0.25)}
    callbacks.on_train_begin(logs)
    callbacks.on_epoch_begin(0)
    callbacks.on_train_batch_begin(0)
    callbacks.on_train_batch_end(0, logs)
    callbacks.on_epoch_end(0, logs)
    callbacks.on_train_end()
    clean = {"acc": 0.25, "loss": 0.5}
    expected = [
        ("on_train_begin", (clean,), {}),
        ("on_epoch_begin", (0, {}), {}),
        ("on_train_batch_begin", (0,), {"logs": {}}),
        ("on_train_batch_end", (0,), {"logs": clean}),
        ("on_epoch_end", (0, clean), {}),
        ("on_train_end", ({},), {}),
    ]
    assert first.calls == expected and second.calls == expected
    assert list(first.calls[3][2]["logs"]) == ["acc", "loss"]  # Sorted keys.
    assert all(type(v) is float for v in first.calls[3][2]["logs"].values())


@pytest.mark.parametrize("hook", HOOKS_WITH_INDEX)
def test_index_hooks(hook):
    recorder = Recorder()
    getattr(CallbackList([recorder]), hook)(7, {"x": 1})
    ((name, args, kwargs),) = recorder.calls
    assert name == hook and args[0] == 7
    assert {**dict(enumerate(args[1:])), **kwargs} in (
        {0: {"x": 1.0}},
        {"logs": {"x": 1.0}},
    )


@pytest.mark.parametrize("run", ["train", "test", "predict"])
def test_begin_end_pairs(run):
    recorder = Recorder()
    callbacks = CallbackList([recorder])
    getattr(callbacks, f"on_{run}_begin")()
    getattr(callbacks, f"on_{run}_end")({"loss": 1})
    assert [c[0] for c in recorder.calls] == [f"on_{run}_begin", f"on_{run}_end"]
    with pytest.raises(ValueError, match="without corresponding"):
        getattr(callbacks, f"on_{run}_end")()


def test_pythonify_logs_matches_keras():
    from keras.src.utils.python_utils import pythonify_logs as keras_pythonify

    logs = {
        "z": np.float64(1.5),
        "nested": {"val_loss": jnp.asarray(0.25), "b": 2},
        "name": "text",
        "vector": np.array([1.0, 2.0]),
        "a": None,
    }
    ours, theirs = pythonify_logs(logs), keras_pythonify(logs)
    assert list(ours) == list(theirs)
    for key in ours:
        if isinstance(theirs[key], np.ndarray):
            np.testing.assert_array_equal(ours[key], theirs[key])
        else:
            assert ours[key] == theirs[key] and type(ours[key]) is type(theirs[key])
    assert pythonify_logs(None) == {}


def test_params_model_and_default_callbacks():
    history, recorder, model = History(), Recorder(), Model()
    callbacks = CallbackList(
        [recorder, history],
        add_history=True,
        add_progbar=True,
        model=model,
        verbose=1,
        epochs=2,
        steps=3,
    )
    assert callbacks.callbacks[:2] == [recorder, history]  # No second History.
    assert isinstance(callbacks.callbacks[2], ProgbarLogger)
    assert len(callbacks.callbacks) == 3
    assert model.history is history
    assert history.model is model and history.params == {
        "verbose": 1,
        "epochs": 2,
        "steps": 3,
    }
    assert callbacks.callbacks[2].target == 3

    # Without params, the callbacks' own params are left alone.
    bare = History()
    CallbackList([bare], model=model)
    assert bare.params is None and bare.model is model
    # Without a model, nothing is set.
    assert CallbackList([History()]).model is None


def test_add_history_matches_keras():
    ours = CallbackList(add_history=True, add_progbar=True, model=Model())
    theirs = keras.callbacks.CallbackList(
        add_history=True, add_progbar=True, model=Model()
    )
    assert [type(c).__name__ for c in ours.callbacks] == [
        type(c).__name__ for c in theirs.callbacks
    ]
