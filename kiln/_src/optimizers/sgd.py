"""`SGD`: gradient descent, with optional (Nesterov) momentum."""

from __future__ import annotations

from typing import Any

from kiln._src.api_export import keras_export
from kiln._src.optimizers.base_optimizer import Optimizer, _cast


@keras_export("keras.optimizers.SGD")
class SGD(Optimizer):
    """Gradient descent with optional momentum.

    Without momentum: ``w = w - learning_rate * g``. With momentum:
    ``velocity = momentum * velocity - learning_rate * g``, then
    ``w = w + velocity``; with Nesterov,
    ``w = w + momentum * velocity - learning_rate * g``.

    Args:
        learning_rate: a float, a `LearningRateSchedule` or a callable.
        momentum: a float in ``[0, 1]``; 0 disables momentum (and its slots).
        nesterov: use Nesterov momentum.
        **kwargs: the base `Optimizer` arguments (`weight_decay`, `clipnorm`,
            `clipvalue`, `global_clipnorm`, `use_ema`, `ema_momentum`,
            `ema_overwrite_frequency`, `loss_scale_factor`,
            `gradient_accumulation_steps`, `name`).

    Example:
        >>> v = kiln.Variable(np.array([1.0], "float32"))
        >>> SGD(learning_rate=0.1).apply([np.array([2.0], "float32")], [v])
        >>> v.numpy()
        array([0.8], dtype=float32)
    """

    def __init__(
        self,
        learning_rate: Any = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
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
        # Keras requires a float here (so `momentum=0` is refused too).
        if not isinstance(momentum, float) or not 0 <= momentum <= 1:
            raise ValueError(
                "`momentum` must be a float between 0 and 1 (e.g. 0.9 or 0.0). "
                f"Received: momentum={momentum!r}"
            )
        self.momentum = momentum
        self.nesterov = nesterov

    def build(self, var_list: Any) -> None:
        if self.built:
            return
        super().build(var_list)
        self.momentums = []
        if self.momentum != 0:
            self.momentums = self.add_optimizer_variables(var_list, "momentum")

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        lr = _cast(learning_rate, variable.dtype)
        gradient = _cast(gradient, variable.dtype)
        if self.momentum == 0:
            self.assign_sub(variable, gradient * lr)
            return
        m = self.momentums[self._get_variable_index(variable)]
        momentum = _cast(self.momentum, variable.dtype)
        self.assign(m, m.value * momentum - gradient * lr)
        if self.nesterov:
            self.assign_add(variable, m.value * momentum - gradient * lr)
        else:
            self.assign_add(variable, m.value)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"momentum": self.momentum, "nesterov": self.nesterov})
        return config
