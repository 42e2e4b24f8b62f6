"""`ELU`: the exponential linear unit."""

from __future__ import annotations

from typing import Any

from kiln._src.activations import activations
from kiln._src.api_export import keras_export
from kiln._src.layers.layer import Layer


@keras_export("keras.layers.ELU")
class ELU(Layer):
    """``f(x) = x`` for ``x > 0`` and ``alpha * (exp(x) - 1)`` otherwise.

    Args:
        alpha: the scale of the negative part (its limit is ``-alpha``).

    Example:
        >>> keras.layers.ELU()(np.array([-1.0, 2.0]))
        Array([-0.63212055,  2.        ], dtype=float32)
    """

    def __init__(self, alpha: float = 1.0, **kwargs: Any):
        super().__init__(**kwargs)
        self.alpha = alpha
        self.supports_masking = True

    def call(self, inputs: Any) -> Any:
        return activations.elu(inputs, alpha=self.alpha)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        # Keras records ELU's arguments automatically, right after the name.
        name = config.pop("name")
        return {"name": name, "alpha": self.alpha, **config}
