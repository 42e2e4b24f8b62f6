"""`SpatialDropout1D/2D/3D`: dropout of whole feature maps (channels)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kiln._src.api_export import keras_export
from kiln._src.backend.config import image_data_format
from kiln._src.layers.input_spec import InputSpec
from kiln._src.layers.regularization.dropout import Dropout


def standardize_data_format(data_format: str | None) -> str:
    if data_format is None:
        return image_data_format()
    value = str(data_format).lower()
    if value not in ("channels_first", "channels_last"):
        raise ValueError(
            "The `data_format` argument must be one of 'channels_first', "
            f"'channels_last'. Received: data_format={data_format!r}"
        )
    return value


class BaseSpatialDropout(Dropout):
    """Dropout whose keep/drop decision is shared across the spatial axes:
    each channel of each sample is kept (scaled by ``1 / (1 - rate)``) or
    zeroed as a whole. Does nothing at inference."""

    def __init__(
        self,
        rate: float,
        seed: int | None = None,
        name: str | None = None,
        dtype: Any = None,
    ):
        super().__init__(rate, seed=seed, name=name, dtype=dtype)

    def _noise_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        raise NotImplementedError

    def call(self, inputs: Any, training: Any = False) -> Any:
        if not training or self.rate == 0:
            return inputs
        if self.rate == 1:
            return jnp.zeros_like(inputs)
        keep_prob = 1.0 - self.rate
        noise_shape = self._noise_shape(tuple(inputs.shape))
        keep = jax.random.bernoulli(self.seed_generator.next(), keep_prob, noise_shape)
        keep = jnp.broadcast_to(keep, inputs.shape)
        return jnp.where(keep, inputs / keep_prob, jnp.zeros_like(inputs))

    def compute_output_shape(self, input_shape: Any) -> Any:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        # Keras writes exactly these keys (dtype as a plain dtype name).
        return {
            "rate": self.rate,
            "seed": self.seed,
            "name": self.name,
            "dtype": self.dtype,
        }


@keras_export("keras.layers.SpatialDropout1D")
class SpatialDropout1D(BaseSpatialDropout):
    """Drops entire channels of ``(batch, steps, channels)`` inputs in training.

    Args:
        rate: a float in [0, 1], the fraction of channels to drop.
        seed: an int for reproducible masks.

    Example:
        >>> layer = keras.layers.SpatialDropout1D(0.5)
        >>> layer(np.ones((2, 3, 4)), training=True).shape
        (2, 3, 4)
    """

    def __init__(
        self,
        rate: float,
        seed: int | None = None,
        name: str | None = None,
        dtype: Any = None,
    ):
        super().__init__(rate, seed=seed, name=name, dtype=dtype)
        self.input_spec = InputSpec(ndim=3)

    def _noise_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return (shape[0], 1, shape[2])


class _SpatialDropoutND(BaseSpatialDropout):
    _rank = 2

    def __init__(
        self,
        rate: float,
        data_format: str | None = None,
        seed: int | None = None,
        name: str | None = None,
        dtype: Any = None,
    ):
        super().__init__(rate, seed=seed, name=name, dtype=dtype)
        self.data_format = standardize_data_format(data_format)
        self.input_spec = InputSpec(ndim=self._rank + 2)

    def _noise_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        ones = (1,) * self._rank
        if self.data_format == "channels_first":
            return (shape[0], shape[1], *ones)
        return (shape[0], *ones, shape[-1])

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["data_format"] = self.data_format
        return config


@keras_export("keras.layers.SpatialDropout2D")
class SpatialDropout2D(_SpatialDropoutND):
    """Drops entire channels (2D feature maps) of 4D image inputs in training.

    Args:
        rate: a float in [0, 1], the fraction of channels to drop.
        data_format: "channels_last" (``(batch, rows, cols, channels)``) or
            "channels_first"; default `keras.config.image_data_format()`.
        seed: an int for reproducible masks.

    Example:
        >>> layer = keras.layers.SpatialDropout2D(0.5)
        >>> layer(np.ones((2, 3, 3, 4)), training=True).shape
        (2, 3, 3, 4)
    """

    _rank = 2


@keras_export("keras.layers.SpatialDropout3D")
class SpatialDropout3D(_SpatialDropoutND):
    """Drops entire channels (3D feature maps) of 5D volume inputs in training.

    Args:
        rate: a float in [0, 1], the fraction of channels to drop.
        data_format: "channels_last" (``(batch, d1, d2, d3, channels)``) or
            "channels_first"; default `keras.config.image_data_format()`.
        seed: an int for reproducible masks.
    """

    _rank = 3
