"""Seeds: a `SeedGenerator` whose state is a variable, and the global seed."""

from __future__ import annotations

import random as python_random
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kiln._src.api_export import keras_export
from kiln._src.backend.variable import Variable


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
            # Keras's layout: key data [seed, counter].
            np.array([int(seed) % 2**32, 0], dtype="uint32"),
            dtype="uint32",
            trainable=False,
            name="seed_generator_state",
        )

    def next(self) -> jax.Array:
        state = self.state.value
        self.state.assign(state + jnp.array([0, 1], dtype="uint32"))
        return jax.random.wrap_key_data(state)

    def get_config(self) -> dict[str, Any]:
        return {"seed": self._initial_seed, "name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> SeedGenerator:
        return cls(**config)


class _GlobalSeeds:
    """Unseeded draws (``seed=None``) come from here.

    It counts in Python, not in a variable, so drawing while a stateless scope
    or a trace is active still advances it; `set_random_seed` restarts it.
    """

    def __init__(self, seed: int | None = None):
        self.seed = python_random.randint(1, int(1e9)) if seed is None else int(seed)
        self.count = 0

    def next(self) -> jax.Array:
        self.count += 1
        with jax.ensure_compile_time_eval():
            return jax.random.fold_in(jax.random.key(self.seed), self.count)


_global_seeds: _GlobalSeeds | None = None


def global_seed_generator() -> _GlobalSeeds:
    global _global_seeds
    if _global_seeds is None:
        _global_seeds = _GlobalSeeds()
    return _global_seeds


def reset_global_seed_generator(seed: int | None) -> None:
    global _global_seeds
    _global_seeds = _GlobalSeeds(seed)


def draw_seed(seed: Any) -> jax.Array:
    """A JAX key from an int seed, a `SeedGenerator`, or None (global RNG)."""
    if isinstance(seed, SeedGenerator):
        return seed.next()
    if seed is None:
        return global_seed_generator().next()
    if isinstance(seed, int | np.integer):
        # The key Keras builds for an int seed: key data [seed, 0].
        return jax.random.wrap_key_data(
            np.array([int(seed) % 2**32, 0], dtype="uint32")
        )
    if isinstance(seed, jax.Array) and jnp.issubdtype(seed.dtype, jax.dtypes.prng_key):
        return seed
    raise ValueError(
        f"`seed` must be None, an integer, or a SeedGenerator. Received: seed={seed!r}"
    )
