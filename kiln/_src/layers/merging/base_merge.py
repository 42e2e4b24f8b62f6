"""`Merge`: the shared machinery of the elementwise merging layers.

A merge layer takes a list of tensors. Their non-batch shapes must be equal or
broadcastable (right-aligned, sizes equal or 1); inputs of lower rank get new
axes inserted after the batch axis. The output mask is the OR of the input
masks (None as soon as one input has none).
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from kiln._src.layers.layer import Layer


def broadcast_shapes(
    shape1: tuple[Any, ...] | None, shape2: tuple[Any, ...] | None, layer_name: str
) -> tuple[Any, ...] | None:
    """The shape of an elementwise op on two non-batch shapes (None: unknown)."""
    if shape1 is None or shape2 is None:
        return None
    if len(shape1) < len(shape2):
        shape1, shape2 = shape2, shape1
    if not shape2:
        return tuple(shape1)
    output = list(shape1[: len(shape1) - len(shape2)])
    for i, j in zip(shape1[len(shape1) - len(shape2) :], shape2):
        if i is None or j is None:
            output.append(None)
        elif i == 1:
            output.append(j)
        elif j == 1 or i == j:
            output.append(i)
        else:
            raise ValueError(
                f"Layer '{layer_name}': inputs have incompatible shapes. "
                f"Received shapes {tuple(shape1)} and {tuple(shape2)} (batch axis "
                "excluded). Each dimension must be equal, or 1 to broadcast."
            )
    return tuple(output)


class Merge(Layer):
    """Base of `Add`, `Subtract`, `Multiply`, `Average`, `Maximum`, `Minimum`
    (and of `Concatenate` and `Dot`): subclasses define `_merge_function`."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.supports_masking = True

    # -- shapes ----------------------------------------------------------------
    def _check_list_of_shapes(self, input_shape: Any) -> list[Any]:
        if (
            not isinstance(input_shape, list | tuple)
            or not input_shape
            or not all(s is None or isinstance(s, list | tuple) for s in input_shape)
        ):
            raise ValueError(
                f"A merge layer ({type(self).__name__} '{self.name}') should be "
                "called on a list of at least 1 input, e.g. `layer([x1, x2])`. "
                f"Received: input_shape={input_shape}"
            )
        return [None if s is None else tuple(s) for s in input_shape]

    def _elementwise_shape(self, shapes: list[Any]) -> tuple[Any, ...] | None:
        output = None if shapes[0] is None else shapes[0][1:]
        for shape in shapes[1:]:
            output = broadcast_shapes(
                output, None if shape is None else shape[1:], self.name
            )
        return output

    def build(self, input_shape: Any) -> None:
        shapes = self._check_list_of_shapes(input_shape)
        batch_sizes = {s[0] for s in shapes if s} - {None}
        if len(batch_sizes) > 1:
            raise ValueError(
                f"Layer '{self.name}' cannot merge tensors with different batch "
                f"sizes. Received tensors with shapes {shapes}"
            )
        self._elementwise_shape(shapes)
        self.built = True

    def compute_output_shape(self, input_shape: Any) -> tuple[Any, ...]:
        shapes = self._check_list_of_shapes(input_shape)
        output = self._elementwise_shape(shapes)
        batch_sizes = {s[0] for s in shapes if s is not None} - {None}
        batch = batch_sizes.pop() if len(batch_sizes) == 1 else None
        return (batch, *output) if output is not None else None

    # -- calling -----------------------------------------------------------------
    def call(self, inputs: Any, mask: Any = None) -> Any:
        if not isinstance(inputs, list | tuple):
            raise ValueError(
                f"A merge layer ({type(self).__name__} '{self.name}') should be "
                "called on a list of inputs, e.g. `layer([x1, x2])`. Received: "
                f"inputs of type {type(inputs).__name__}"
            )
        inputs = list(inputs)
        masks = list(mask) if isinstance(mask, list | tuple) else [None] * len(inputs)
        ranks = [x.ndim for x in inputs]
        if len(set(ranks)) > 1:
            # Lower-rank inputs get new axes after the batch axis, so their
            # non-batch shapes broadcast right-aligned.
            top = max(ranks)
            inputs = [
                jnp.reshape(x, (x.shape[0], *([1] * (top - x.ndim)), *x.shape[1:]))
                for x in inputs
            ]
            masks = [None] * len(inputs)
        return self._merge_function(inputs, masks)

    def _merge_function(self, inputs: list[Any], masks: list[Any]) -> Any:
        raise NotImplementedError

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if mask is None:
            return None
        masks = self._check_masks(inputs, mask)
        if any(m is None for m in masks):
            return None
        output = masks[0]
        for m in masks[1:]:
            output = jnp.logical_or(output, m)
        return output

    def _check_masks(self, inputs: Any, mask: Any) -> list[Any]:
        if not isinstance(mask, list | tuple):
            raise ValueError(
                f"Layer '{self.name}': `mask` should be a list with one mask (or "
                f"None) per input. Received: mask={mask}"
            )
        if not isinstance(inputs, list | tuple) or len(mask) != len(inputs):
            count = len(inputs) if isinstance(inputs, list | tuple) else 1
            raise ValueError(
                f"Layer '{self.name}': the lists `inputs` and `mask` should have "
                f"the same length. Received: {count} inputs and {len(mask)} masks."
            )
        return list(mask)


def merge_or_masked(op: Any, inputs: list[Any], masks: list[Any]) -> Any:
    """Folds `op` over the inputs, skipping masked entries: where only one side
    is unmasked, its value is kept (for ops with no identity: max, min)."""
    output = None
    output_mask = None
    for x, mask in zip(inputs, masks):
        if mask is not None:
            mask = jnp.broadcast_to(jnp.expand_dims(mask, -1), x.shape)
        if output is None:
            output, output_mask = x, mask
            continue
        if mask is not None:
            x = jnp.where(mask, x, output)
        if output_mask is not None:
            output = jnp.where(output_mask, output, x)
        if mask is not None and output_mask is not None:
            output_mask = jnp.logical_or(output_mask, mask)
        else:
            output_mask = None
        output = op(output, x)
    return output
