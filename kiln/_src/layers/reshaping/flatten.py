"""`Flatten`: keeps the batch axis and flattens the rest."""

from __future__ import annotations

import math
from typing import Any

import jax.numpy as jnp

from kiln._src.api_export import keras_export
from kiln._src.backend import config as backend_config
from kiln._src.layers.input_spec import InputSpec
from kiln._src.layers.layer import Layer


@keras_export("keras.layers.Flatten")
class Flatten(Layer):
    """Flattens every axis but the batch axis: ``(N, 4, 2) -> (N, 8)``.

    Args:
        data_format: ``"channels_last"`` (default) or ``"channels_first"``;
            with channels_first, the channel axis is moved last first, so the
            result matches channels_last ordering.
    """

    def __init__(self, data_format: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        data_format = data_format or backend_config.image_data_format()
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError(
                "`data_format` must be 'channels_last' or 'channels_first'. "
                f"Received: data_format={data_format!r}"
            )
        self.data_format = data_format
        self.input_spec = InputSpec(min_ndim=1)

    def build(self, input_shape: Any) -> None:
        # Nothing to create; Keras records a build_config for Flatten.
        self.built = True

    def call(self, inputs: Any) -> Any:
        x = inputs
        if self.data_format == "channels_first" and x.ndim > 2:
            x = jnp.moveaxis(x, 1, -1)
        return jnp.reshape(x, (x.shape[0], math.prod(x.shape[1:])))

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["data_format"] = self.data_format
        return config
