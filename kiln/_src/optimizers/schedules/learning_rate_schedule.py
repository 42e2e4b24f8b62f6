"""Learning rate schedules: the learning rate as a function of the step.

An optimizer given a schedule calls it with its iteration counter before each
update, so the schedule must be written with array ops (it runs inside the
jitted train step). The formulas and dtypes follow Keras 3: the computation runs
in the dtype of ``initial_learning_rate`` (floatx for a Python float).
"""

from __future__ import annotations

import math
from typing import Any

import jax.numpy as jnp

from kiln._src.api_export import keras_export
from kiln._src.backend.config import floatx
from kiln._src.backend.variable import convert_to_tensor
from kiln._src.saving import serialization_lib


def _to_tensor(value: Any) -> Any:
    """Python floats become floatx (as in Keras); everything else keeps its dtype."""
    if isinstance(value, float):
        return jnp.asarray(value, dtype=floatx())
    return convert_to_tensor(value)


def _check_positive_steps(arg_name: str, value: Any) -> None:
    if value <= 0:
        raise ValueError(
            f"Argument `{arg_name}` must be > 0: it is the number of steps the "
            f"schedule spans. Received: {arg_name}={value}"
        )


@keras_export("keras.optimizers.schedules.LearningRateSchedule")
class LearningRateSchedule:
    """The base class of learning rate schedules.

    Pass an instance as an optimizer's ``learning_rate``: the optimizer calls
    it with the current step (an integer scalar) and uses the result.
    Subclasses implement ``__call__(step)`` with array ops and, to be
    serializable, ``get_config()``.

    Example:
        >>> class Halving(LearningRateSchedule):
        ...     def __init__(self, initial):
        ...         self.initial = initial
        ...     def __call__(self, step):
        ...         return self.initial / (step + 1)
        ...     def get_config(self):
        ...         return {"initial": self.initial}
        >>> optimizer = kiln.optimizers.SGD(learning_rate=Halving(0.1))
    """

    def __call__(self, step: Any) -> Any:
        raise NotImplementedError(
            f"The learning rate schedule '{type(self).__name__}' must implement "
            "`__call__(self, step)`, returning the learning rate for `step`."
        )

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError(
            f"The learning rate schedule '{type(self).__name__}' must implement "
            "`get_config()` to be serializable."
        )

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LearningRateSchedule:
        """Creates the schedule from the output of `get_config()`."""
        return cls(**config)


@keras_export("keras.optimizers.schedules.ExponentialDecay")
class ExponentialDecay(LearningRateSchedule):
    """Multiplies the learning rate by ``decay_rate`` every ``decay_steps``.

    ``lr(step) = initial_learning_rate * decay_rate ** (step / decay_steps)``,
    where the exponent is floored when ``staircase=True``.

    Args:
        initial_learning_rate: the learning rate at step 0.
        decay_steps: a positive number of steps; see the formula.
        decay_rate: the factor applied per ``decay_steps``.
        staircase: decay at discrete intervals instead of continuously.
        name: an informational name.

    Example:
        >>> schedule = ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
        >>> round(float(schedule(10)), 6)
        0.05
    """

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        decay_rate: float,
        staircase: bool = False,
        name: str = "ExponentialDecay",
    ):
        _check_positive_steps("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step: Any) -> Any:
        initial = _to_tensor(self.initial_learning_rate)
        dtype = initial.dtype
        p = convert_to_tensor(step, dtype) / jnp.asarray(self.decay_steps, dtype)
        if self.staircase:
            p = jnp.floor(p)
        return initial * jnp.power(jnp.asarray(self.decay_rate, dtype), p)

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


@keras_export("keras.optimizers.schedules.PiecewiseConstantDecay")
class PiecewiseConstantDecay(LearningRateSchedule):
    """A constant learning rate per interval of steps.

    The result is ``values[0]`` while ``step <= boundaries[0]``, ``values[i]``
    while ``boundaries[i-1] < step <= boundaries[i]``, and ``values[-1]``
    after the last boundary.

    Args:
        boundaries: strictly increasing step numbers.
        values: one more value than boundaries.
        name: an informational name.

    Example:
        >>> schedule = PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
        >>> float(schedule(15))
        0.5
    """

    def __init__(
        self,
        boundaries: list[Any],
        values: list[Any],
        name: str = "PiecewiseConstant",
    ):
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "`values` must have exactly one more element than `boundaries` "
                "(one value per interval). Received: "
                f"boundaries={boundaries} of length {len(boundaries)}, and "
                f"values={values} of length {len(values)}."
            )
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step: Any) -> Any:
        step = convert_to_tensor(step)
        boundaries = [convert_to_tensor(b).astype(step.dtype) for b in self.boundaries]
        values = [_to_tensor(v) for v in self.values]
        dtype = values[0].dtype
        result = (step <= boundaries[0]).astype(dtype) * values[0]
        result = result + (step > boundaries[-1]).astype(dtype) * values[-1]
        for low, high, value in zip(boundaries[:-1], boundaries[1:], values[1:-1]):
            in_range = jnp.logical_and(step > low, step <= high).astype(dtype)
            result = result + in_range * value
        return result

    def get_config(self) -> dict[str, Any]:
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


