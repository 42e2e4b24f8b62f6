"""`Maximum` and its functional form `maximum`."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from kiln._src.api_export import keras_export
from kiln._src.layers.merging.base_merge import Merge, merge_or_masked


@keras_export("keras.layers.Maximum")
class Maximum(Merge):
    """Takes the elementwise maximum of a list of inputs.

    Where an input is masked, the other inputs' values are used.

    Takes a list of tensors of the same (or broadcastable) shape and returns
    one tensor of that shape.

    Example:
        >>> x1, x2 = np.ones((2, 3)), np.full((2, 3), 3.0)
        >>> keras.layers.Maximum()([x1, x2])[0, 0]
        3.0
    """

    def _merge_function(self, inputs: list[Any], masks: list[Any]) -> Any:
        return merge_or_masked(jnp.maximum, inputs, masks)


@keras_export("keras.layers.maximum")
def maximum(inputs: list[Any], **kwargs: Any) -> Any:
    """Functional form of `Maximum`: ``Maximum(**kwargs)(inputs)``.

    Args:
        inputs: a list of tensors.
        **kwargs: standard layer keyword arguments (e.g. `name`).

    Returns:
        A tensor, the maximum of the inputs.
    """
    return Maximum(**kwargs)(inputs)
