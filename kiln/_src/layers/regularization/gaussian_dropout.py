"""`GaussianDropout`: multiplies by Gaussian noise centered on 1 in training."""

from __future__ import annotations

import math
from typing import Any

import jax

from kiln._src.api_export import keras_export
from kiln._src.backend.random import SeedGenerator
from kiln._src.layers.layer import Layer
from kiln._src.layers.regularization.gaussian_noise import check_fraction


@keras_export("keras.layers.GaussianDropout")
class GaussianDropout(Layer):
    """Multiplies the inputs by noise drawn from ``N(1, rate / (1 - rate))``
    in training; does nothing at inference.

    Args:
        rate: a float in [0, 1], the drop probability of the equivalent
            `Dropout` (the noise's variance is ``rate / (1 - rate)``).
        seed: an int for reproducible noise.

    Example:
        >>> layer = keras.layers.GaussianDropout(0.2)
        >>> layer(np.ones((2, 3)), training=True).shape
        (2, 3)
    """

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        check_fraction(rate, "rate")
        self.rate = rate
        self.seed = seed
        if rate > 0:
            self.seed_generator = SeedGenerator(seed)
        self.supports_masking = True

    def call(self, inputs: Any, training: Any = False) -> Any:
        if training and self.rate > 0:
            stddev = math.sqrt(self.rate / (1.0 - self.rate))
            noise = jax.random.normal(
                self.seed_generator.next(), inputs.shape, self.compute_dtype
            )
            return inputs * (noise * stddev + 1.0)
        return inputs

    def compute_output_shape(self, input_shape: Any) -> Any:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed})
        return config