@keras_export("keras.optimizers.schedules.PolynomialDecay")
class PolynomialDecay(LearningRateSchedule):
    """Decays polynomially from ``initial_learning_rate`` to ``end_learning_rate``.

    ``lr(step) = (initial - end) * (1 - min(step, decay_steps) / decay_steps)
    ** power + end``. With ``cycle=True`` the horizon grows to the first
    multiple of ``decay_steps`` at or above ``step`` instead of stopping.

    Args:
        initial_learning_rate: the learning rate at step 0.
        decay_steps: a positive number of steps to reach the end rate.
        end_learning_rate: the final learning rate.
        power: the polynomial's power.
        cycle: restart the decay after each ``decay_steps``.
        name: an informational name.

    Example:
        >>> schedule = PolynomialDecay(0.1, decay_steps=10, end_learning_rate=0.0)
        >>> round(float(schedule(5)), 6)
        0.05
    """

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        end_learning_rate: float = 0.0001,
        power: float = 1.0,
        cycle: bool = False,
        name: str = "PolynomialDecay",
    ):
        _check_positive_steps("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    def __call__(self, step: Any) -> Any:
        initial = _to_tensor(self.initial_learning_rate)
        dtype = initial.dtype
        end = jnp.asarray(self.end_learning_rate, dtype)
        power = jnp.asarray(self.power, dtype)
        step = convert_to_tensor(step, dtype)
        decay_steps = jnp.asarray(self.decay_steps, dtype)
        if self.cycle:
            multiplier = jnp.where(step == 0, 1.0, jnp.ceil(step / self.decay_steps))
            decay_steps = decay_steps * multiplier
        else:
            step = jnp.minimum(step, decay_steps)
        p = step / decay_steps
        return (initial - end) * jnp.power(1 - p, power) + end

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "end_learning_rate": self.end_learning_rate,
            "power": self.power,
            "cycle": self.cycle,
            "name": self.name,
        }


@keras_export("keras.optimizers.schedules.InverseTimeDecay")
class InverseTimeDecay(LearningRateSchedule):
    """Decays as ``initial / (1 + decay_rate * step / decay_steps)``.

    With ``staircase=True`` the ratio ``step / decay_steps`` is floored.

    Args:
        initial_learning_rate: the learning rate at step 0.
        decay_steps: a positive number of steps; see the formula.
        decay_rate: see the formula.
        staircase: decay at discrete intervals instead of continuously.
        name: an informational name.

    Example:
        >>> schedule = InverseTimeDecay(0.1, decay_steps=1, decay_rate=0.5)
        >>> round(float(schedule(2)), 6)
        0.05
    """

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        decay_rate: float,
        staircase: bool = False,
        name: str = "InverseTimeDecay",
    ):
        _check_positive_steps("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step: Any) -> Any:
        initial = _to_tensor(self.initial_learning_rate)
        dtype = initial.dtype
        p = convert_to_tensor(step, dtype) / jnp.asarray(self.decay_steps, dtype)
        if self.staircase:
            p = jnp.floor(p)
        denominator = jnp.asarray(1, dtype) + jnp.asarray(self.decay_rate, dtype) * p
        return initial / denominator

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


@keras_export("keras.optimizers.schedules.CosineDecay")
class CosineDecay(LearningRateSchedule):
    """Cosine decay, optionally after a linear warmup.

    Without warmup: ``lr(step) = initial * ((1 - alpha) * c + alpha)`` with
    ``c = 0.5 * (1 + cos(pi * min(step, decay_steps) / decay_steps))``. With
    ``warmup_target``, the rate first moves linearly from
    ``initial_learning_rate`` to ``warmup_target`` over ``warmup_steps``, then
    decays from ``warmup_target`` the same way.

    Args:
        initial_learning_rate: the learning rate at step 0.
        decay_steps: a positive number of steps to decay over.
        alpha: the final rate as a fraction of the decay's starting rate.
        name: an informational name.
        warmup_target: the rate reached at the end of warmup, or None for no
            warmup.
        warmup_steps: the number of warmup steps.

    Example:
        >>> schedule = CosineDecay(0.1, decay_steps=10)
        >>> round(float(schedule(5)), 6)
        0.05
    """

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        alpha: float = 0.0,
        name: str = "CosineDecay",
        warmup_target: float | None = None,
        warmup_steps: int = 0,
    ):
        _check_positive_steps("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_steps = warmup_steps
        self.warmup_target = warmup_target

    def _decay(self, step: Any, decay_steps: Any, decay_from: Any, dtype: Any) -> Any:
        fraction = step / decay_steps
        cosine = 0.5 * (1.0 + jnp.cos(jnp.asarray(math.pi, dtype) * fraction))
        return decay_from * ((1 - self.alpha) * cosine + self.alpha)

    def __call__(self, step: Any) -> Any:
        initial = _to_tensor(self.initial_learning_rate)
        dtype = initial.dtype
        decay_steps = jnp.asarray(self.decay_steps, dtype)
        step = convert_to_tensor(step, dtype)
        if self.warmup_target is None:
            step = jnp.minimum(step, decay_steps)
            return self._decay(step, decay_steps, initial, dtype)
        target = jnp.asarray(self.warmup_target, dtype)
        warmup_steps = jnp.asarray(self.warmup_steps, dtype)
        step = jnp.minimum(step, decay_steps + warmup_steps)
        warmup = (target - initial) * (step / warmup_steps) + initial
        decay = self._decay(step - warmup_steps, decay_steps, target, dtype)
        return jnp.where(step < warmup_steps, warmup, decay)

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "alpha": self.alpha,
            "name": self.name,
            "warmup_target": self.warmup_target,
            "warmup_steps": self.warmup_steps,
        }


