"""`MonitorCallback`: shared logic of callbacks that watch one logged quantity."""

from __future__ import annotations

import operator
import warnings
from typing import Any

from kiln._src.callbacks.callback import Callback


def _model_metrics(model: Any) -> list[Any]:
    """The model's metrics, with metric containers (compile metrics) opened."""
    found = []
    for metric in getattr(model, "metrics", None) or []:
        children = getattr(metric, "metrics", None)
        if isinstance(children, list | tuple):
            found.extend(children)
        else:
            found.append(metric)
    return found


class MonitorCallback(Callback):
    """Base of callbacks that compare a monitored value with its best so far.

    Args:
        monitor: Quantity to be monitored. Defaults to `"val_loss"`.
        mode: One of `{"auto", "min", "max"}`. In `"auto"` mode the direction
            comes from the name: a loss is minimized; any other metric takes
            the direction its metric object declares (``_direction`` of
            ``"up"`` or ``"down"``) among ``model.metrics``.
        baseline: Initial "best" value; None uses the first monitored value.
        min_delta: Minimum change in the monitored quantity to count as an
            improvement.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        mode: str = "auto",
        baseline: float | None = None,
        min_delta: float = 0,
    ):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(
                f"{self.__class__.__name__} mode '{mode}' is unknown, fallback to "
                "auto mode.",
                stacklevel=2,
            )
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.best = baseline
        self.min_delta = abs(min_delta)
        self.monitor_op: Any = None

    def _set_monitor_op(self) -> None:
        if self.mode == "min":
            self.monitor_op = operator.lt
        elif self.mode == "max":
            self.monitor_op = operator.gt
        else:
            metric_name = self.monitor.removeprefix("val_")
            if metric_name == "loss":
                self.monitor_op = operator.lt
            for metric in _model_metrics(self.model):
                direction = getattr(metric, "_direction", None)
                if getattr(metric, "name", None) == metric_name and direction:
                    self.monitor_op = operator.gt if direction == "up" else operator.lt
            if self.monitor_op is None:
                raise ValueError(
                    f"{self.__class__.__name__} callback received "
                    f"monitor={self.monitor}, but Keras isn't able to "
                    "automatically determine whether that metric should be "
                    "maximized or minimized. Pass `mode='max'` in order to "
                    "monitor based on the highest metric value, or pass "
                    "`mode='min'` in order to use the lowest value."
                )
        if self.monitor_op is operator.lt:
            self.min_delta *= -1

    def _is_improvement(self, monitor_value: Any, reference_value: Any) -> bool:
        if reference_value is None:
            return True
        return bool(self.monitor_op(monitor_value - self.min_delta, reference_value))
