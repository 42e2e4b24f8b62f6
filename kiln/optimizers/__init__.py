"""Public optimizers: ``kiln.optimizers``."""

from kiln._src.optimizers.adagrad import Adagrad
from kiln._src.optimizers.adam import Adam
from kiln._src.optimizers.adamw import AdamW
from kiln._src.optimizers.base_optimizer import Optimizer
from kiln._src.optimizers.optimizer_lookup import deserialize, get, serialize
from kiln._src.optimizers.rmsprop import RMSprop
from kiln._src.optimizers.sgd import SGD
from kiln.optimizers import schedules

__all__ = [
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "Optimizer",
    "RMSprop",
    "deserialize",
    "get",
    "schedules",
    "serialize",
]
