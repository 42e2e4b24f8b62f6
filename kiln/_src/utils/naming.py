"""Keras's automatic names: ``dense``, ``dense_1``, ... (process-wide counters)."""

from __future__ import annotations

import collections
import contextlib
import re
from collections.abc import Iterator

_counters: collections.Counter[str] = collections.Counter()


def to_snake_case(name: str) -> str:
    """``"BatchNormalization"`` -> ``"batch_normalization"`` (Keras's rule)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub(r"([a-z])([A-Z])", r"\1_\2", name)
    return name.lower()


def uniquify(base: str) -> str:
    count = _counters[base]
    _counters[base] += 1
    return base if count == 0 else f"{base}_{count}"


def auto_name(class_name: str) -> str:
    return uniquify(to_snake_case(class_name))


def reset_names() -> None:
    """Restarts the counters (used by `kiln.utils.clear_session`)."""
    _counters.clear()


@contextlib.contextmanager
def isolated_names() -> Iterator[None]:
    """Counts automatic names from zero inside, leaving the process's counters
    as they were: what a file rebuilds (a layer without a name) never depends
    on, or changes, the names this process has handed out before."""
    global _counters
    saved = _counters
    _counters = collections.Counter()
    try:
        yield
    finally:
        _counters = saved
