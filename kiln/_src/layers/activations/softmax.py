"""`Softmax`: the softmax activation, with an optional mask."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kiln._src.activations import activations
from kiln._src.api_export import keras_export
from kiln._src.layers.layer import Layer


def _large_negative(dtype: Any) -> float:
    """Stands for -inf at masked positions (within float16's range too)."""
    return -3e4 if jnp.dtype(dtype) == jnp.float16 else -1e9


@keras_export("keras.layers.Softmax")
class Softmax(Layer):
    """``exp(x) / sum(exp(x))`` along `axis`.

    Args:
        axis: the axis (or list of axes) to normalize over.

    Call arguments:
        inputs: the logits.
        mask: optional, broadcastable to `inputs`: True (or > 0.5) where a
            position takes part. Masked positions get probability 0.

    Example:
        >>> keras.layers.Softmax()(np.array([1.0, 1.0]))
        Array([0.5, 0.5], dtype=float32)
    """

    def __init__(self, axis: int | list[int] = -1, **kwargs: Any):
        super().__init__(**kwargs)
        self.axis = axis
        self.supports_masking = True

    def call(self, inputs: Any, mask: Any = None) -> Any:
        if mask is not None:
            mask = jnp.asarray(mask)
            if mask.ndim > inputs.ndim or any(
                m != 1 and m != i for m, i in zip(mask.shape[::-1], inputs.shape[::-1])
            ):
                raise ValueError(
                    "The `mask` of a Softmax layer must be broadcastable to its "
                    "inputs: no more dimensions, and each dimension 1 or equal "
                    f"to the input's. Received: inputs.shape={inputs.shape}, "
                    f"mask.shape={mask.shape}"
                )
            if mask.dtype != jnp.bool_:
                mask = mask > jnp.asarray(0.5, mask.dtype)
            inputs = jnp.where(mask, inputs, _large_negative(inputs.dtype))
        if isinstance(self.axis, list | tuple) and len(self.axis) > 1:
            axes = tuple(self.axis)
            outputs = jnp.exp(
                inputs - jax.scipy.special.logsumexp(inputs, axis=axes, keepdims=True)
            )
        else:
            axis = self.axis[0] if isinstance(self.axis, list | tuple) else self.axis
            outputs = activations.softmax(inputs, axis=axis)
        if mask is not None:
            # A fully masked row would otherwise come out uniform.
            outputs = jnp.where(mask, outputs, 0.0)
        return outputs

    def compute_output_shape(self, input_shape: Any) -> Any:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["axis"] = self.axis
        return config
