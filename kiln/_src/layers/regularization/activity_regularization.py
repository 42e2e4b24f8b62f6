"""`ActivityRegularization`: adds an L1/L2 penalty on its inputs to the loss."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from kiln._src.api_export import keras_export
from kiln._src.layers.layer import Layer
from kiln._src.regularizers.regularizers import L1L2


@keras_export("keras.layers.ActivityRegularization")
class ActivityRegularization(Layer):
    """Passes its inputs through unchanged and adds
    ``(l1 * sum(|x|) + l2 * sum(x**2)) / batch_size`` to the loss.

    Args:
        l1: the L1 factor (a float >= 0).
        l2: the L2 factor (a float >= 0).

    Example:
        >>> layer = keras.layers.ActivityRegularization(l1=0.1)
        >>> _ = layer(np.ones((2, 3)))
        >>> float(layer.losses[0])
        0.3
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0, **kwargs: Any):
        kwargs.pop("activity_regularizer", None)
        super().__init__(**kwargs)
        self._penalty = L1L2(l1=l1, l2=l2)
        self.supports_masking = True
        self.l1 = l1
        self.l2 = l2

    def call(self, inputs: Any) -> Any:
        loss = self._penalty(inputs)
        if inputs.ndim > 0:
            # Like Keras's activity penalties: per sample, whatever the batch.
            batch = jnp.asarray(inputs.shape[0], loss.dtype)
            loss = jnp.where(batch == 0, jnp.zeros_like(loss), loss / batch)
        self.add_loss(loss)
        return inputs

    def compute_output_shape(self, input_shape: Any) -> Any:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"l1": self.l1, "l2": self.l2})
        return config
