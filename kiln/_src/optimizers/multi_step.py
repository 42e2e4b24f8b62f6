"""Optimizer updates that span several steps: gradient accumulation, the
moving average of the weights (EMA), and overwrite-with-gradient variables.

They follow Keras's JAX backend: both outcomes of a periodic decision are
computed and one is selected with `where`, so the step is a branch-free pure
function under `jax.jit` and matches Keras value for value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jax.numpy as jnp

if TYPE_CHECKING:
    from kiln._src.optimizers.base_optimizer import Optimizer


def _is_update_step(optimizer: Optimizer) -> Any:
    steps = optimizer.gradient_accumulation_steps
    return (optimizer._iterations.value + 1) % steps == 0


def overwrite_variables_with_gradients(
    optimizer: Optimizer, grads: list[Any], variables: list[Any]
) -> tuple[list[Any], list[Any]]:
    """Variables flagged ``overwrite_with_gradient`` (e.g. float8 scales) take
    their gradient as their new value (with accumulation: the running maximum)
    and are removed from the normal update."""
    flagged = [getattr(v, "overwrite_with_gradient", False) for v in variables]
    if not any(flagged):
        return grads, variables
    for g, v, flag in zip(grads, variables, flagged):
        if not flag:
            continue
        if optimizer.gradient_accumulation_steps:
            is_update = _is_update_step(optimizer)
            index = optimizer._get_variable_index(v)
            accumulator = optimizer._accumulated_gradients[index]
            running_max = jnp.maximum(g, accumulator.value)
            v.assign(jnp.where(is_update, running_max, v.value))
            accumulator.assign(jnp.where(is_update, 0, running_max))
        else:
            v.assign(g)
    kept = [(g, v) for g, v, flag in zip(grads, variables, flagged) if not flag]
    return [g for g, _ in kept], [v for _, v in kept]


def accumulate_then_update(
    optimizer: Optimizer, grads: list[Any], variables: list[Any]
) -> None:
    """Every step adds the gradients to the accumulators; every
    `gradient_accumulation_steps`-th step instead updates with the mean of the
    accumulated gradients and resets the accumulators. On other steps the
    variables and the optimizer state keep their values."""
    steps = optimizer.gradient_accumulation_steps
    is_update = _is_update_step(optimizer)
    accumulators = [
        optimizer._accumulated_gradients[optimizer._get_variable_index(v)]
        for v in variables
    ]
    old_variables = [v.value for v in variables]
    old_state = [v.value for v in optimizer.variables]
    new_accumulators = [
        jnp.where(is_update, jnp.zeros_like(a.value), g + a.value)
        for g, a in zip(grads, accumulators)
    ]
    grads = [
        jnp.where(is_update, (g + a.value) / steps, g)
        for g, a in zip(grads, accumulators)
    ]
    optimizer._clip_decay_and_update(grads, variables)
    for variable, old in zip(variables, old_variables):
        variable.assign(jnp.where(is_update, variable.value, old))
    for variable, old in zip(optimizer.variables, old_state):
        variable.assign(jnp.where(is_update, variable.value, old))
    for accumulator, new in zip(accumulators, new_accumulators):
        accumulator.assign(new)


def update_moving_averages(optimizer: Optimizer) -> None:
    """``average = m * average + (1 - m) * variable`` (the first step copies
    the variable); every `ema_overwrite_frequency` steps, if set, the
    variables take their averages."""
    iterations = optimizer._iterations_value()
    pairs = [
        (variable, average)
        for variable, average in zip(
            optimizer._trainable_variables, optimizer._model_variables_moving_average
        )
        if average is not None
    ]
    for variable, average in pairs:
        not_first = (iterations != 0).astype(variable.dtype)
        momentum = not_first * optimizer.ema_momentum
        average.assign(momentum * average.value + (1 - momentum) * variable.value)
    if optimizer.ema_overwrite_frequency is not None:
        overwrite = (iterations + 1) % optimizer.ema_overwrite_frequency == 0
        for variable, average in pairs:
            variable.assign(jnp.where(overwrite, average.value, variable.value))
