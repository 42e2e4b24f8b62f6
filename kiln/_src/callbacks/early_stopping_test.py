"""`EarlyStopping` driven like `fit` drives it, side by side with real Keras."""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest

from kiln._src.callbacks.early_stopping import EarlyStopping


class TinyModel:
    """What EarlyStopping touches on a model: weights and `stop_training`."""

    def __init__(self, metrics=None):
        self.weights = [np.zeros((2, 2), "float32"), np.zeros((2,), "float32")]
        self.stop_training = False
        if metrics is not None:
            self.metrics = metrics

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [np.array(w) for w in weights]


def _fit(callback, losses, monitor="val_loss"):
    """Runs the epochs until the callback stops training; returns the outcome."""
    model = TinyModel()
    callback.set_model(model)
    callback.on_train_begin()
    epochs_run = 0
    for epoch, value in enumerate(losses):
        # Each epoch's weights are recognizable: every entry equals the epoch.
        model.weights = [np.full_like(w, epoch) for w in model.weights]
        callback.on_epoch_end(epoch, {"loss": 1.0, monitor: value})
        epochs_run += 1
        if model.stop_training:
            break
    callback.on_train_end()
    return {
        "epochs_run": epochs_run,
        "stopped_epoch": callback.stopped_epoch,
        "best": None if callback.best is None else float(callback.best),
        "best_epoch": callback.best_epoch,
        "wait": callback.wait,
        "weights": float(model.weights[0][0, 0]),
    }


