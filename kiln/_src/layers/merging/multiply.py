"""`Multiply` and its functional form `multiply`."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from kiln._src.api_export import keras_export
from kiln._src.layers.merging.base_merge import Merge


@keras_export("keras.layers.Multiply")
class Multiply(Merge):
    """Multiplies a list of inputs elementwise.

    Masked entries count as 1; when every input has a mask, entries masked in
    all inputs are 0.

    Takes a list of tensors of the same (or broadcastable) shape and returns
    one tensor of that shape.

    Example:
        >>> x1, x2 = np.ones((2, 3)), np.full((2, 3), 3.0)
        >>> keras.layers.Multiply()([x1, x2])[0, 0]
        3.0
    """

    def _merge_function(self, inputs: list[Any], masks: list[Any]) -> Any:
        all_masked = all(m is not None for m in masks)
        output = None
        output_mask = None
        for x, mask in zip(inputs, masks):
            if mask is not None:
                mask = jnp.broadcast_to(jnp.expand_dims(mask, -1), x.shape)
                x = jnp.where(mask, x, jnp.ones((), x.dtype))
                if all_masked:
                    output_mask = (
                        mask
                        if output_mask is None
                        else jnp.logical_or(output_mask, mask)
                    )
            output = x if output is None else jnp.multiply(output, x)
        if all_masked:
            output = jnp.where(output_mask, output, jnp.zeros((), output.dtype))
        return output


@keras_export("keras.layers.multiply")
def multiply(inputs: list[Any], **kwargs: Any) -> Any:
    """Functional form of `Multiply`: ``Multiply(**kwargs)(inputs)``.

    Args:
        inputs: a list of tensors.
        **kwargs: standard layer keyword arguments (e.g. `name`).

    Returns:
        A tensor, the multiply of the inputs.
    """
    return Multiply(**kwargs)(inputs)
