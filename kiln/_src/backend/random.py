"""Seeds: a `SeedGenerator` whose state is a variable, and the global seed."""

from __future__ import annotations

import random as python_random
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kiln._src.api_export import keras_export
from kiln._src.backend.variable import Variable

_global_seed_generator: SeedGenerator | None = None


@keras_export("keras.random.SeedGenerator")
class SeedGenerator:
    """Produces a fresh JAX key on each `next()`; its state is a variable.

    Because the state is a `Variable`, random layers (Dropout) draw new masks on
    every step of a jitted train step: the step receives and returns the state.

    Args:
        seed: an int; None draws one from Python's (seedable) RNG.
    """

    def __init__(self, seed: int | None = None, name: str | None = None, **kwargs: Any):
        if seed is None:
            seed = python_random.randint(1, int(1e9))
        if not isinstance(seed, int | np.integer):
            raise ValueError(
                f"`seed` must be an integer or None. Received: seed={seed!r}"
            )
        self._initial_seed = int(seed)
        self.name = name or "seed_generator"
        self.state = Variable(
            np.array([0, int(seed)], dtype="uint32"),
            dtype="uint32",
            trainable=False,
            name="seed_generator_state",
        )

    def next(self) -> jax.Array:
        state = self.state.value
        self.state.assign(state + jnp.array([0, 1], dtype="uint32"))
        return jax.random.wrap_key_data(state)

    def get_config(self) -> dict[str, Any]:
        return {"seed": self._initial_seed}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> SeedGenerator:
        return cls(**config)


def global_seed_generator() -> SeedGenerator:
    global _global_seed_generator
    if _global_seed_generator is None:
        _global_seed_generator = SeedGenerator()
    return _global_seed_generator


def reset_global_seed_generator(seed: int | None) -> None:
    global _global_seed_generator
    _global_seed_generator = SeedGenerator(seed) if seed is not None else None


def draw_seed(seed: Any) -> jax.Array:
    """A JAX key from an int seed, a `SeedGenerator`, or None (global RNG)."""
    if isinstance(seed, SeedGenerator):
        return seed.next()
    if seed is None:
        return global_seed_generator().next()
    if isinstance(seed, int | np.integer):
        return jax.random.key(int(seed))
    if isinstance(seed, jax.Array) and jnp.issubdtype(seed.dtype, jax.dtypes.prng_key):
        return seed
    raise ValueError(
        "`seed` must be None, an integer, or a SeedGenerator. "
        f"Received: seed={seed!r}"
    )
