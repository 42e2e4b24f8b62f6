"""`AdditiveAttention`: Bahdanau-style attention."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from kiln._src.api_export import keras_export
from kiln._src.layers.attention.attention import Attention


@keras_export("keras.layers.AdditiveAttention")
class AdditiveAttention(Attention):
    """Additive attention layer, a.k.a. Bahdanau-style attention.

    Like `Attention`, but ``scores = sum(scale * tanh(query + key))`` over the
    feature axis, with `scale` a learned vector of size ``dim`` when
    `use_scale`.

    Args:
        use_scale: learn a per-feature scale of the scores (default True).
        dropout: fraction of the attention weights dropped in training.
        seed: seed of the dropout.

    Example:
        >>> q, v = np.ones((2, 3, 4)), np.ones((2, 5, 4))
        >>> keras.layers.AdditiveAttention()([q, v]).shape
        (2, 3, 4)
    """

    def __init__(
        self,
        use_scale: bool = True,
        dropout: float = 0.0,
        seed: int | None = None,
        **kwargs: Any,
    ):
        super().__init__(use_scale=use_scale, dropout=dropout, seed=seed, **kwargs)

    def build(self, input_shape: Any) -> None:
        self._validate_inputs(input_shape)
        self.scale = None
        self.concat_score_weight = None
        if self.use_scale:
            self.scale = self.add_weight(
                name="scale", shape=(input_shape[0][-1],), initializer="glorot_uniform"
            )
        self.built = True

    def _calculate_scores(self, query: Any, key: Any) -> Any:
        q = jnp.expand_dims(query, -2)
        k = jnp.expand_dims(key, -3)
        scale = self.scale.value if self.use_scale else 1.0
        return jnp.sum(scale * jnp.tanh(q + k), axis=-1)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["score_mode"]
        return config
