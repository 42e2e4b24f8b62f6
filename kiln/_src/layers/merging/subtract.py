"""`Subtract` and its functional form `subtract`."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from kiln._src.api_export import keras_export
from kiln._src.layers.merging.base_merge import Merge


@keras_export("keras.layers.Subtract")
class Subtract(Merge):
    """Subtracts two inputs: ``inputs[0] - inputs[1]``.

    Takes a list of tensors of the same (or broadcastable) shape and returns
    one tensor of that shape.

    Example:
        >>> x1, x2 = np.ones((2, 3)), np.full((2, 3), 3.0)
        >>> keras.layers.Subtract()([x1, x2])[0, 0]
        -2.0
    """

    def build(self, input_shape: Any) -> None:
        super().build(input_shape)
        if len(input_shape) != 2:
            raise ValueError(
                f"A `Subtract` layer ('{self.name}') should be called on exactly 2 "
                f"inputs. Received: input_shape={input_shape}"
            )

    def _merge_function(self, inputs: list[Any], masks: list[Any]) -> Any:
        if len(inputs) != 2:
            raise ValueError(
                f"A `Subtract` layer ('{self.name}') should be called on exactly 2 "
                f"inputs. Received: {len(inputs)} inputs"
            )
        return jnp.subtract(inputs[0], inputs[1])


@keras_export("keras.layers.subtract")
def subtract(inputs: list[Any], **kwargs: Any) -> Any:
    """Functional form of `Subtract`: ``Subtract(**kwargs)(inputs)``.

    Args:
        inputs: a list of tensors.
        **kwargs: standard layer keyword arguments (e.g. `name`).

    Returns:
        A tensor, the subtract of the inputs.
    """
    return Subtract(**kwargs)(inputs)
