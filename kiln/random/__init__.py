"""`kiln.random`: random numbers and seed generators."""

from kiln._src.backend.random import SeedGenerator
from kiln._src.random_ops import (
    categorical,
    dropout,
    normal,
    randint,
    shuffle,
    truncated_normal,
    uniform,
)

__all__ = [
    "SeedGenerator",
    "categorical",
    "dropout",
    "normal",
    "randint",
    "shuffle",
    "truncated_normal",
    "uniform",
]
