"""Gradient clipping as Keras optimizers apply it (`clipnorm`, `global_clipnorm`,
`clipvalue`)."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp


def clip_by_norm(gradient: Any, clipnorm: float) -> Any:
    """Rescales `gradient` so its L2 norm (over all axes) is at most `clipnorm`.

    An all-zero gradient passes through without a NaN: the norm is computed
    with the square root guarded, as Keras does.
    """
    squared = jnp.sum(jnp.square(gradient), keepdims=True)
    nonzero = squared > 0
    norm = jnp.where(nonzero, jnp.sqrt(jnp.where(nonzero, squared, 1.0)), squared)
    return gradient * clipnorm / jnp.maximum(norm, clipnorm)


def global_norm(gradients: list[Any]) -> Any:
    """The L2 norm of all `gradients` taken together (None entries skipped)."""
    squared = [jnp.sum(jnp.square(g)) for g in gradients if g is not None]
    return jnp.sqrt(jnp.sum(jnp.stack(squared)))


def clip_by_global_norm(gradients: list[Any], clipnorm: float) -> list[Any]:
    """Scales every gradient by ``clipnorm / max(global_norm, clipnorm)``.

    A non-finite global norm makes every gradient NaN (Keras's behaviour), so a
    diverging step is visible instead of silently clipped.
    """
    norm = global_norm(gradients)
    scale = clipnorm * jnp.minimum(1.0 / norm, 1.0 / clipnorm)
    scale = scale + (norm - norm)
    return [None if g is None else g * scale for g in gradients]


def clip_by_value(gradient: Any, clipvalue: float) -> Any:
    """Clips each element of `gradient` to ``[-clipvalue, clipvalue]``."""
    return jnp.clip(gradient, -clipvalue, clipvalue)
