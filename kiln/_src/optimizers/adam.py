"""`Adam`: adaptive moment estimation."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from kiln._src.api_export import keras_export
from kiln._src.optimizers.base_optimizer import Optimizer, _cast


@keras_export("keras.optimizers.Adam")
class Adam(Optimizer):
    """The Adam optimizer (Kingma & Ba, 2014).

    At step ``t`` (counting from 1): ``m = m + (g - m) * (1 - beta_1)``,
    ``v = v + (g**2 - v) * (1 - beta_2)``,
    ``alpha = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)`` and
    ``w = w - alpha * m / (sqrt(v) + epsilon)``. With ``amsgrad``, ``v`` in
    the last formula is replaced by the running maximum ``v_hat``.

    Args:
        learning_rate: a float, a `LearningRateSchedule` or a callable.
        beta_1: the decay rate of the first moment.
        beta_2: the decay rate of the second moment.
        epsilon: the small constant added to ``sqrt(v)``.
        amsgrad: use the AMSGrad variant.
        **kwargs: the base `Optimizer` arguments.

    Example:
        >>> v = kiln.Variable(np.array([1.0], "float32"))
        >>> Adam(learning_rate=0.1).apply([np.array([2.0], "float32")], [v])
        >>> np.round(v.numpy(), 4)
        array([0.9], dtype=float32)
    """

    def __init__(
        self,
        learning_rate: Any = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
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
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.amsgrad = amsgrad

    def build(self, var_list: Any) -> None:
        if self.built:
            return
        super().build(var_list)
        # Interleaved per variable (m0, v0, m1, v1, ...), as Keras saves them.
        self._momentums, self._velocities = self.add_optimizer_variables(
            var_list, ["momentum", "velocity"]
        )
        if self.amsgrad:
            self._velocity_hats = self.add_optimizer_variables(var_list, "velocity_hat")

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        dtype = variable.dtype
        lr = _cast(learning_rate, dtype)
        gradient = _cast(gradient, dtype)
        step = _cast(self._iterations_value() + 1, dtype)
        beta_1_power = jnp.power(_cast(self.beta_1, dtype), step)
        beta_2_power = jnp.power(_cast(self.beta_2, dtype), step)
        index = self._get_variable_index(variable)
        m = self._momentums[index]
        v = self._velocities[index]
        alpha = lr * jnp.sqrt(1 - beta_2_power) / (1 - beta_1_power)
        self.assign_add(m, (gradient - m.value) * (1 - self.beta_1))
        self.assign_add(v, (jnp.square(gradient) - v.value) * (1 - self.beta_2))
        if self.amsgrad:
            v_hat = self._velocity_hats[index]
            self.assign(v_hat, jnp.maximum(v_hat.value, v.value))
            v = v_hat
        self.assign_sub(variable, m.value * alpha / (jnp.sqrt(v.value) + self.epsilon))

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "beta_1": self.beta_1,
                "beta_2": self.beta_2,
                "epsilon": self.epsilon,
                "amsgrad": self.amsgrad,
            }
        )
        return config