CASES = {
    "patience_0": ({}, [1.0, 0.9, 0.95, 0.8]),
    "patience_2": ({"patience": 2}, [1.0, 0.9, 0.95, 0.94, 0.93, 0.5]),
    "min_delta": ({"patience": 1, "min_delta": 0.1}, [1.0, 0.95, 0.85, 0.84, 0.8]),
    "negative_min_delta_is_abs": ({"min_delta": -0.1}, [1.0, 0.95, 0.8, 0.9]),
    "mode_max": ({"mode": "max", "patience": 1}, [0.1, 0.5, 0.4, 0.45, 0.9]),
    "mode_max_min_delta": (
        {"mode": "max", "min_delta": 0.05, "patience": 1},
        [0.1, 0.2, 0.22, 0.24, 0.5],
    ),
    "baseline_never_beaten": ({"baseline": 0.5, "patience": 2}, [0.9, 0.8, 0.7, 0.6]),
    "baseline_beaten": ({"baseline": 0.5, "patience": 1}, [0.9, 0.4, 0.3, 0.35, 0.36]),
    "restore_best": (
        {"patience": 2, "restore_best_weights": True},
        [1.0, 0.5, 0.7, 0.8, 0.9],
    ),
    "restore_best_with_baseline": (
        {"patience": 2, "baseline": 0.1, "restore_best_weights": True},
        [1.0, 0.5, 0.7, 0.8],
    ),
    "restore_without_stop": (
        {"patience": 5, "restore_best_weights": True},
        [1.0, 0.5, 0.7],
    ),
    "start_from_epoch": (
        {"start_from_epoch": 2, "patience": 1},
        [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    ),
    "never_stops": ({"patience": 1}, [5.0, 4.0, 3.0, 2.0]),
    "unknown_mode_falls_back_to_auto": ({"mode": "sideways"}, [1.0, 2.0, 3.0]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_matches_keras(name):
    kwargs, losses = CASES[name]
    with warnings.catch_warnings(record=True) as ours_warned:
        warnings.simplefilter("always")
        ours = _fit(EarlyStopping(**kwargs), losses)
    with warnings.catch_warnings(record=True) as keras_warned:
        warnings.simplefilter("always")
        theirs = _fit(keras.callbacks.EarlyStopping(**kwargs), losses)
    assert ours == theirs
    assert [str(w.message) for w in ours_warned] == [
        str(w.message) for w in keras_warned
    ]


def test_hand_computed_patience_and_restore():
    callback = EarlyStopping(patience=1, restore_best_weights=True)
    outcome = _fit(callback, [1.0, 0.5, 0.6, 0.7, 0.1])
    # Best 0.5 at epoch 1; epochs 2 and 3 fail; wait reaches 2 >= 1 at epoch 2.
    assert outcome == {
        "epochs_run": 3,
        "stopped_epoch": 2,
        "best": 0.5,
        "best_epoch": 1,
        "wait": 1,
        "weights": 1.0,
    }


def test_verbose_messages(capsys):
    callback = EarlyStopping(patience=0, verbose=1, restore_best_weights=True)
    _fit(callback, [1.0, 0.5, 0.6])
    assert capsys.readouterr().out == (
        "Epoch 3: early stopping\n"
        "Restoring model weights from the end of the best epoch: 2.\n"
    )


def test_missing_metric_warns_and_is_skipped():
    callback = EarlyStopping(monitor="val_loss")
    callback.set_model(TinyModel())
    callback.on_train_begin()
    with pytest.warns(UserWarning, match="`val_loss` which is not available"):
        callback.on_epoch_end(0, {"loss": 1.0, "acc": 0.5})
    assert callback.best is None and callback.wait == 0


def test_reusable_across_fits():
    callback = EarlyStopping(monitor="loss", patience=0)
    first = _fit(callback, [1.0, 2.0], monitor="loss")
    second = _fit(callback, [3.0, 2.0, 4.0], monitor="loss")
    assert first["stopped_epoch"] == 1
    assert second["stopped_epoch"] == 2 and second["best"] == 2.0


class _Metric:
    def __init__(self, name, direction):
        self.name = name
        self._direction = direction


class _CompiledMetrics:
    """A container of metrics, as compiled metrics are exposed."""

    def __init__(self, metrics):
        self.name = "compile_metrics"
        self.metrics = metrics


@pytest.mark.parametrize(
    "monitor, metrics, expected_max",
    [
        pytest.param("val_loss", [], False, id="val_loss"),
        pytest.param("loss", [], False, id="loss"),
        pytest.param(
            "val_accuracy",
            [_CompiledMetrics([_Metric("accuracy", "up")])],
            True,
            id="accuracy_up",
        ),
        pytest.param("auc", [_Metric("auc", "up")], True, id="top_level_metric"),
        pytest.param(
            "val_mae", [_CompiledMetrics([_Metric("mae", "down")])], False, id="down"
        ),
    ],
)
def test_auto_mode_direction(monitor, metrics, expected_max):
    callback = EarlyStopping(monitor=monitor, min_delta=0.1)
    callback.set_model(TinyModel(metrics))
    callback._set_monitor_op()
    assert callback._is_improvement(2.0, 1.0) is expected_max
    # min_delta is subtracted in max mode, added in min mode.
    assert callback.min_delta == (0.1 if expected_max else -0.1)


def test_auto_mode_accuracy_direction_matches_keras():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse", metrics=["accuracy"])
    model.fit(np.ones((2, 2)), np.ones((2, 1)), verbose=0)
    keras_callback = keras.callbacks.EarlyStopping(monitor="val_accuracy")
    keras_callback.set_model(model)
    keras_callback._set_monitor_op()
    assert bool(keras_callback._is_improvement(2.0, 1.0))

    callback = EarlyStopping(monitor="val_accuracy")
    callback.set_model(TinyModel([_CompiledMetrics([_Metric("accuracy", "up")])]))
    callback._set_monitor_op()
    assert callback._is_improvement(2.0, 1.0)


def test_auto_mode_unknown_direction_raises():
    callback = EarlyStopping(monitor="val_thing")
    callback.set_model(TinyModel())
    with pytest.raises(ValueError, match="monitor=val_thing.*mode='max'"):
        callback.on_epoch_end(0, {"val_thing": 1.0})
    keras_callback = keras.callbacks.EarlyStopping(monitor="val_thing")
    keras_callback.set_model(TinyModel())
    with pytest.raises(ValueError, match="monitor=val_thing"):
        keras_callback.on_epoch_end(0, {"val_thing": 1.0})


def test_unknown_mode_warns():
    with pytest.warns(UserWarning, match="mode 'sideways' is unknown"):
        callback = EarlyStopping(mode="sideways")
    assert callback.mode == "auto"
