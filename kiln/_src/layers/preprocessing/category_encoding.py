"""`CategoryEncoding`: one-hot, multi-hot or count encoding of integer ids."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kiln._src.api_export import keras_export
from kiln._src.layers.layer import Layer

_MODES = ("count", "one_hot", "multi_hot")


@keras_export("keras.layers.CategoryEncoding")
class CategoryEncoding(Layer):
    """Encodes integer ids in ``[0, num_tokens)`` as vectors of size
    `num_tokens`.

    - ``"one_hot"``: each id becomes a one-hot vector (a trailing axis of
      size 1 is replaced by the encoding).
    - ``"multi_hot"``: each sample (the last axis of rank-2 inputs, the whole
      batch for rank-1 inputs) becomes a vector with 1 at every id present.
    - ``"count"``: like multi_hot, but counting how often each id occurs
      (weighted by `count_weights` when given).

    Ids outside ``[0, num_tokens)`` encode as all zeros.

    Args:
        num_tokens: the number of distinct ids (the output's last size).
        output_mode: "multi_hot" (default; "binary" is accepted as an alias),
            "one_hot" or "count".
        sparse: must be False (kiln has no sparse tensors).

    Call arguments:
        inputs: integer ids, rank 0 to 2.
        count_weights: optional, shaped like `inputs`: the weight of each id
            in ``"count"`` mode.

    Example:
        >>> layer = keras.layers.CategoryEncoding(4, output_mode="multi_hot")
        >>> layer(np.array([[0, 1], [1, 3]]))
        Array([[1., 1., 0., 0.],
               [0., 1., 0., 1.]], dtype=float32)
    """

    def __init__(
        self,
        num_tokens: int | None = None,
        output_mode: str = "multi_hot",
        sparse: bool = False,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode not in _MODES:
            raise ValueError(
                f"Unknown value for `output_mode`: expected one of {_MODES}. "
                f"Received: output_mode={output_mode!r}"
            )
        if num_tokens is None:
            raise ValueError(
                "`num_tokens` must be set to use CategoryEncoding. If the number "
                "of tokens is not known beforehand, use an IntegerLookup layer "
                "instead. Received: num_tokens=None"
            )
        if (
            isinstance(num_tokens, bool)
            or not isinstance(num_tokens, int)
            or (num_tokens < 1)
        ):
            raise ValueError(
                f"`num_tokens` must be an integer >= 1. Received: "
                f"num_tokens={num_tokens!r}"
            )
        if sparse:
            raise NotImplementedError(
                "kiln has no sparse tensors, so CategoryEncoding only produces "
                f"dense outputs. Pass sparse=False. Received: sparse={sparse}"
            )
        self.num_tokens = num_tokens
        self.output_mode = output_mode
        self.sparse = sparse
        self.autocast = False

    def build(self, input_shape: Any) -> None:
        # Nothing to create; built on first call like Keras (so files record
        # the input shape).
        self.built = True

    def call(self, inputs: Any, count_weights: Any = None) -> Any:
        if count_weights is not None:
            if self.output_mode != "count":
                raise ValueError(
                    "`count_weights` is only used when `output_mode` is "
                    f"'count'. Received: output_mode={self.output_mode!r}, "
                    f"count_weights={count_weights}"
                )
            count_weights = jnp.asarray(count_weights, self.compute_dtype)
        x = jnp.asarray(inputs)
        if x.ndim == 0:
            x = jnp.expand_dims(x, -1)
        dtype = self.dtype
        if self.output_mode == "multi_hot":
            encoded = jax.nn.one_hot(x.astype("int32"), self.num_tokens, dtype=dtype)
            return jnp.max(encoded, axis=1 if x.ndim > 1 else 0)
        if self.output_mode == "one_hot":
            if x.ndim > 1 and x.shape[-1] == 1:
                x = jnp.reshape(x, x.shape[:-1])
            return jax.nn.one_hot(x, self.num_tokens, dtype=dtype)
        if count_weights is not None:
            dtype = count_weights.dtype
        encoded = jax.nn.one_hot(x, self.num_tokens, dtype=dtype)
        if count_weights is not None:
            encoded = encoded * jnp.expand_dims(count_weights, -1)
        return jnp.sum(encoded, axis=1 if x.ndim > 1 else 0)

    def compute_output_shape(self, input_shape: Any) -> Any:
        input_shape = tuple(input_shape)
        if len(input_shape) == 0:
            return (self.num_tokens,)
        if self.output_mode == "one_hot" and (
            input_shape[-1] != 1 or len(input_shape) == 1
        ):
            return input_shape + (self.num_tokens,)
        return input_shape[:-1] + (self.num_tokens,)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"num_tokens": self.num_tokens, "output_mode": self.output_mode})
        return config
