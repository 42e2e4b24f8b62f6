"""`MultiHeadAttention`: scaled dot-product attention over several heads.

Query, key and value are projected per head by `EinsumDense` sub-layers held
in the attributes `query_dense`, `key_dense`, `value_dense` and
`output_dense` (plus `_gate_dense` with ``use_gate``), which is what names
their weight groups in saved files, exactly as Keras names them.
"""

from __future__ import annotations

import math
import string
from typing import Any

import jax
import jax.numpy as jnp

from kiln._src import constraints, initializers, regularizers
from kiln._src.api_export import keras_export
from kiln._src.layers.activations.softmax import Softmax
from kiln._src.layers.attention.einsum_dense import EinsumDense
from kiln._src.layers.layer import Layer
from kiln._src.layers.regularization.dropout import Dropout
from kiln._src.saving.serialization_lib import serialize_keras_object


def build_attention_equation(
    rank: int, attn_axes: tuple[int, ...]
) -> tuple[str, str, int]:
    """Einsum equations of the query-key product and of the weighted sum.

    Projected tensors are ``(batch, <other axes>, <attention axes>, heads,
    channels)``; the scores are ``(batch, <other axes>, heads, <query
    attention axes>, <key attention axes>)``.
    """
    letters = string.ascii_lowercase
    target = letters[:rank]
    batch_dims = [i for i in range(rank) if i not in attn_axes and i != rank - 1]
    offset = rank
    source = ""
    for i in range(rank):
        if i in batch_dims or i == rank - 1:
            source += target[i]
        else:
            source += letters[offset]
            offset += 1
    product = "".join(
        [target[i] for i in batch_dims]
        + [target[i] for i in attn_axes]
        + [source[i] for i in attn_axes]
    )
    dot_product = f"{source},{target}->{product}"
    combine = f"{product},{source}->{target}"
    return dot_product, combine, len(product)


def build_proj_equation(
    free_dims: int, bound_dims: int, output_dims: int
) -> tuple[str, str, int]:
    """``(equation, bias_axes, output_rank)`` of a projection that keeps
    `free_dims` axes, contracts `bound_dims` and creates `output_dims`."""
    letters = string.ascii_lowercase
    free = letters[:free_dims]
    bound = letters[free_dims : free_dims + bound_dims]
    created = letters[free_dims + bound_dims : free_dims + bound_dims + output_dims]
    equation = f"{free}{bound},{bound}{created}->{free}{created}"
    return equation, created, free_dims + output_dims


def _projection_shape(output_rank: int, known_last: list[Any]) -> list[Any]:
    return [None] * (output_rank - len(known_last)) + list(known_last)


