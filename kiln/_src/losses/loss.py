"""`Loss`: the base class of losses, and the reduction of per-sample values.

A loss's `call(y_true, y_pred)` returns per-sample values; `__call__` weights them
with `sample_weight` (and a mask, when there is one) and reduces them to a scalar
following `reduction`, with Keras 3's rules for ranks and divisors.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kiln._src.api_export import keras_export
from kiln._src.backend import config
from kiln._src.backend.dtypes import standardize_dtype
from kiln._src.backend.variable import Variable
from kiln._src.utils.naming import auto_name

REDUCTIONS = (
    "sum_over_batch_size",
    "sum",
    "mean",
    "mean_with_sample_weight",
    "none",
    None,
)


def resolve_dtype(dtype: Any) -> str:
    """The compute dtype of `dtype` (a name, a dtype policy, or None: floatx)."""
    if dtype is None:
        return config.floatx()
    compute_dtype = getattr(dtype, "compute_dtype", None)
    if isinstance(compute_dtype, str):
        return compute_dtype
    return standardize_dtype(dtype)


def standardize_reduction(reduction: str | None) -> str | None:
    """Checks `reduction` against the names Keras accepts and returns it."""
    if reduction not in REDUCTIONS:
        raise ValueError(
            "Invalid value for argument `reduction`. Expected one of "
            f"{list(REDUCTIONS)}. Received: reduction={reduction!r}"
        )
    return reduction


def to_tensor(x: Any, dtype: Any = None) -> jax.Array:
    """`x` as a `jax.Array` (variables unwrapped), cast to `dtype` if given."""
    if isinstance(x, Variable):
        x = x.value
    return jnp.asarray(x) if dtype is None else jnp.asarray(x, dtype=dtype)


def squeeze_or_expand_to_same_rank(
    x1: jax.Array, x2: jax.Array, expand_rank_1: bool = True
) -> tuple[jax.Array, jax.Array]:
    """Aligns ranks that differ by one through a trailing axis of size 1.

    The operand with the extra trailing 1 is squeezed, except that a rank-1
    partner is expanded instead when `expand_rank_1` (Keras's rule, so that
    ``(batch,)`` labels meet ``(batch, 1)`` predictions as ``(batch, 1)``).
    """
    rank1, rank2 = x1.ndim, x2.ndim
    if rank1 == rank2 + 1 and x1.shape[-1] == 1:
        if rank2 == 1 and expand_rank_1:
            x2 = jnp.expand_dims(x2, -1)
        else:
            x1 = jnp.squeeze(x1, -1)
    if rank2 == rank1 + 1 and x2.shape[-1] == 1:
        if rank1 == 1 and expand_rank_1:
            x1 = jnp.expand_dims(x1, -1)
        else:
            x2 = jnp.squeeze(x2, -1)
    return x1, x2


def divide_no_nan(x: jax.Array, y: jax.Array) -> jax.Array:
    """``x / y``, with 0 wherever ``y == 0``."""
    safe_y = jnp.where(y == 0, jnp.ones_like(y), y)
    return jnp.where(y == 0, jnp.zeros_like(x / safe_y), x / safe_y)


def apply_mask(
    sample_weight: jax.Array | None, mask: Any, dtype: str, reduction: str | None
) -> jax.Array | None:
    """Folds a boolean `mask` into `sample_weight`.

    For the averaging reductions, valid entries get the weight ``total / valid``
    so that dividing by the full size later averages over valid entries only.
    """
    if mask is None:
        return sample_weight
    mask = to_tensor(mask)
    if reduction in ("mean", "sum_over_batch_size"):
        total = jnp.asarray(mask.size, dtype=dtype)
        valid = jnp.sum(mask.astype(dtype))
        float_mask = jnp.where(mask.astype(bool), divide_no_nan(total, valid), 0.0)
        float_mask = float_mask.astype(dtype)
    else:
        float_mask = mask.astype(dtype)
    if sample_weight is None:
        return float_mask
    sample_weight = to_tensor(sample_weight, dtype)
    float_mask, sample_weight = squeeze_or_expand_to_same_rank(
        float_mask, sample_weight
    )
    return sample_weight * float_mask


def reduce_values(
    values: jax.Array,
    sample_weight: jax.Array | None = None,
    reduction: str | None = "sum_over_batch_size",
) -> jax.Array:
    """Reduces already-weighted `values` to a scalar (or leaves them)."""
    if reduction is None or reduction == "none" or values.shape in ((), (0,)):
        return values
    loss = jnp.sum(values)
    if reduction in ("sum_over_batch_size", "mean", "mean_with_sample_weight"):
        if reduction == "mean_with_sample_weight" and sample_weight is not None:
            divisor = jnp.sum(sample_weight).astype(loss.dtype)
        else:
            divisor = jnp.asarray(values.size, dtype=loss.dtype)
        loss = divide_no_nan(loss, divisor)
    return loss


def reduce_weighted_values(
    values: Any,
    sample_weight: Any = None,
    mask: Any = None,
    reduction: str | None = "sum_over_batch_size",
    dtype: Any = None,
) -> jax.Array:
    """Weights per-sample `values` by `sample_weight` and `mask`, then reduces.

    Args:
        values: per-sample (or per-element) loss values.
        sample_weight: weights broadcastable to `values` (a trailing axis of
            size 1 is squeezed or added to match ranks).
        mask: an optional boolean array; masked-out entries do not count.
        reduction: one of ``"sum_over_batch_size"``, ``"sum"``, ``"mean"``,
            ``"mean_with_sample_weight"``, ``"none"`` or None.
        dtype: the compute dtype (default: floatx()).

    Returns:
        The reduced loss (a scalar unless `reduction` is ``"none"``/None).
    """
    reduction = standardize_reduction(reduction)
    dtype = resolve_dtype(dtype)
    values = to_tensor(values, dtype)
    if sample_weight is not None:
        sample_weight = to_tensor(sample_weight, dtype)
    sample_weight = apply_mask(sample_weight, mask, dtype, reduction)
    if sample_weight is not None:
        sample_weight = sample_weight.astype(values.dtype)
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        values = values * sample_weight
    return reduce_values(values, sample_weight, reduction)


@keras_export(["keras.Loss", "keras.losses.Loss"])
class Loss:
    """The base class of losses.

    Subclasses implement `call(y_true, y_pred)`, returning one loss value per
    sample; calling the loss object weights and reduces those values.

    Args:
        name: the loss's name (default: a unique snake-case class name).
        reduction: how per-sample values are reduced: ``"sum_over_batch_size"``
            (the default: the sum divided by the number of elements),
            ``"mean"`` (the same), ``"sum"``, ``"mean_with_sample_weight"``
            (the sum divided by the sum of the sample weights), or
            ``"none"``/None (no reduction).
        dtype: the compute dtype (default: `keras.config.floatx()`).

    Example:
        >>> class MeanSquaredError(Loss):
        ...     def call(self, y_true, y_pred):
        ...         return jnp.mean(jnp.square(y_pred - y_true), axis=-1)
        >>> MeanSquaredError()([[0.0, 1.0]], [[1.0, 1.0]])
        Array(0.5, dtype=float32)
    """

    def __init__(
        self,
        name: str | None = None,
        reduction: str | None = "sum_over_batch_size",
        dtype: Any = None,
    ):
        self.name = name or auto_name(self.__class__.__name__)
        self.reduction = standardize_reduction(reduction)
        self._dtype = resolve_dtype(dtype)

    @property
    def dtype(self) -> str:
        return self._dtype

    def __call__(
        self, y_true: Any, y_pred: Any, sample_weight: Any = None
    ) -> jax.Array:
        """Computes the weighted, reduced loss.

        Args:
            y_true: the targets.
            y_pred: the predictions.
            sample_weight: optional weights, a scalar or an array broadcastable
                to the per-sample losses.

        Returns:
            The loss, reduced according to `self.reduction`.
        """
        y_true = to_tensor(y_true, self.dtype)
        y_pred = to_tensor(y_pred, self.dtype)
        losses, mask = self._call_with_mask(y_true, y_pred)
        return reduce_weighted_values(
            losses,
            sample_weight=sample_weight,
            mask=mask,
            reduction=self.reduction,
            dtype=self.dtype,
        )

    def _call_with_mask(
        self, y_true: jax.Array, y_pred: jax.Array
    ) -> tuple[jax.Array, jax.Array | None]:
        """Per-sample losses, and which of them count (None: all of them)."""
        return self.call(y_true, y_pred), None

    def call(self, y_true: jax.Array, y_pred: jax.Array) -> jax.Array:
        """Returns the per-sample losses; subclasses implement this."""
        raise NotImplementedError(
            f"{self.__class__.__name__} must implement `call(y_true, y_pred)`, "
            "returning one loss value per sample."
        )

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Loss:
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{self.__class__.__name__} name={self.name}>"
