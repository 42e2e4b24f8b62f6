"""`Attention`: dot-product (Luong-style) attention over a query and a value."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kiln._src.api_export import keras_export
from kiln._src.backend.random import SeedGenerator
from kiln._src.layers.layer import Layer


@keras_export("keras.layers.Attention")
class Attention(Layer):
    """Dot-product attention layer, a.k.a. Luong-style attention.

    Called on ``[query, value]`` or ``[query, value, key]`` (key defaults to
    value), shapes ``(B, Tq, dim)``, ``(B, Tv, dim)``, ``(B, Tv, dim)``:
    ``scores = query @ key^T`` (times `scale` if `use_scale`), or with
    ``score_mode="concat"`` ``sum(tanh(query + key))``; the output is
    ``softmax(scores) @ value``, shape ``(B, Tq, dim)``.

    Args:
        use_scale: learn a scalar that scales the scores.
        score_mode: ``"dot"`` or ``"concat"``.
        dropout: fraction of the attention weights dropped in training.
        seed: seed of the dropout.

    Call arguments:
        inputs: ``[query, value]`` or ``[query, value, key]``.
        mask: ``[query_mask, value_mask]`` (each ``(B, T)`` boolean or None):
            masked value positions get no attention; masked query positions
            give zero outputs.
        training: whether dropout is applied.
        return_attention_scores: also return the ``(B, Tq, Tv)`` weights.
        use_causal_mask: forbid attending to later positions.

    Example:
        >>> q, v = np.ones((2, 3, 4)), np.ones((2, 5, 4))
        >>> keras.layers.Attention()([q, v]).shape
        (2, 3, 4)
    """

    def __init__(
        self,
        use_scale: bool = False,
        score_mode: str = "dot",
        dropout: float = 0.0,
        seed: int | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if (
            isinstance(dropout, bool)
            or not isinstance(dropout, int | float)
            or not 0 <= dropout <= 1
        ):
            raise ValueError(
                "Invalid value for argument `dropout`: expected a float between 0 "
                f"and 1. Received: dropout={dropout!r}"
            )
        self.use_scale = use_scale
        self.score_mode = score_mode
        self.dropout = dropout
        self.seed = seed
        if dropout > 0:
            self.seed_generator = SeedGenerator(seed)
        if score_mode not in ("dot", "concat"):
            raise ValueError(
                "Invalid value for argument score_mode. Expected one of "
                f"{{'dot', 'concat'}}. Received: score_mode={score_mode!r}"
            )

    def build(self, input_shape: Any) -> None:
        self._validate_inputs(input_shape)
        self.scale = None
        self.concat_score_weight = None
        if self.use_scale:
            self.scale = self.add_weight(name="scale", shape=(), initializer="ones")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight(
                name="concat_score_weight", shape=(), initializer="ones"
            )
        self.built = True

    def _calculate_scores(self, query: Any, key: Any) -> Any:
        """``(B, Tq, Tv)`` scores of each query step against each key step."""
        if self.score_mode == "dot":
            scores = jnp.matmul(query, jnp.swapaxes(key, -2, -1))
            if self.scale is not None:
                scores = scores * self.scale.value
            return scores
        q = jnp.expand_dims(query, -2)
        k = jnp.expand_dims(key, -3)
        summed = q + k if self.scale is None else self.scale.value * (q + k)
        return self.concat_score_weight.value * jnp.sum(jnp.tanh(summed), axis=-1)

    def _apply_scores(
        self, scores: Any, value: Any, scores_mask: Any = None, training: Any = False
    ) -> tuple[Any, Any]:
        if scores_mask is not None:
            padding = jnp.logical_not(scores_mask)
            if padding.ndim == 2:
                padding = jnp.expand_dims(padding, -2)
            big = 65504.0 if scores.dtype == jnp.float16 else 1.0e9
            scores = jnp.where(padding, scores - big, scores)
        weights = jax.nn.softmax(scores, axis=-1)
        if training and self.dropout > 0:
            keep = 1.0 - self.dropout
            kept = jax.random.bernoulli(self.seed_generator.next(), keep, weights.shape)
            weights = jnp.where(kept, weights / keep, jnp.zeros((), weights.dtype))
        return jnp.matmul(weights, value), weights

    def _calculate_score_mask(
        self, scores: Any, value_mask: Any, use_causal_mask: bool
    ) -> Any:
        if not use_causal_mask:
            return value_mask
        tq, tv = scores.shape[-2], scores.shape[-1]
        causal = jnp.tril(jnp.ones((tq, tv), dtype=bool))[None]
        if value_mask is not None:
            return jnp.logical_and(jnp.expand_dims(value_mask, -2), causal)
        return causal

    def call(
        self,
        inputs: Any,
        mask: Any = None,
        training: Any = False,
        return_attention_scores: bool = False,
        use_causal_mask: bool = False,
    ) -> Any:
        self._validate_inputs(inputs, mask)
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) > 2 else value
        query_mask = mask[0] if mask else None
        value_mask = mask[1] if mask else None
        if value_mask is not None:
            value_mask = jnp.asarray(value_mask).astype(bool)
        scores = self._calculate_scores(query, key)
        scores_mask = self._calculate_score_mask(scores, value_mask, use_causal_mask)
        output, weights = self._apply_scores(scores, value, scores_mask, training)
        if query_mask is not None:
            query_mask = jnp.expand_dims(jnp.asarray(query_mask).astype(bool), -1)
            output = jnp.where(query_mask, output, jnp.zeros((), output.dtype))
        if return_attention_scores:
            return output, weights
        return output

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        self._validate_inputs(inputs, mask)
        if mask is None or mask[0] is None:
            return None
        return mask[0]

    def compute_output_shape(self, input_shape: Any) -> tuple[Any, ...]:
        query_shape, value_shape = input_shape[0], input_shape[1]
        return (*query_shape[:-1], value_shape[-1])

    def _validate_inputs(self, inputs: Any, mask: Any = None) -> None:
        class_name = type(self).__name__
        if not isinstance(inputs, list | tuple):
            raise ValueError(
                f"{class_name} layer must be called on a list of inputs, namely "
                f"[query, value] or [query, value, key]. Received: inputs of type "
                f"{type(inputs).__name__}."
            )
        if not 2 <= len(inputs) <= 3:
            raise ValueError(
                f"{class_name} layer accepts inputs list of length 2 or 3, namely "
                f"[query, value] or [query, value, key]. Received length: "
                f"{len(inputs)}."
            )
        if mask is not None:
            if not isinstance(mask, list | tuple):
                raise ValueError(
                    f"{class_name} layer mask must be a list, namely [query_mask, "
                    f"value_mask]. Received: mask of type {type(mask).__name__}."
                )
            if not 2 <= len(mask) <= 3:
                raise ValueError(
                    f"{class_name} layer accepts mask list of length 2 or 3. "
                    f"Received length: {len(mask)}."
                )

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "use_scale": self.use_scale,
                "score_mode": self.score_mode,
                "dropout": self.dropout,
                "seed": self.seed,
            }
        )
        return config
