"""Optimizers: the base `Optimizer`, the built-in update rules and schedules.

Re-exported here so internal callers (the trainer) can write
``from kiln._src import optimizers; optimizers.get("adam")``.
"""

from kiln._src.optimizers.adagrad import Adagrad
from kiln._src.optimizers.adam import Adam
from kiln._src.optimizers.adamw import AdamW
from kiln._src.optimizers.base_optimizer import Optimizer
from kiln._src.optimizers.optimizer_lookup import deserialize, get, serialize
from kiln._src.optimizers.rmsprop import RMSprop
from kiln._src.optimizers.sgd import SGD

__all__ = [
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "Optimizer",
    "RMSprop",
    "deserialize",
    "get",
    "serialize",
]