@keras_export("keras.optimizers.schedules.CosineDecayRestarts")
class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR).

    The multiplier decays from 1 to ``alpha`` over ``first_decay_steps``; each
    restart then lasts ``t_mul`` times longer and starts ``m_mul`` times lower.

    Args:
        initial_learning_rate: the learning rate at step 0.
        first_decay_steps: a positive length of the first period.
        t_mul: the growth factor of each period's length.
        m_mul: the factor of each period's starting rate.
        alpha: the minimum rate as a fraction of ``initial_learning_rate``.
        name: an informational name.

    Example:
        >>> schedule = CosineDecayRestarts(0.1, first_decay_steps=10)
        >>> round(float(schedule(10)), 6)
        0.1
    """

    def __init__(
        self,
        initial_learning_rate: float,
        first_decay_steps: int,
        t_mul: float = 2.0,
        m_mul: float = 1.0,
        alpha: float = 0.0,
        name: str = "SGDRDecay",
    ):
        _check_positive_steps("first_decay_steps", first_decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self._t_mul = t_mul
        self._m_mul = m_mul
        self.alpha = alpha
        self.name = name

    def __call__(self, step: Any) -> Any:
        initial = _to_tensor(self.initial_learning_rate)
        dtype = initial.dtype
        alpha = jnp.asarray(self.alpha, dtype)
        t_mul = jnp.asarray(self._t_mul, dtype)
        m_mul = jnp.asarray(self._m_mul, dtype)
        fraction = convert_to_tensor(step, dtype) / jnp.asarray(
            self.first_decay_steps, dtype
        )
        if self._t_mul == 1.0:
            restart = jnp.floor(fraction)
            fraction = fraction - restart
        else:
            # Periods grow geometrically: find the period `restart` and the
            # fraction completed inside it from the closed-form sum.
            restart = jnp.floor(
                jnp.log(1.0 - fraction * (1.0 - t_mul)) / jnp.log(t_mul)
            )
            elapsed = (1.0 - jnp.power(t_mul, restart)) / (1.0 - t_mul)
            fraction = (fraction - elapsed) / jnp.power(t_mul, restart)
        cosine = (
            0.5
            * jnp.power(m_mul, restart)
            * (1.0 + jnp.cos(jnp.asarray(math.pi, dtype) * fraction))
        )
        return initial * ((1 - alpha) * cosine + alpha)

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "first_decay_steps": self.first_decay_steps,
            "t_mul": self._t_mul,
            "m_mul": self._m_mul,
            "alpha": self.alpha,
            "name": self.name,
        }


_SCHEDULES = {
    cls.__name__: cls
    for cls in (
        LearningRateSchedule,
        ExponentialDecay,
        PiecewiseConstantDecay,
        PolynomialDecay,
        InverseTimeDecay,
        CosineDecay,
        CosineDecayRestarts,
    )
}


@keras_export("keras.optimizers.schedules.serialize")
def serialize(learning_rate_schedule: LearningRateSchedule) -> dict[str, Any]:
    """Returns the schedule's envelope (``module``, ``class_name``, ``config``...)."""
    return serialization_lib.serialize_keras_object(learning_rate_schedule)


@keras_export("keras.optimizers.schedules.deserialize")
def deserialize(
    config: dict[str, Any], custom_objects: dict[str, Any] | None = None
) -> LearningRateSchedule:
    """Rebuilds a schedule from the output of `serialize`."""
    return serialization_lib.deserialize_keras_object(
        config, custom_objects=custom_objects, module_objects=_SCHEDULES
    )
