"""The time loop shared by every recurrent layer.

`run_recurrence` feeds a step function one timestep at a time, with
`jax.lax.scan` (or a Python loop when `unroll`), and follows Keras 3's JAX
semantics for masks: a masked timestep keeps the previous states, and outputs
either zeros (``zero_output_for_mask``) or the previous step's first state.
The unrolled loop outputs the previous step's output instead (zeros before the
first unmasked step) and ignores ``zero_output_for_mask``, as Keras does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

StepFn = Callable[[Any, Any], tuple[Any, Any]]


def _is_nested(x: Any) -> bool:
    return isinstance(x, list | tuple | dict)


def _broadcast_to_rank(keep: jax.Array, target: jax.Array) -> jax.Array:
    """``(batch,)`` -> ``(batch, 1, ..., 1)`` with the rank of `target`."""
    return keep.reshape(keep.shape + (1,) * (target.ndim - 1))


def _select(keep: jax.Array, new: Any, old: Any) -> Any:
    return jax.tree_util.tree_map(
        lambda n, o: jnp.where(_broadcast_to_rank(keep, n), n, o), new, old
    )


def _time_mask(mask: Any) -> jax.Array:
    """A ``(time, batch)`` boolean "timestep is used" array from a
    ``(batch, time, ...)`` mask (a step with extra mask axes counts when any of
    its entries is set)."""
    mask = jnp.asarray(mask).astype(bool)
    while mask.ndim > 2:
        mask = jnp.any(mask, axis=-1)
    return jnp.swapaxes(mask, 0, 1)


def _previous_output(states: Any) -> Any:
    # Keras's choice: the first state is the previous output (for stacked
    # cells, the first state of the last cell).
    first = states[0]
    if _is_nested(first):
        return states[-1][0]
    return first


def shapes_only() -> bool:
    """Whether this call only computes output shapes (a symbolic call, as
    when a model is built or rebuilt from a file)."""
    from kiln._src.backend.stateless_scope import get_stateless_scope

    scope = get_stateless_scope()
    return scope is not None and scope.symbolic


def run_recurrence(
    step: StepFn,
    sequences: jax.Array,
    initial_states: Any,
    go_backwards: bool = False,
    mask: Any = None,
    unroll: bool = False,
    zero_output_for_mask: bool = False,
) -> tuple[jax.Array, jax.Array, Any]:
    """Runs ``step(input_t, states) -> (output_t, new_states)`` over time.

    Args:
        step: the step function; `new_states` must hold as many arrays as
            `initial_states` (it is given the same structure).
        sequences: a ``(batch, time, ...)`` array.
        initial_states: the states before the first step (a list, possibly
            nested).
        go_backwards: process the sequence from its last timestep; the
            outputs come back in processing order (reversed).
        mask: an optional ``(batch, time)`` boolean array; masked timesteps
            leave the states unchanged.
        unroll: use a Python loop instead of `jax.lax.scan`.
        zero_output_for_mask: output zeros at masked timesteps (scan only).

    Returns:
        ``(last_output, outputs, final_states)`` with `outputs` of shape
        ``(batch, time, ...)`` in processing order.
    """
    treedef = jax.tree_util.tree_structure(initial_states)
    dtypes = [x.dtype for x in jax.tree_util.tree_leaves(initial_states)]

    def call_step(x_t: Any, states: Any) -> tuple[Any, Any]:
        output, new_states = step(x_t, states)
        leaves = jax.tree_util.tree_leaves(new_states)
        if len(leaves) != len(dtypes):
            raise ValueError(
                "The RNN cell returned a different number of states than it "
                f"received: expected {len(dtypes)}, got {len(leaves)}. A cell's "
                "`call(inputs, states)` must return `(output, new_states)` with "
                "one new state per entry of `state_size`."
            )
        leaves = [leaf.astype(dtype) for leaf, dtype in zip(leaves, dtypes)]
        return output, jax.tree_util.tree_unflatten(treedef, leaves)

    inputs = jnp.swapaxes(sequences, 0, 1)
    keep = None if mask is None else _time_mask(mask)
    if unroll and not shapes_only():
        # (A symbolic call, which only needs the shapes, scans: the same
        # shapes at a cost that does not grow with the sequence length.)
        outputs, states = _unrolled(
            call_step, inputs, initial_states, keep, go_backwards
        )
    else:
        outputs, states = _scanned(
            call_step, inputs, initial_states, keep, go_backwards, zero_output_for_mask
        )
    last_output = outputs[-1]
    return last_output, jnp.swapaxes(outputs, 0, 1), states


def _scanned(
    call_step: StepFn,
    inputs: jax.Array,
    initial_states: Any,
    keep: jax.Array | None,
    go_backwards: bool,
    zero_output_for_mask: bool,
) -> tuple[jax.Array, Any]:
    if keep is None:

        def body(states: Any, x_t: Any) -> tuple[Any, Any]:
            output, new_states = call_step(x_t, states)
            return new_states, output

        xs: Any = inputs
    else:

        def body(states: Any, x_and_keep: Any) -> tuple[Any, Any]:
            x_t, keep_t = x_and_keep
            output, new_states = call_step(x_t, states)
            if zero_output_for_mask:
                fallback = jnp.zeros_like(output)
            else:
                fallback = _previous_output(states)
            output = jnp.where(_broadcast_to_rank(keep_t, output), output, fallback)
            return _select(keep_t, new_states, states), output

        xs = (inputs, keep)
    states, outputs = jax.lax.scan(body, initial_states, xs, reverse=go_backwards)
    if go_backwards:
        # scan(reverse=True) stores each output at its input's position; the
        # caller wants processing order.
        outputs = jnp.flip(outputs, axis=0)
    return outputs, states


def _unrolled(
    call_step: StepFn,
    inputs: jax.Array,
    initial_states: Any,
    keep: jax.Array | None,
    go_backwards: bool,
) -> tuple[jax.Array, Any]:
    steps = list(range(inputs.shape[0]))
    if go_backwards:
        steps.reverse()
    states = initial_states
    outputs: list[jax.Array] = []
    for t in steps:
        output, new_states = call_step(inputs[t], states)
        if keep is not None:
            previous = outputs[-1] if outputs else jnp.zeros_like(output)
            output = jnp.where(_broadcast_to_rank(keep[t], output), output, previous)
            new_states = _select(keep[t], new_states, states)
        states = new_states
        outputs.append(output)
    return jnp.stack(outputs), states
