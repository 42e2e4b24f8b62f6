"""`Add` and its functional form `add`."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from kiln._src.api_export import keras_export
from kiln._src.layers.merging.base_merge import Merge


@keras_export("keras.layers.Add")
class Add(Merge):
    """Adds a list of inputs elementwise.

    Takes a list of tensors of the same (or broadcastable) shape and returns
    one tensor of that shape.

    Example:
        >>> x1, x2 = np.ones((2, 3)), np.full((2, 3), 3.0)
        >>> keras.layers.Add()([x1, x2])[0, 0]
        4.0
    """

    def _merge_function(self, inputs: list[Any], masks: list[Any]) -> Any:
        output = inputs[0]
        for x in inputs[1:]:
            output = jnp.add(output, x)
        return output


@keras_export("keras.layers.add")
def add(inputs: list[Any], **kwargs: Any) -> Any:
    """Functional form of `Add`: ``Add(**kwargs)(inputs)``.

    Args:
        inputs: a list of tensors.
        **kwargs: standard layer keyword arguments (e.g. `name`).

    Returns:
        A tensor, the add of the inputs.
    """
    return Add(**kwargs)(inputs)
