"""`GaussianNoise`: adds zero-centered Gaussian noise in training."""

from __future__ import annotations

from typing import Any

import jax

from kiln._src.api_export import keras_export
from kiln._src.backend.random import SeedGenerator
from kiln._src.layers.layer import Layer


def check_fraction(value: Any, name: str) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not (0 <= value <= 1)
    ):
        raise ValueError(
            f"Invalid value received for argument `{name}`. Expected a float "
            f"value between 0 and 1. Received: {name}={value!r}"
        )


@keras_export("keras.layers.GaussianNoise")
class GaussianNoise(Layer):
    """Adds noise drawn from ``N(0, stddev**2)`` in training (a regularizer,
    e.g. against overfitting); does nothing at inference.

    Args:
        stddev: a float in [0, 1], the noise's standard deviation.
        seed: an int for reproducible noise.

    Example:
        >>> layer = keras.layers.GaussianNoise(0.1)
        >>> layer(np.ones((2, 3))).tolist()
        [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    """

    def __init__(self, stddev: float, seed: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        check_fraction(stddev, "stddev")
        self.stddev = stddev
        self.seed = seed
        if stddev > 0:
            self.seed_generator = SeedGenerator(seed)
        self.supports_masking = True

    def call(self, inputs: Any, training: Any = False) -> Any:
        if training and self.stddev > 0:
            noise = jax.random.normal(
                self.seed_generator.next(), inputs.shape, self.compute_dtype
            )
            return inputs + noise * self.stddev
        return inputs

    def compute_output_shape(self, input_shape: Any) -> Any:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"stddev": self.stddev, "seed": self.seed})
        return config
