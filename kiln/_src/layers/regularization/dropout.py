"""`Dropout`: zeroes a random fraction of inputs during training."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kiln._src.api_export import keras_export
from kiln._src.backend.random import SeedGenerator
from kiln._src.layers.layer import Layer


@keras_export("keras.layers.Dropout")
class Dropout(Layer):
    """Sets inputs to 0 with probability `rate` in training, scaling the rest
    by ``1 / (1 - rate)``; does nothing at inference.

    Args:
        rate: a float in [0, 1), the fraction of inputs to drop.
        noise_shape: the shape of the keep/drop mask (None: the input's shape;
            None entries take the input's size).
        seed: an int for reproducible masks.
    """

    def __init__(
        self,
        rate: float,
        noise_shape: Any = None,
        seed: int | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if (
            isinstance(rate, bool)
            or not isinstance(rate, int | float)
            or not (0 <= rate <= 1)
        ):
            raise ValueError(
                "Invalid value received for argument `rate`. Expected a float "
                f"value between 0 and 1. Received: rate={rate!r}"
            )
        self.rate = rate
        self.noise_shape = noise_shape
        self.seed = seed
        if rate > 0:
            self.seed_generator = SeedGenerator(seed)
        self.supports_masking = True

    def call(self, inputs: Any, training: Any = False) -> Any:
        if not training or self.rate == 0:
            return inputs
        if self.rate == 1:
            return jnp.zeros_like(inputs)
        shape = jnp.shape(inputs)
        if self.noise_shape is not None:
            shape = tuple(
                size if wanted is None else wanted
                for size, wanted in zip(shape, self.noise_shape)
            )
        keep_prob = 1.0 - self.rate
        mask = jax.random.bernoulli(self.seed_generator.next(), keep_prob, shape)
        return jnp.where(mask, inputs / keep_prob, jnp.zeros_like(inputs))

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {"rate": self.rate, "seed": self.seed, "noise_shape": self.noise_shape}
        )
        return config
