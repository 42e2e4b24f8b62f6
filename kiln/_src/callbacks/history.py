"""`History`: records each epoch's logs; returned by `fit()`."""

from __future__ import annotations

from typing import Any

from kiln._src.api_export import keras_export
from kiln._src.callbacks.callback import Callback


@keras_export("keras.callbacks.History")
class History(Callback):
    """Callback that records events into a `History` object.

    Every `fit()` uses one and returns it; it is also set as
    ``model.history``. ``history.history`` maps each logged quantity to the
    list of its per-epoch values, and ``history.epoch`` lists the epoch
    indices seen.

    Example:
        >>> history = model.fit(x, y, epochs=10, verbose=0)
        >>> history.params
        {'verbose': 0, 'epochs': 10, 'steps': 1}
        >>> history.history.keys()
        dict_keys(['loss'])
    """

    def __init__(self):
        super().__init__()
        self.history: dict[str, list[Any]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.epoch = []

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        # Set on every epoch so the model always points at the latest state.
        self.model.history = self
