"""`CallbackList`: calls each hook on every callback of a list."""

from __future__ import annotations

from typing import Any

import numpy as np

from kiln._src.api_export import keras_export
from kiln._src.callbacks.callback import Callback
from kiln._src.callbacks.history import History
from kiln._src.callbacks.progbar_logger import ProgbarLogger


def _flatten(callbacks: Any) -> list[Any]:
    if isinstance(callbacks, list | tuple):
        flat: list[Any] = []
        for item in callbacks:
            flat.extend(_flatten(item))
        return flat
    return [callbacks]


def pythonify_logs(logs: dict[str, Any] | None) -> dict[str, Any]:
    """Flattens nested dicts and turns values into Python floats where possible.

    Keys come out sorted (nested dicts are merged in at their sorted place), as
    in Keras, so every callback sees the same, stable order.
    """
    result: dict[str, Any] = {}
    for key, value in sorted((logs or {}).items()):
        if isinstance(value, dict):
            result.update(pythonify_logs(value))
            continue
        try:
            if isinstance(value, str | bytes | int | float):
                value = float(value)
            else:
                value = float(np.asarray(value))
        except Exception:  # Not a number: passed on unchanged.
            pass
        result[key] = value
    return result


_ALIASES = {
    "on_train_batch_begin": "on_batch_begin",
    "on_train_batch_end": "on_batch_end",
}


def _overrides(callback: Any, hook: str) -> bool:
    """Whether `callback` does something in `hook` (directly, through the
    on_batch_* alias, or through a function set on the instance)."""
    if type(callback).__getattribute__ is not object.__getattribute__:
        return True  # dynamic attributes: assume it listens
    for name in (hook, _ALIASES.get(hook)):
        if name is None:
            continue
        if name in vars(callback):
            return True
        if getattr(type(callback), name, None) is not getattr(Callback, name):
            return True
    return False


@keras_export("keras.callbacks.CallbackList")
class CallbackList(Callback):
    """Container abstracting a list of callbacks.

    Calling one of its `on_*` methods calls it on every callback, in order,
    with the logs flattened and converted to Python floats.

    Args:
        callbacks: List of `Callback` instances (nested lists are flattened).
        add_history: Whether to add a `History` callback if the list has none.
        add_progbar: Whether to add a `ProgbarLogger` callback if the list has
            none.
        model: The `Model` these callbacks are used with.
        **params: If given, passed to each callback via `set_params` (e.g.
            ``verbose=1, epochs=3, steps=10``).

    Example:
        >>> callbacks = CallbackList([History()], model=model, epochs=1)
        >>> callbacks.on_train_begin()
        >>> callbacks.on_epoch_begin(0)
        >>> callbacks.on_epoch_end(0, {"loss": 0.5})
        >>> callbacks.on_train_end()
    """

    def __init__(
        self,
        callbacks: Any = None,
        add_history: bool = False,
        add_progbar: bool = False,
        model: Any = None,
        **params: Any,
    ):
        super().__init__()
        self.callbacks: list[Any] = _flatten(callbacks) if callbacks else []
        self._in_begin_end_block_count = 0
        self._batch_listeners: dict[str, list[Any]] = {}
        self._add_default_callbacks(add_history, add_progbar)
        self.set_model(model)
        self.set_params(params)

    def _add_default_callbacks(self, add_history: bool, add_progbar: bool) -> None:
        self._history: History | None = None
        self._progbar: ProgbarLogger | None = None
        for callback in self.callbacks:
            if isinstance(callback, ProgbarLogger):
                self._progbar = callback
            elif isinstance(callback, History):
                self._history = callback
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)
        if self._progbar is None and add_progbar:
            self._progbar = ProgbarLogger()
            self.callbacks.append(self._progbar)

    def set_params(self, params: dict[str, Any] | None) -> None:
        self.params = params
        if params:
            for callback in self.callbacks:
                callback.set_params(params)

    def set_model(self, model: Any) -> None:
        if model is None:
            return
        super().set_model(model)
        if self._history is not None:
            model.history = self._history
        for callback in self.callbacks:
            callback.set_model(model)

    def _dispatch(self, hook: str, *args: Any, logs: Any = None) -> None:
        # Epoch and begin/end hooks get `logs` positionally, batch hooks by
        # keyword (user functions in a LambdaCallback may name it differently).
        logs = pythonify_logs(logs)
        for callback in self.callbacks:
            getattr(callback, hook)(*args, logs)

    def _dispatch_batch(self, hook: str, batch: int, logs: Any) -> None:
        # Only callbacks that override a batch hook are called, and the logs
        # are converted only for them: converting makes Python wait for the
        # step to finish, which would stop the trainer from queueing the next.
        listeners = self._batch_listeners.get(hook)
        if listeners is None:
            listeners = [
                callback for callback in self.callbacks if _overrides(callback, hook)
            ]
            self._batch_listeners[hook] = listeners
        if not listeners:
            return
        logs = pythonify_logs(logs)
        for callback in listeners:
            getattr(callback, hook)(batch, logs=logs)

    def _on_begin(self) -> None:
        self._in_begin_end_block_count += 1

    def _on_end(self) -> None:
        self._in_begin_end_block_count -= 1
        if self._in_begin_end_block_count < 0:
            raise ValueError(
                "`on_xxx_end` called without corresponding `on_xxx_begin`: call "
                "`on_train_begin` / `on_test_begin` / `on_predict_begin` before "
                "the matching `*_end` hook."
            )

    # -- epochs and batches -----------------------------------------------------
    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._dispatch("on_epoch_begin", epoch, logs=logs)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._dispatch("on_epoch_end", epoch, logs=logs)

    def on_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._dispatch_batch("on_batch_begin", batch, logs)

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._dispatch_batch("on_batch_end", batch, logs)

    def on_train_batch_begin(
        self, batch: int, logs: dict[str, Any] | None = None
    ) -> None:
        self._dispatch_batch("on_train_batch_begin", batch, logs)

    def on_train_batch_end(
        self, batch: int, logs: dict[str, Any] | None = None
    ) -> None:
        self._dispatch_batch("on_train_batch_end", batch, logs)

    def on_test_batch_begin(
        self, batch: int, logs: dict[str, Any] | None = None
    ) -> None:
        self._dispatch_batch("on_test_batch_begin", batch, logs)

    def on_test_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._dispatch_batch("on_test_batch_end", batch, logs)

    def on_predict_batch_begin(
        self, batch: int, logs: dict[str, Any] | None = None
    ) -> None:
        self._dispatch_batch("on_predict_batch_begin", batch, logs)

    def on_predict_batch_end(
        self, batch: int, logs: dict[str, Any] | None = None
    ) -> None:
        self._dispatch_batch("on_predict_batch_end", batch, logs)

    # -- whole runs ----------------------------------------------------------------
    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._on_begin()
        self._dispatch("on_train_begin", logs=logs)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._dispatch("on_train_end", logs=logs)
        self._on_end()

    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._on_begin()
        self._dispatch("on_test_begin", logs=logs)

    def on_test_end(self, logs: dict[str, Any] | None = None) -> None:
        self._dispatch("on_test_end", logs=logs)
        self._on_end()

    def on_predict_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._on_begin()
        self._dispatch("on_predict_begin", logs=logs)

    def on_predict_end(self, logs: dict[str, Any] | None = None) -> None:
        self._dispatch("on_predict_end", logs=logs)
        self._on_end()
