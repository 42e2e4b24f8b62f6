"""`Adagrad`: per-parameter rates from the sum of squared gradients."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from kiln._src.api_export import keras_export
from kiln._src.optimizers.base_optimizer import Optimizer, _cast


@keras_export("keras.optimizers.Adagrad")
class Adagrad(Optimizer):
    """The Adagrad optimizer.

    ``accumulator = accumulator + g**2`` (starting from
    ``initial_accumulator_value``) and
    ``w = w - lr * g / sqrt(accumulator + epsilon)``.

    Args:
        learning_rate: a float, a `LearningRateSchedule` or a callable.
        initial_accumulator_value: the accumulators' starting value (>= 0).
        epsilon: the small constant inside the square root.
        **kwargs: the base `Optimizer` arguments.

    Example:
        >>> v = kiln.Variable(np.array([1.0], "float32"))
        >>> Adagrad(learning_rate=0.1).apply([np.array([2.0], "float32")], [v])
    """

    def __init__(
        self,
        learning_rate: Any = 0.001,
        initial_accumulator_value: float = 0.1,
        epsilon: float = 1e-7,
        weight_decay: float | None = None,
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
            weight_decay=weight_decay,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            use_ema=use_ema,
            ema_momentum=ema_momentum,
            ema_overwrite_frequency=ema_overwrite_frequency,
            loss_scale_factor=loss_scale_factor,
            gradient_accumulation_steps=gradient_accumulation_steps,
            name=name,
            **kwargs,
        )
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def build(self, var_list: Any) -> None:
        if self.built:
            return
        super().build(var_list)
        value = self.initial_accumulator_value
        self._accumulators = self.add_optimizer_variables(
            var_list,
            "accumulator",
            initializer=lambda shape, dtype: jnp.full(shape, value, dtype),
        )

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        lr = _cast(learning_rate, variable.dtype)
        gradient = _cast(gradient, variable.dtype)
        accumulator = self._accumulators[self._get_variable_index(variable)]
        self.assign_add(accumulator, jnp.square(gradient))
        self.assign_sub(
            variable, lr * gradient / jnp.sqrt(accumulator.value + self.epsilon)
        )

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon,
            }
        )
        return config