@keras_export("keras.layers.MultiHeadAttention")
class MultiHeadAttention(Layer):
    """Multi-head attention (Vaswani et al., 2017).

    Query, value and key (default: value) are projected to `num_heads` heads of
    size `key_dim` (values: `value_dim`); each head computes
    ``softmax(q k^T / sqrt(key_dim)) v``; the heads are concatenated and
    projected back to the query's last dimension (or `output_shape`).

    Args:
        num_heads: number of attention heads.
        key_dim: size of each head for query and key.
        value_dim: size of each head for value (default: `key_dim`).
        dropout: dropout rate applied to the attention weights in training.
        use_bias: whether the projections have biases.
        output_shape: the output's trailing shape (default: the query's last
            dimension); an int or a tuple.
        attention_axes: the axes attention is applied over (default: all axes
            but batch, heads and features).
        sliding_window: if set, each query position only attends to key
            positions less than this many steps away.
        flash_attention: use a fused (cuDNN) kernel when True.
        kernel_initializer / bias_initializer: initializers of the projections.
        kernel_regularizer / bias_regularizer / activity_regularizer,
        kernel_constraint / bias_constraint: passed to the projections.
        use_gate: multiply the attention output by a sigmoid gate computed
            from the query before the output projection.
        seed: seed of the dropout.

    Call arguments:
        query: ``(B, T, dim)``; value: ``(B, S, dim)``; key: ``(B, S, dim)``
            (default: value).
        query_mask / value_mask / key_mask: ``(B, T)`` / ``(B, S)`` boolean
            padding masks (filled from the inputs' Keras masks in a
            Functional model).
        attention_mask: ``(B, T, S)`` boolean, True where attention is
            allowed.
        return_attention_scores: also return ``(B, heads, T, S)`` scores.
        training: whether dropout is applied.
        use_causal_mask: forbid attending to later positions.

    Example:
        >>> layer = keras.layers.MultiHeadAttention(num_heads=2, key_dim=2)
        >>> target, source = np.ones((1, 8, 16)), np.ones((1, 4, 16))
        >>> out, scores = layer(target, source, return_attention_scores=True)
        >>> out.shape, scores.shape
        ((1, 8, 16), (1, 2, 8, 4))
    """

    def __init__(
        self,
        num_heads: int,
        key_dim: int,
        value_dim: int | None = None,
        dropout: float = 0.0,
        use_bias: bool = True,
        output_shape: Any = None,
        attention_axes: Any = None,
        sliding_window: int | None = None,
        flash_attention: bool | None = None,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        use_gate: bool = False,
        seed: int | None = None,
        **kwargs: Any,
    ):
        for arg, value in (("num_heads", num_heads), ("key_dim", key_dim)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(
                    f"Received an invalid value for argument `{arg}`, expected a "
                    f"positive integer. Received: {arg}={value!r}"
                )
        if value_dim is not None and (
            isinstance(value_dim, bool)
            or not isinstance(value_dim, int)
            or value_dim <= 0
        ):
            raise ValueError(
                "Received an invalid value for argument `value_dim`, expected a "
                f"positive integer or `None`. Received: value_dim={value_dim!r}"
            )
        if (
            isinstance(dropout, bool)
            or not isinstance(dropout, int | float)
            or not 0 <= dropout <= 1
        ):
            raise ValueError(
                "Received an invalid value for argument `dropout`, expected a "
                f"float between 0 and 1. Received: dropout={dropout!r}"
            )
        super().__init__(**kwargs)
        self.supports_masking = True
        self._num_heads = num_heads
        self._key_dim = key_dim
        self._value_dim = value_dim if value_dim else key_dim
        self._dropout = dropout
        self._use_bias = use_bias
        self._use_gate = use_gate
        if output_shape:
            if isinstance(output_shape, int):
                output_shape = (output_shape,)
            try:
                output_shape = tuple(output_shape)
            except TypeError:
                raise ValueError(
                    f"Invalid `output_shape`: {output_shape!r}. When specified, "
                    "the `output_shape` should be an int, or a tuple or list of "
                    "ints."
                ) from None
        self._output_shape = output_shape
        self._flash_attention = bool(flash_attention)
        if self._flash_attention and dropout > 0.0:
            raise ValueError(
                "Dropout is not supported when flash attention is enabled. Set "
                f"dropout to 0.0 to use flash attention. Received: dropout={dropout}"
            )
        self._kernel_initializer = initializers.get(kernel_initializer)
        self._bias_initializer = initializers.get(bias_initializer)
        self._kernel_regularizer = regularizers.get(kernel_regularizer)
        self._bias_regularizer = regularizers.get(bias_regularizer)
        self._activity_regularizer = regularizers.get(activity_regularizer)
        self._kernel_constraint = constraints.get(kernel_constraint)
        self._bias_constraint = constraints.get(bias_constraint)
        if isinstance(attention_axes, int) and not isinstance(attention_axes, bool):
            attention_axes = (attention_axes,)
        elif attention_axes and not isinstance(attention_axes, list | tuple):
            raise ValueError(
                "`attention_axes` must be an int, list, or tuple. Received: "
                f"attention_axes={attention_axes!r}"
            )
        self._attention_axes = attention_axes
        if sliding_window is not None and (
            isinstance(sliding_window, bool)
            or not isinstance(sliding_window, int)
            or sliding_window <= 0
        ):
            raise ValueError(
                "`sliding_window` must be `None` or a positive integer. "
                f"Received: sliding_window={sliding_window!r}"
            )
        self._sliding_window = sliding_window
        self.seed = seed
        self._inverse_sqrt_key_dim = 1.0 / math.sqrt(float(self._key_dim))

    # -- read-only views ----------------------------------------------------------
    @property
    def num_heads(self) -> int:
        return self._num_heads

    @property
    def key_dim(self) -> int:
        return self._key_dim

    @property
    def value_dim(self) -> int:
        return self._value_dim

    @property
    def dropout(self) -> float:
        return self._dropout

    @property
    def use_bias(self) -> bool:
        return self._use_bias

    @property
    def attention_axes(self) -> Any:
        return self._attention_axes

    @property
    def query_dense(self) -> EinsumDense:
        return self._query_dense

    @property
    def key_dense(self) -> EinsumDense:
        return self._key_dense

    @property
    def value_dense(self) -> EinsumDense:
        return self._value_dense

    @property
    def output_dense(self) -> EinsumDense:
        return self._output_dense

    # -- building -------------------------------------------------------------------
    def _sublayer_kwargs(self) -> dict[str, Any]:
        kernel_init = self._kernel_initializer
        bias_init = self._bias_initializer
        return {
            "kernel_regularizer": self._kernel_regularizer,
            "bias_regularizer": self._bias_regularizer,
            "activity_regularizer": self._activity_regularizer,
            "kernel_constraint": self._kernel_constraint,
            "bias_constraint": self._bias_constraint,
            "dtype": self.dtype_policy,
            # Each projection gets its own copy (its own random draws).
            "kernel_initializer": type(kernel_init).from_config(
                kernel_init.get_config()
            ),
            "bias_initializer": type(bias_init).from_config(bias_init.get_config()),
        }

    def _projection(
        self, input_shape: Any, heads_dim: int, name: str, activation: Any = None
    ) -> EinsumDense:
        rank = len(input_shape)
        equation, bias_axes, output_rank = build_proj_equation(rank - 1, 1, 2)
        layer = EinsumDense(
            equation,
            output_shape=_projection_shape(
                output_rank - 1, [self._num_heads, heads_dim]
            ),
            bias_axes=bias_axes if self._use_bias else None,
            activation=activation,
            name=name,
            **self._sublayer_kwargs(),
        )
        layer._build_with_shapes(input_shape=tuple(input_shape))
        return layer

    def build(self, query_shape: Any, value_shape: Any, key_shape: Any = None) -> None:
        query_shape = tuple(query_shape)
        value_shape = tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        if value_shape[1:-1] != key_shape[1:-1]:
            raise ValueError(
                f"Layer '{self.name}': all dimensions of `value` and `key`, except "
                f"the last one, must be equal. Received: value_shape={value_shape} "
                f"and key_shape={key_shape}"
            )
        # Creation order fixes the weight order: query, key, (gate), value,
        # then the output projection.
        self._query_dense = self._projection(query_shape, self._key_dim, "query")
        self._key_dense = self._projection(key_shape, self._key_dim, "key")
        if self._use_gate:
            self._gate_dense = self._projection(
                query_shape, self._value_dim, "gate", activation="sigmoid"
            )
        self._value_dense = self._projection(value_shape, self._value_dim, "value")
        self._build_attention(len(value_shape) + 1)
        output_shape = (
            list(self._output_shape) if self._output_shape else [query_shape[-1]]
        )
        equation, bias_axes, output_rank = build_proj_equation(
            len(query_shape) - 1, 2, len(output_shape)
        )
        self._output_dense = EinsumDense(
            equation,
            output_shape=_projection_shape(output_rank - 1, output_shape),
            bias_axes=bias_axes if self._use_bias else None,
            name="attention_output",
            **self._sublayer_kwargs(),
        )
        projected = list(self._query_dense.compute_output_shape(query_shape))
        projected[-1] = self._value_dim
        self._output_dense._build_with_shapes(input_shape=tuple(projected))
        self.built = True

    def _build_attention(self, rank: int) -> None:
        if self._attention_axes is None:
            self._attention_axes = tuple(range(1, rank - 2))
        else:
            self._attention_axes = tuple(
                axis if axis >= 0 else (rank - 1) + axis
                for axis in self._attention_axes
            )
        self._dot_product_equation, self._combine_equation, scores_rank = (
            build_attention_equation(rank, self._attention_axes)
        )
        norm_axes = tuple(range(scores_rank - len(self._attention_axes), scores_rank))
        self._softmax = Softmax(axis=norm_axes, dtype=self.dtype_policy)
        self._dropout_layer = Dropout(
            rate=self._dropout, dtype=self.dtype_policy, seed=self.seed
        )

    # -- attention --------------------------------------------------------------------
    def _masked_softmax(self, scores: Any, attention_mask: Any = None) -> Any:
        if attention_mask is not None:
            axis = -len(self._attention_axes) * 2 - 1
            for _ in range(scores.ndim - attention_mask.ndim):
                attention_mask = jnp.expand_dims(attention_mask, axis=axis)
        return self._softmax(scores, mask=attention_mask)

    def _fused_attention(
        self, query: Any, key: Any, value: Any, mask: Any, is_causal: bool
    ) -> Any:
        """Attention on ``(B, T, heads, dim)`` tensors in one expression, the
        way `keras.ops.dot_product_attention` computes it: masked logits get a
        large negative value, so a fully masked row attends uniformly."""
        if self._flash_attention:
            try:
                return jax.nn.dot_product_attention(
                    query,
                    key,
                    value,
                    mask=mask,
                    scale=self._inverse_sqrt_key_dim,
                    is_causal=is_causal,
                    implementation="cudnn",
                )
            except Exception as error:  # noqa: BLE001 - re-raised with advice
                raise RuntimeError(
                    f"Layer '{self.name}' was created with flash_attention=True, "
                    "but the fused cuDNN attention kernel is unavailable here (it "
                    "needs an NVIDIA GPU and float16/bfloat16 inputs). Create the "
                    f"layer with flash_attention=None. Underlying error: {error}"
                ) from error
        dtype = jnp.result_type(query.dtype, key.dtype, value.dtype)
        logits_dtype = jnp.promote_types(dtype, jnp.float32)
        logits = jnp.einsum(
            "BTNH,BSNH->BNTS",
            query.astype(dtype),
            key.astype(dtype),
            preferred_element_type=logits_dtype,
        )
        logits = logits * jnp.asarray(self._inverse_sqrt_key_dim, logits.dtype)
        keep = None
        if mask is not None:
            keep = mask
        if is_causal:
            causal = jnp.tril(jnp.ones(logits.shape[-2:], dtype=bool))
            keep = causal if keep is None else jnp.logical_and(keep, causal)
        if keep is not None:
            very_negative = -0.7 * jnp.finfo(logits.dtype).max
            logits = jnp.where(keep, logits, jnp.asarray(very_negative, logits.dtype))
        probs = jax.nn.softmax(logits.astype(jnp.float32), axis=-1).astype(dtype)
        return jnp.einsum("BNTS,BSNH->BTNH", probs, value.astype(dtype))

    def _compute_attention(
        self,
        query: Any,
        key: Any,
        value: Any,
        attention_mask: Any = None,
        training: Any = None,
        return_attention_scores: bool = False,
        use_causal_mask: bool = False,
    ) -> tuple[Any, Any]:
        """Attention on projected ``(B, T, heads, dim)`` tensors; returns
        ``(output, scores)`` (scores None on the fused path)."""
        fused = not (self._dropout > 0.0 or return_attention_scores or query.ndim != 4)
        if fused:
            if attention_mask is not None:
                axis = -len(self._attention_axes) * 2 - 1
                for _ in range(4 - attention_mask.ndim):
                    attention_mask = jnp.expand_dims(attention_mask, axis=axis)
                attention_mask = attention_mask.astype(bool)
            output = self._fused_attention(
                query, key, value, attention_mask, bool(use_causal_mask)
            )
            return output, None
        if use_causal_mask:
            causal = self._compute_causal_mask(query, value)
            attention_mask = (
                causal
                if attention_mask is None
                else jnp.logical_and(attention_mask.astype(bool), causal)
            )
        query = query * jnp.asarray(self._inverse_sqrt_key_dim, query.dtype)
        scores = jnp.einsum(self._dot_product_equation, key, query)
        scores = self._masked_softmax(scores, attention_mask)
        if self._dropout > 0.0:
            final_scores = self._dropout_layer(scores, training=training)
        else:
            final_scores = scores
        output = jnp.einsum(self._combine_equation, final_scores, value)
        return output, scores

    def call(
        self,
        query: Any,
        value: Any,
        key: Any = None,
        query_mask: Any = None,
        value_mask: Any = None,
        key_mask: Any = None,
        attention_mask: Any = None,
        return_attention_scores: bool = False,
        training: Any = None,
        use_causal_mask: bool = False,
    ) -> Any:
        if key is None:
            key = value
        causal_only = (
            use_causal_mask
            and query_mask is None
            and value_mask is None
            and key_mask is None
            and attention_mask is None
            and self._sliding_window is None
            and type(self)._compute_attention is MultiHeadAttention._compute_attention
        )
        if causal_only:
            attention_mask = None
        else:
            attention_mask = self._compute_attention_mask(
                query,
                value,
                query_mask=query_mask,
                value_mask=value_mask,
                key_mask=key_mask,
                attention_mask=attention_mask,
                use_causal_mask=use_causal_mask,
            )
        gate = self._gate_dense(query) if self._use_gate else None
        query = self._query_dense(query)
        key = self._key_dense(key)
        value = self._value_dense(value)
        extra = {"use_causal_mask": True} if causal_only else {}
        output, scores = self._compute_attention(
            query,
            key,
            value,
            attention_mask,
            training,
            return_attention_scores,
            **extra,
        )
        if gate is not None:
            output = output * gate
        output = self._output_dense(output)
        if return_attention_scores:
            return output, scores
        return output

    def _compute_attention_mask(
        self,
        query: Any,
        value: Any,
        query_mask: Any = None,
        value_mask: Any = None,
        key_mask: Any = None,
        attention_mask: Any = None,
        use_causal_mask: bool = False,
    ) -> Any:
        """ANDs the padding masks (query ``[B, T, 1]``, value and key
        ``[B, 1, S]``), the causal and sliding-window masks ``[1, T, S]`` and
        `attention_mask` ``[B, T, S]``; None when there is none."""
        auto = None

        def combine(current: Any, mask: Any) -> Any:
            return mask if current is None else jnp.logical_and(current, mask)

        if query_mask is not None:
            auto = combine(auto, jnp.expand_dims(jnp.asarray(query_mask, bool), -1))
        if value_mask is not None:
            auto = combine(auto, jnp.expand_dims(jnp.asarray(value_mask, bool), -2))
        if key_mask is not None:
            auto = combine(auto, jnp.expand_dims(jnp.asarray(key_mask, bool), -2))
        if use_causal_mask:
            auto = combine(auto, self._compute_causal_mask(query, value))
        if self._sliding_window is not None:
            auto = combine(auto, self._compute_sliding_window_mask(query, value))
        if attention_mask is not None:
            attention_mask = jnp.asarray(attention_mask).astype(bool)
        if auto is not None:
            attention_mask = (
                auto
                if attention_mask is None
                else jnp.logical_and(attention_mask, auto)
            )
        return attention_mask

    def _compute_causal_mask(self, query: Any, value: Any = None) -> Any:
        """``(1, T, S)``: True where the key position is not after the query
        position."""
        q_len = query.shape[1]
        v_len = q_len if value is None else value.shape[1]
        return jnp.tril(jnp.ones((q_len, v_len), dtype=bool))[None]

    def _compute_sliding_window_mask(self, query: Any, value: Any = None) -> Any:
        q_len = query.shape[1]
        v_len = q_len if value is None else value.shape[1]
        rows = jnp.arange(q_len)[:, None]
        cols = jnp.arange(v_len)[None, :]
        return (jnp.abs(rows - cols) < self._sliding_window)[None]

    def compute_output_shape(
        self, query_shape: Any, value_shape: Any, key_shape: Any = None
    ) -> tuple[Any, ...]:
        query_shape = tuple(query_shape)
        value_shape = tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        if value_shape[1:-1] != key_shape[1:-1]:
            raise ValueError(
                f"Layer '{self.name}': all dimensions of `value` and `key`, except "
                f"the last one, must be equal. Received: value_shape={value_shape} "
                f"and key_shape={key_shape}"
            )
        if self._output_shape:
            return query_shape[:-1] + tuple(self._output_shape)
        return query_shape

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "num_heads": self._num_heads,
                "key_dim": self._key_dim,
                "value_dim": self._value_dim,
                "dropout": self._dropout,
                "use_bias": self._use_bias,
                "use_gate": self._use_gate,
                "output_shape": self._output_shape,
                "attention_axes": self._attention_axes,
                "sliding_window": self._sliding_window,
                "kernel_initializer": serialize_keras_object(self._kernel_initializer),
                "bias_initializer": serialize_keras_object(self._bias_initializer),
                "kernel_regularizer": serialize_keras_object(self._kernel_regularizer),
                "bias_regularizer": serialize_keras_object(self._bias_regularizer),
                "activity_regularizer": serialize_keras_object(
                    self._activity_regularizer
                ),
                "kernel_constraint": serialize_keras_object(self._kernel_constraint),
                "bias_constraint": serialize_keras_object(self._bias_constraint),
                "seed": self.seed,
            }
        )
        return config
