"""`RMSprop`: gradients divided by a running root mean square."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from kiln._src.api_export import keras_export
from kiln._src.optimizers.base_optimizer import Optimizer, _cast


@keras_export("keras.optimizers.RMSprop")
class RMSprop(Optimizer):
    """The RMSprop optimizer.

    ``velocity = rho * velocity + (1 - rho) * g**2`` and
    ``increment = lr * g / sqrt(velocity + epsilon)``. When ``centered``,
    ``average = rho * average + (1 - rho) * g`` and the denominator becomes
    ``sqrt(velocity - average**2 + epsilon)``. With ``momentum > 0``,
    ``m = momentum * m + increment`` and ``w = w - m``; otherwise
    ``w = w - increment``.

    Args:
        learning_rate: a float, a `LearningRateSchedule` or a callable.
        rho: the discounting factor of the running averages.
        momentum: the momentum (0 disables it and its slots).
        epsilon: the small constant inside the square root.
        centered: normalize by the estimated variance of the gradient.
        **kwargs: the base `Optimizer` arguments.

    Example:
        >>> v = kiln.Variable(np.array([1.0], "float32"))
        >>> RMSprop(learning_rate=0.1).apply([np.array([2.0], "float32")], [v])
    """

    def __init__(
        self,
        learning_rate: Any = 0.001,
        rho: float = 0.9,
        momentum: float = 0.0,
        epsilon: float = 1e-7,
        centered: bool = False,
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
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered

    def build(self, var_list: Any) -> None:
        if self.built:
            return
        super().build(var_list)
        # Keras's order: all velocities, then all momentums, then all averages.
        self._velocities = self.add_optimizer_variables(var_list, "velocity")
        self._momentums = []
        if self.momentum > 0:
            self._momentums = self.add_optimizer_variables(var_list, "momentum")
        self._average_gradients = []
        if self.centered:
            self._average_gradients = self.add_optimizer_variables(
                var_list, "average_gradient"
            )

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        lr = _cast(learning_rate, variable.dtype)
        gradient = _cast(gradient, variable.dtype)
        index = self._get_variable_index(variable)
        velocity = self._velocities[index]
        rho = self.rho
        self.assign(velocity, rho * velocity.value + (1 - rho) * jnp.square(gradient))
        if self.centered:
            average = self._average_gradients[index]
            self.assign(average, rho * average.value + (1 - rho) * gradient)
            denominator = velocity.value - jnp.square(average.value) + self.epsilon
        else:
            denominator = velocity.value + self.epsilon
        increment = lr * gradient / jnp.sqrt(denominator)
        if self.momentum > 0:
            momentum = self._momentums[index]
            self.assign(momentum, self.momentum * momentum.value + increment)
            self.assign_sub(variable, momentum.value)
        else:
            self.assign_sub(variable, increment)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "rho": self.rho,
                "momentum": self.momentum,
                "epsilon": self.epsilon,
                "centered": self.centered,
            }
        )
        return config
