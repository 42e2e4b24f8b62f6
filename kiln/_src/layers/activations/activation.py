"""`Activation`: applies an activation function."""

from __future__ import annotations

from typing import Any

from kiln._src import activations
from kiln._src.api_export import keras_export
from kiln._src.layers.layer import Layer


@keras_export("keras.layers.Activation")
class Activation(Layer):
    """Applies `activation` (a name such as ``"relu"`` or a function).

    Example:
        >>> keras.layers.Activation("relu")(np.array([-1.0, 2.0]))
        Array([0., 2.], dtype=float32)
    """

    def __init__(self, activation: Any, **kwargs: Any):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self.supports_masking = True

    def call(self, inputs: Any) -> Any:
        return self.activation(inputs)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["activation"] = activations.serialize(self.activation)
        return config
