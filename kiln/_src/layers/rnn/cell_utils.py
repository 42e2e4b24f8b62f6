"""Argument checks and helpers shared by the recurrent cells and layers."""

from __future__ import annotations

from typing import Any


def check_units(units: Any) -> None:
    if isinstance(units, bool) or not isinstance(units, int) or units <= 0:
        raise ValueError(
            "Received an invalid value for argument `units`, expected a positive "
            f"integer. Received: units={units!r}"
        )


def clip_rate(rate: Any, name: str) -> float:
    """Keras clips dropout rates into [0, 1]; non-numbers are an error."""
    if isinstance(rate, bool) or not isinstance(rate, int | float):
        raise ValueError(
            f"Argument `{name}` must be a float between 0 and 1. Received: "
            f"{name}={rate!r}"
        )
    return min(1.0, max(0.0, float(rate)))


def check_implementation(implementation: Any) -> int:
    if implementation not in (1, 2):
        raise ValueError(
            "Argument `implementation` must be 1 (one matrix product per gate) "
            f"or 2 (one fused product). Received: implementation={implementation!r}"
        )
    return implementation


def check_use_cudnn(use_cudnn: Any) -> Any:
    if use_cudnn not in ("auto", True, False):
        raise ValueError(
            "Invalid value received for argument `use_cudnn`. Expected one of "
            f"{{'auto', True, False}}. Received: use_cudnn={use_cudnn!r}"
        )
    return use_cudnn


def cell_property(name: str) -> property:
    """A read-only attribute of a recurrent layer that reads its cell's."""
    return property(lambda self: getattr(self.cell, name), doc=f"The cell's `{name}`.")
