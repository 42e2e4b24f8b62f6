"""`DropoutRNNCell`: the dropout masks of a recurrent cell.

A cell draws its input and recurrent dropout masks once per sequence (the same
mask at every timestep). The `RNN` layer draws them before its time loop (so
no random state changes inside `jax.lax.scan`) and clears them afterwards.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp


class DropoutRNNCell:
    """Mixin for cells with `dropout`, `recurrent_dropout` and a
    `seed_generator`; `dropout_mask_count` (when set) asks for one mask per
    gate instead of one shared mask."""

    dropout: float
    recurrent_dropout: float

    def _create_dropout_mask(self, step_input: Any, rate: float) -> Any:
        count = getattr(self, "dropout_mask_count", None)
        shape = jnp.shape(step_input)
        dtype = jnp.result_type(step_input)

        def draw() -> jax.Array:
            keep_prob = 1.0 - rate
            if keep_prob <= 0.0:
                return jnp.zeros(shape, dtype)
            keep = jax.random.bernoulli(self.seed_generator.next(), keep_prob, shape)
            return jnp.where(keep, 1.0 / keep_prob, 0.0).astype(dtype)

        if count is None:
            return draw()
        return [draw() for _ in range(count)]

    def get_dropout_mask(self, step_input: Any) -> Any:
        """The input dropout mask (drawn on first use), or None."""
        if getattr(self, "_dropout_mask", None) is None and self.dropout > 0:
            self._dropout_mask = self._create_dropout_mask(step_input, self.dropout)
        return getattr(self, "_dropout_mask", None)

    def get_recurrent_dropout_mask(self, step_input: Any) -> Any:
        """The recurrent dropout mask (drawn on first use), or None."""
        if (
            getattr(self, "_recurrent_dropout_mask", None) is None
            and self.recurrent_dropout > 0
        ):
            self._recurrent_dropout_mask = self._create_dropout_mask(
                step_input, self.recurrent_dropout
            )
        return getattr(self, "_recurrent_dropout_mask", None)

    def reset_dropout_mask(self) -> None:
        self._dropout_mask = None

    def reset_recurrent_dropout_mask(self) -> None:
        self._recurrent_dropout_mask = None
