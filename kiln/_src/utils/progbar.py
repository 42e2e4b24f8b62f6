"""`Progbar`: the progress bar printed by `fit`, `evaluate` and `predict`.

The output is byte-for-byte the text Keras 3 writes (ANSI bold/green/white
escapes included, redrawn in place with ``\\b``/``\\r`` on POSIX and notebook
displays), except for the measured times.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Iterable
from typing import Any

import numpy as np

from kiln._src.api_export import keras_export

_BOLD = "\x1b[1m"
_GREEN = "\x1b[32m"
_WHITE = "\x1b[37m"
_RESET = "\x1b[0m"
_BAR_CHAR = "━"


def print_msg(message: Any, line_break: bool = True) -> None:
    """Writes `message` to the current ``sys.stdout`` and flushes it.

    ``sys.stdout`` is looked up at every call, so redirecting it (pytest's
    ``capsys``, ``contextlib.redirect_stdout``) captures the output.
    """
    message = str(message)
    if line_break:
        message += "\n"
    stream = sys.stdout
    try:
        stream.write(message)
    except UnicodeEncodeError:
        # A non-UTF-8 console: fall back to ASCII bars, drop what cannot show.
        encoding = getattr(stream, "encoding", None) or "utf-8"
        message = message.replace(_BAR_CHAR, "=")
        stream.write(message.encode(encoding, errors="ignore").decode(encoding))
    stream.flush()


def _dynamic_display() -> bool:
    """Whether the bar can be redrawn in place (as Keras decides it)."""
    return (
        (hasattr(sys.stdout, "isatty") and sys.stdout.isatty())
        or "ipykernel" in sys.modules
        or os.name == "posix"
        or "PYCHARM_HOSTED" in os.environ
    )


def _format_eta(eta: float) -> str:
    if eta > 3600:
        return f"{int(eta // 3600)}:{int((eta % 3600) // 60):02d}:{int(eta % 60):02d}"
    if eta > 60:
        return f"{int(eta // 60)}:{int(eta % 60):02d}"
    return f"{int(eta)}s"


def _format_time(time_per_unit: float, unit_name: str) -> str:
    """``" 8ms/step"``: seconds, milliseconds or microseconds per unit."""
    if time_per_unit >= 1 or time_per_unit == 0:
        return f" {time_per_unit:.0f}s/{unit_name}"
    if time_per_unit >= 1e-3:
        return f" {time_per_unit * 1e3:.0f}ms/{unit_name}"
    return f" {time_per_unit * 1e6:.0f}us/{unit_name}"


def _mean_value(entry: list[Any]) -> float:
    total, count = entry
    if not isinstance(total, float):
        total = np.mean(total)
    return total / max(1, count)


@keras_export("keras.utils.Progbar")
class Progbar:
    """Displays a progress bar.

    If neither `stateful_metrics` nor `stateless_metrics` is given, every
    metric is averaged over the steps before it is displayed.

    Args:
        target: Total number of steps expected, None if unknown.
        width: Progress bar width on screen.
        verbose: Verbosity mode, 0 (silent), 1 (verbose), 2 (semi-verbose).
        interval: Minimum visual progress update interval (in seconds).
        stateful_metrics: Iterable of names of metrics that should *not* be
            averaged over time: they are displayed as-is. Do not combine with
            `stateless_metrics`.
        stateless_metrics: Iterable of names of metrics that *should* be
            averaged over time; all others are displayed as-is. Do not combine
            with `stateful_metrics`.
        unit_name: Display name for step counts (usually "step" or "sample").

    Example:
        >>> bar = Progbar(4)
        >>> for step in range(4):
        ...     bar.update(step + 1, values=[("loss", 0.5)])
    """

    def __init__(
        self,
        target: int | None,
        width: int = 20,
        verbose: int = 1,
        interval: float = 0.05,
        stateful_metrics: Iterable[str] | None = None,
        stateless_metrics: Iterable[str] | None = None,
        unit_name: str = "step",
    ):
        if stateful_metrics is not None and stateless_metrics is not None:
            raise ValueError(
                "Only one of `stateful_metrics` or `stateless_metrics` can be "
                "provided: `stateful_metrics` lists the metrics to show as-is "
                "(all others are averaged), `stateless_metrics` lists the metrics "
                "to average (all others are shown as-is). Received: "
                f"stateful_metrics={stateful_metrics}, "
                f"stateless_metrics={stateless_metrics}"
            )
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        if stateful_metrics is not None:
            self.stateful_metrics: set[str] | None = set(stateful_metrics)
            self.stateless_metrics: set[str] | None = None
        elif stateless_metrics is not None:
            self.stateful_metrics = None
            self.stateless_metrics = set(stateless_metrics)
        else:
            self.stateful_metrics = set()
            self.stateless_metrics = None

        self._dynamic_display = _dynamic_display()
        self._seen_so_far = 0
        self._values: dict[str, list[Any]] = {}
        self._values_order: list[str] = []
        self._start = time.time()
        self._last_update = 0.0
        self._time_after_first_step: float | None = None
        self._prev_total_width = 0

    def _is_averaged(self, name: str) -> bool:
        if self.stateful_metrics is not None:
            return name not in self.stateful_metrics
        return name in self.stateless_metrics

    def _record(self, current: int, values: Iterable[Any], finalize: bool) -> None:
        for name, value in values:
            if name not in self._values_order:
                self._values_order.append(name)
            if not self._is_averaged(name) or finalize:
                # Shown as-is (the final update carries the epoch's aggregate).
                self._values[name] = [value, 1]
                continue
            # Weight each value by the number of steps it covers.
            steps = max(current - self._seen_so_far, 1)
            if name in self._values:
                self._values[name][0] += value * steps
                self._values[name][1] += steps
            else:
                self._values[name] = [value * steps, steps]
        self._seen_so_far = current

    def update(
        self,
        current: int,
        values: list[tuple[str, Any]] | None = None,
        finalize: bool | None = None,
    ) -> None:
        """Updates the progress bar.

        Args:
            current: Index of the current step (1-based count of steps done).
            values: List of tuples ``(name, value_for_last_step)``. Metrics in
                `stateful_metrics` are displayed as-is; others are averaged
                over the steps.
            finalize: Whether this is the last update for the progress bar.
                Defaults to ``current >= self.target``.
        """
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        self._record(current, values or [], finalize)

        now = time.time()
        time_per_unit = self._estimate_step_duration(current, now)
        if self.verbose == 1:
            if now - self._last_update < self.interval and not finalize:
                return
            self._print_verbose_1(current, now, time_per_unit, finalize)
        elif (
            self.verbose == 2
            and finalize
            and self.target is not None
            and self.target > 0
        ):
            self._print_verbose_2(current, now, time_per_unit)
        self._last_update = now

    def add(self, n: int, values: list[tuple[str, Any]] | None = None) -> None:
        """Advances the bar by `n` steps."""
        self.update(self._seen_so_far + n, values)

    def _count_text(self, current: int) -> str:
        digits = int(math.log10(self.target)) + 1
        return f"{int(current):{digits}d}/{int(self.target)}"

    def _print_verbose_1(
        self, current: int, now: float, time_per_unit: float, finalize: bool
    ) -> None:
        if self._dynamic_display:
            message = "\b" * self._prev_total_width + "\r"
        else:
            message = "\n"

        # `visible` counts the characters shown (escape codes excluded).
        if self.target is not None and self.target > 0:
            count = self._count_text(current)
            done = int(self.width * (float(current) / self.target))
            bar = f"{_BOLD}{count}{_RESET} "
            if done > 0:
                bar += f"{_GREEN}{_BAR_CHAR * done}{_RESET}"
            bar += f"{_WHITE}{_BAR_CHAR * (self.width - done)}{_RESET}"
            visible = len(count) + 1 + self.width
        else:
            bar = f"{int(current):7d}/Unknown"
            visible = len(bar)

        if self.target is not None and self.target > 0 and not finalize:
            clock = _format_eta(time_per_unit * (self.target - current))
        else:
            clock = f"{now - self._start:.0f}s"
        info = f" {_BOLD}{clock}{_RESET}" + _format_time(time_per_unit, self.unit_name)
        for name in self._values_order:
            avg = _mean_value(self._values[name])
            info += (
                f" - {name}: {avg:.4f}" if abs(avg) > 1e-3 else f" - {name}: {avg:.4e}"
            )
        visible += len(info) - len(_BOLD) - len(_RESET)

        message += bar + info
        if self._prev_total_width > visible:
            message += " " * (self._prev_total_width - visible)
        if finalize:
            message += "\n"
        print_msg(message, line_break=False)
        self._prev_total_width = visible

    def _print_verbose_2(self, current: int, now: float, time_per_unit: float) -> None:
        info = f"{self._count_text(current)} - {now - self._start:.0f}s"
        info += " -" + _format_time(time_per_unit, self.unit_name)
        for name in self._values_order:
            avg = _mean_value(self._values[name])
            # Keras compares the signed value here (negatives use e-notation).
            info += f" - {name}: {avg:.4f}" if avg > 1e-3 else f" - {name}: {avg:.4e}"
        print_msg(info + "\n", line_break=False)

    def _estimate_step_duration(self, current: int, now: float) -> float:
        """Seconds per step, ignoring the (compilation-heavy) first step."""
        if not current:
            return 0
        if self._time_after_first_step is not None and current > 1:
            time_per_unit = (now - self._time_after_first_step) / (current - 1)
        else:
            time_per_unit = (now - self._start) / current
        if current == 1:
            self._time_after_first_step = now
        return time_per_unit
