"""`set_random_seed`: one call makes a run reproducible."""

from __future__ import annotations

import random

import numpy as np

from kiln._src.api_export import keras_export
from kiln._src.backend import random as backend_random


@keras_export(["keras.utils.set_random_seed"])
def set_random_seed(seed: int) -> None:
    """Seeds Python's `random`, NumPy and kiln's global seed generator.

    After it, unseeded initializers, Dropout layers created afterwards and
    `fit`'s shuffling all repeat exactly from run to run.

    Args:
        seed: a non-negative integer.
    """
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(
            f"`seed` must be a non-negative integer. Received: seed={seed!r}"
        )
    random.seed(int(seed))
    np.random.seed(int(seed) % (2**32))
    backend_random.reset_global_seed_generator(int(seed))
