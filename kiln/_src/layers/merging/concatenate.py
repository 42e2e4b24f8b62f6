"""`Concatenate` and its functional form `concatenate`."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from kiln._src.api_export import keras_export
from kiln._src.layers.merging.base_merge import Merge


@keras_export("keras.layers.Concatenate")
class Concatenate(Merge):
    """Concatenates a list of inputs along `axis`.

    All inputs must have the same shape except along the concatenation axis.

    Args:
        axis: the axis to concatenate along (default -1, the last).

    Example:
        >>> x1, x2 = np.zeros((2, 3)), np.ones((2, 4))
        >>> keras.layers.Concatenate()([x1, x2]).shape
        (2, 7)
    """

    def __init__(self, axis: int = -1, **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(
                f"`axis` must be an int. Received: axis={axis!r} of type "
                f"{type(axis).__name__}"
            )
        self.axis = axis

    def _check_shapes(self, input_shape: Any) -> list[Any]:
        if (
            not isinstance(input_shape, list | tuple)
            or not input_shape
            or not all(s is None or isinstance(s, list | tuple) for s in input_shape)
        ):
            raise ValueError(
                f"A `Concatenate` layer ('{self.name}') should be called on a list "
                f"of at least 1 input. Received: input_shape={input_shape}"
            )
        shapes = [tuple(s) for s in input_shape if s is not None]
        received = [None if s is None else tuple(s) for s in input_shape]
        message = (
            f"A `Concatenate` layer ('{self.name}') requires inputs with matching "
            f"shapes except for the concatenation axis (axis={self.axis}). "
            f"Received: input_shape={received}"
        )
        if len({len(s) for s in shapes}) > 1:
            raise ValueError(message)
        if shapes:
            rank = len(shapes[0])
            if not -rank <= self.axis < rank:
                raise ValueError(
                    f"Layer '{self.name}': `axis`={self.axis} is out of range for "
                    f"inputs of rank {rank}. Received: input_shape={shapes}"
                )
            concat_axis = self.axis % rank
            for axis in range(rank):
                if axis == concat_axis:
                    continue
                sizes = {s[axis] for s in shapes} - {None}
                if len(sizes) > 1:
                    raise ValueError(message)
        return shapes

    def build(self, input_shape: Any) -> None:
        self._check_shapes(input_shape)
        self.built = True

    def compute_output_shape(self, input_shape: Any) -> tuple[Any, ...]:
        shapes = self._check_shapes(input_shape)
        output = list(shapes[0])
        for shape in shapes[1:]:
            if output[self.axis] is None or shape[self.axis] is None:
                output[self.axis] = None
                break
            output[self.axis] += shape[self.axis]
        return tuple(output)

    def call(self, inputs: Any, mask: Any = None) -> Any:
        if not isinstance(inputs, list | tuple):
            raise ValueError(
                f"A `Concatenate` layer ('{self.name}') should be called on a list "
                f"of inputs. Received: inputs of type {type(inputs).__name__}"
            )
        return jnp.concatenate(list(inputs), axis=self.axis)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if mask is None:
            return None
        masks = self._check_masks(inputs, mask)
        if all(m is None for m in masks):
            return None
        full = []
        for x, m in zip(inputs, masks):
            if m is None:
                full.append(jnp.ones(x.shape, dtype=bool))
            elif m.ndim < x.ndim:
                full.append(jnp.broadcast_to(jnp.expand_dims(m, -1), x.shape))
            else:
                full.append(m)
        return jnp.any(jnp.concatenate(full, axis=self.axis), axis=-1)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["axis"] = self.axis
        return config


@keras_export("keras.layers.concatenate")
def concatenate(inputs: list[Any], axis: int = -1, **kwargs: Any) -> Any:
    """Functional form of `Concatenate`: ``Concatenate(axis, **kwargs)(inputs)``.

    Args:
        inputs: a list of tensors.
        axis: the concatenation axis.
        **kwargs: standard layer keyword arguments.

    Returns:
        The concatenation of the inputs along `axis`.
    """
    return Concatenate(axis=axis, **kwargs)(inputs)
