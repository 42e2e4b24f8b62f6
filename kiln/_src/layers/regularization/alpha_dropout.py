"""`AlphaDropout`: dropout that keeps the mean and variance of SELU outputs."""

from __future__ import annotations

from typing import Any

import jax

from kiln._src.api_export import keras_export
from kiln._src.backend.random import SeedGenerator
from kiln._src.layers.layer import Layer
from kiln._src.layers.regularization.gaussian_noise import check_fraction

# SELU's constants: dropped units are set to SELU's negative saturation value.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


@keras_export("keras.layers.AlphaDropout")
class AlphaDropout(Layer):
    """In training, sets a random fraction `rate` of inputs to SELU's
    saturation value ``-alpha * scale`` and then applies the affine map that
    restores the inputs' mean and variance (for self-normalizing networks);
    does nothing at inference.

    Args:
        rate: a float in [0, 1), the fraction of inputs to drop.
        noise_shape: the shape of the keep/drop mask (None: the input's
            shape; None entries take the input's size).
        seed: an int for reproducible masks.

    Example:
        >>> layer = keras.layers.AlphaDropout(0.2)
        >>> layer(np.ones((2, 3)), training=True).shape
        (2, 3)
    """

    def __init__(
        self,
        rate: float,
        noise_shape: Any = None,
        seed: int | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        check_fraction(rate, "rate")
        self.rate = rate
        self.seed = seed
        self.noise_shape = noise_shape
        if rate > 0:
            self.seed_generator = SeedGenerator(seed)
        self.supports_masking = True

    def call(self, inputs: Any, training: Any = False) -> Any:
        if not training or self.rate == 0:
            return inputs
        if self.rate == 1:
            raise ValueError(
                "AlphaDropout cannot drop every input in training: its "
                "rescaling divides by (1 - rate). Use a rate below 1. "
                f"Received: rate={self.rate}"
            )
        shape = tuple(inputs.shape)
        if self.noise_shape is not None:
            shape = tuple(
                size if wanted is None else wanted
                for size, wanted in zip(shape, self.noise_shape)
            )
        alpha_p = -_SELU_ALPHA * _SELU_SCALE
        uniform = jax.random.uniform(self.seed_generator.next(), shape)
        kept = (uniform >= self.rate).astype(inputs.dtype)
        a = ((1 - self.rate) * (1 + self.rate * alpha_p**2)) ** -0.5
        b = -a * alpha_p * self.rate
        x = inputs * kept + alpha_p * (1 - kept)
        return a * x + b

    def compute_output_shape(self, input_shape: Any) -> Any:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {"rate": self.rate, "seed": self.seed, "noise_shape": self.noise_shape}
        )
        return config
