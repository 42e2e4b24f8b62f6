"""`AdamW`: Adam with decoupled weight decay."""

from __future__ import annotations

from typing import Any

from kiln._src.api_export import keras_export
from kiln._src.optimizers.adam import Adam


@keras_export("keras.optimizers.AdamW")
class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019).

    Each step first applies ``w = w - w * weight_decay * learning_rate``, then
    the `Adam` update. Use `exclude_from_weight_decay` to spare variables such
    as biases.

    Args:
        learning_rate: a float, a `LearningRateSchedule` or a callable.
        weight_decay: the decay rate (required; a float).
        beta_1: the decay rate of the first moment.
        beta_2: the decay rate of the second moment.
        epsilon: the small constant added to ``sqrt(v)``.
        amsgrad: use the AMSGrad variant.
        **kwargs: the other base `Optimizer` arguments.

    Example:
        >>> opt = AdamW(learning_rate=0.001, weight_decay=0.01)
        >>> opt.exclude_from_weight_decay(var_names=["bias"])
    """

    def __init__(
        self,
        learning_rate: Any = 0.001,
        weight_decay: float = 0.004,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        use_ema: bool = False,
        ema_momentum: float = 0.99,
        ema_overwrite_frequency: int | None = None,
        loss_scale_factor: float | None = None,
        gradient_accumulation_steps: int | None = None,
        name: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(
            learning_rate=learning_rate,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            amsgrad=amsgrad,
            name=name,
            weight_decay=weight_decay,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            use_ema=use_ema,
            ema_momentum=ema_momentum,
            ema_overwrite_frequency=ema_overwrite_frequency,
            loss_scale_factor=loss_scale_factor,
            gradient_accumulation_steps=gradient_accumulation_steps,
            **kwargs,
        )
        if self.weight_decay is None:
            raise ValueError(
                "AdamW needs a float `weight_decay` (use `Adam` for no decay). "
                "Received: weight_decay=None"
            )
