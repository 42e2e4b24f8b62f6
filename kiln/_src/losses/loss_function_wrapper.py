"""`LossFunctionWrapper`: a `Loss` built from a per-sample loss function."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

from kiln._src.api_export import keras_export
from kiln._src.losses.loss import Loss, squeeze_or_expand_to_same_rank
from kiln._src.saving import serialization_lib


# Keras does not export this class publicly: it writes it to files with
# module "keras.src.losses.losses" and registered_name "LossFunctionWrapper".
@keras_export("keras.src.losses.losses.LossFunctionWrapper")
class LossFunctionWrapper(Loss):
    """Wraps ``fn(y_true, y_pred, **kwargs)`` (per-sample losses) as a `Loss`.

    Before calling `fn`, a rank difference of one through a trailing axis of
    size 1 between `y_true` and `y_pred` is removed.

    Args:
        fn: the loss function, returning one value per sample.
        reduction: see `Loss`.
        name: the loss's name.
        dtype: the compute dtype.
        **kwargs: keyword arguments passed on to `fn`.

    Example:
        >>> from kiln.losses import huber
        >>> loss = LossFunctionWrapper(huber, delta=2.0)
        >>> loss([[0.0], [1.0]], [[3.0], [1.0]])
        Array(2., dtype=float32)
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        reduction: str | None = "sum_over_batch_size",
        name: str | None = None,
        dtype: Any = None,
        **kwargs: Any,
    ):
        if not callable(fn):
            raise TypeError(
                "`fn` must be a function `fn(y_true, y_pred, **kwargs)` that "
                f"returns per-sample losses. Received: fn={fn!r}"
            )
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true: jax.Array, y_pred: jax.Array) -> jax.Array:
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["fn"] = serialization_lib.serialize_keras_object(self.fn)
        config.update(serialization_lib.serialize_keras_object(self._fn_kwargs))
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LossFunctionWrapper:
        if "fn" in config:
            config = serialization_lib.deserialize_keras_object(config)
        return cls(**config)

    def __repr__(self) -> str:
        return f"<LossFunctionWrapper({self.fn}, kwargs={self._fn_kwargs})>"


class FunctionLoss(LossFunctionWrapper):
    """Base of the built-in wrappers (`MeanSquaredError`, `Huber`, ...): their
    config is the base `Loss` config only, as in Keras (so, for example,
    `Huber`'s `delta` is not saved)."""

    def get_config(self) -> dict[str, Any]:
        return Loss.get_config(self)
