"""`RNN`: runs a recurrent cell over the timesteps of a sequence."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kiln._src.api_export import keras_export
from kiln._src.backend.variable import Variable
from kiln._src.layers.layer import Layer
from kiln._src.layers.rnn.dropout_rnn_cell import DropoutRNNCell
from kiln._src.layers.rnn.recurrence import run_recurrence
from kiln._src.layers.rnn.stacked_rnn_cells import StackedRNNCells
from kiln._src.saving.serialization_lib import (
    deserialize_keras_object,
    serialize_keras_object,
)


def _is_nested(x: Any) -> bool:
    return isinstance(x, list | tuple)


def single_input_build_config(layer: Layer) -> dict[str, Any] | None:
    """Keras's build config of a layer built from one tensor argument:
    ``{"input_shape": ...}`` (``{"shapes_dict": ...}`` when built from several,
    e.g. sequences and initial states)."""
    config = Layer.get_build_config(layer)
    if config and "shapes_dict" in config and len(config["shapes_dict"]) == 1:
        return {"input_shape": next(iter(config["shapes_dict"].values()))}
    return config


@keras_export("keras.layers.RNN")
class RNN(Layer):
    """Base class for recurrent layers: applies `cell` to each timestep.

    Args:
        cell: an RNN cell (a layer with ``call(inputs, states)`` returning
            ``(output, new_states)`` and a `state_size` attribute), or a list
            of cells, which are stacked (`StackedRNNCells`).
        return_sequences: return the output of every timestep
            ``(batch, timesteps, units)`` instead of the last one.
        return_state: also return the final states: the layer then returns
            ``(output, *states)``.
        go_backwards: process the sequence from its end; the returned sequence
            is reversed.
        stateful: reuse the last states of each batch as the initial states of
            the next one (needs a fixed batch size); `reset_state()` clears them.
        unroll: unroll the loop in Python (faster for short sequences, more
            memory); needs a known number of timesteps.
        zero_output_for_mask: output zeros at masked timesteps (otherwise the
            previous output is repeated); only matters with a mask and
            `return_sequences`.

    Call arguments:
        sequences: a ``(batch, timesteps, features)`` tensor.
        initial_state: a tensor or list of tensors, the initial states.
        mask: a ``(batch, timesteps)`` boolean tensor; False timesteps are
            skipped (the states carry over).
        training: passed to the cell (for dropout).

    Example:
        >>> layer = keras.layers.RNN(keras.layers.LSTMCell(4))
        >>> layer(np.ones((2, 5, 3))).shape
        (2, 4)
    """

    def __init__(
        self,
        cell: Any,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        unroll: bool = False,
        zero_output_for_mask: bool = False,
        **kwargs: Any,
    ):
        if isinstance(cell, list | tuple):
            cell = StackedRNNCells(cell)
        if "call" not in dir(cell):
            raise ValueError(
                "Argument `cell` should have a `call` method. Pass an RNN cell "
                f"such as keras.layers.LSTMCell(units). Received: cell={cell}"
            )
        if "state_size" not in dir(cell):
            raise ValueError(
                "The RNN cell should have a `state_size` attribute (single "
                "integer or list of integers, one integer per RNN state). "
                f"Received: cell={cell}"
            )
        super().__init__(**kwargs)
        self.zero_output_for_mask = zero_output_for_mask
        self.cell = cell
        self.return_sequences = return_sequences
        self.return_state = return_state
        self.go_backwards = go_backwards
        self.stateful = stateful
        self.unroll = unroll
        self.supports_masking = True
        self.input_spec = None
        object.__setattr__(self, "states", None)
        self._expected_batch_size = None
        state_size = getattr(self.cell, "state_size", None)
        if state_size is None:
            raise ValueError(
                "state_size must be specified as property on the RNN cell. "
                f"Received: cell={cell}"
            )
        if isinstance(state_size, bool) or not isinstance(
            state_size, list | tuple | int
        ):
            raise ValueError(
                "state_size must be an integer, or a list/tuple of integers (one "
                f"for each state tensor). Received: state_size={state_size!r}"
            )
        if isinstance(state_size, int):
            self.state_size = [state_size]
            self.single_state = True
        else:
            self.state_size = list(state_size)
            self.single_state = False

    # -- shapes and masks --
    def compute_output_shape(
        self, sequences_shape: Any, initial_state_shape: Any = None
    ) -> Any:
        batch_size = sequences_shape[0]
        length = sequences_shape[1]
        states_shape: list[Any] = []
        for size in self.state_size:
            if isinstance(size, int):
                states_shape.append((batch_size, size))
            else:
                states_shape.append([(batch_size, s) for s in size])
        output_size = getattr(self.cell, "output_size", None)
        if output_size is None:
            output_size = self.state_size[0]
        if not isinstance(output_size, int):
            raise ValueError(
                f"output_size must be an integer. Received: output_size={output_size}"
            )
        if self.return_sequences:
            output_shape: Any = (batch_size, length, output_size)
        else:
            output_shape = (batch_size, output_size)
        if self.return_state:
            return (output_shape, *states_shape)
        return output_shape

    def compute_mask(self, inputs: Any, previous_mask: Any = None) -> Any:
        # A timestep is skipped for the whole sample, so the first mask rules.
        if _is_nested(previous_mask):
            previous_mask = previous_mask[0]
        output_mask = previous_mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None for _ in self.state_size]
        return output_mask

    # -- building --
    def build(self, sequences_shape: Any, initial_state_shape: Any = None) -> None:
        if self.unroll and sequences_shape[1] is None:
            raise ValueError(_UNROLL_NEEDS_TIMESTEPS)
        _check_unroll_while_loading(self, sequences_shape[1])
        step_input_shape = (sequences_shape[0], *tuple(sequences_shape[2:]))
        if isinstance(self.cell, Layer) and not self.cell.built:
            self.cell._build_with_shapes(input_shape=step_input_shape)
        if self.stateful:
            if self.states is not None:
                self.reset_state()
            else:
                if sequences_shape[0] is None:
                    raise ValueError(
                        "When using `stateful=True` in a RNN, the batch size must "
                        "be static: pass `batch_size=...` to `keras.Input`. Found "
                        f"dynamic batch size: sequences.shape={sequences_shape}"
                    )
                self._create_state_variables(sequences_shape[0])
                self._expected_batch_size = sequences_shape[0]
        self.built = True

    def get_build_config(self) -> dict[str, Any] | None:
        return single_input_build_config(self)

    def _create_state_variables(self, batch_size: int) -> None:
        # Like Keras, the states are not weights of the layer: they are neither
        # trained nor saved.
        states = jax.tree_util.tree_map(
            lambda value: Variable(
                value,
                trainable=False,
                dtype=self.variable_dtype,
                name="rnn_state",
                path=f"{self.name}/rnn_state",
            ),
            self.get_initial_state(batch_size),
        )
        object.__setattr__(self, "states", states)

    def get_initial_state(self, batch_size: int) -> list[Any]:
        """Zero states (or the cell's own `get_initial_state`), as a list."""
        cell_initial_state = getattr(self.cell, "get_initial_state", None)
        if cell_initial_state is None:
            return [
                jnp.zeros((batch_size, size), dtype=self._cell_dtype())
                for size in self.state_size
            ]
        states = cell_initial_state(batch_size=batch_size)
        if not _is_nested(states):
            states = [states]
        return list(states)

    def reset_state(self) -> None:
        """Sets the states of a stateful layer back to zeros."""
        if self.states is not None:
            for variable in jax.tree_util.tree_leaves(self.states):
                variable.assign(jnp.zeros(variable.shape, variable.dtype))

    def reset_states(self) -> None:
        self.reset_state()

    def _cell_dtype(self) -> str:
        return getattr(self.cell, "compute_dtype", None) or self.compute_dtype

    # -- running --
    def inner_loop(
        self, sequences: Any, initial_state: Any, mask: Any, training: bool = False
    ) -> tuple[Any, Any, Any]:
        """``(last_output, outputs, final_states)`` of the cell over time."""
        cell_kwargs = {}
        if isinstance(self.cell, Layer) and self.cell._call_has_training_arg:
            cell_kwargs["training"] = training

        def step(inputs: Any, states: Any) -> tuple[Any, Any]:
            output, new_states = self.cell(inputs, states, **cell_kwargs)
            if not _is_nested(new_states):
                new_states = [new_states]
            return output, new_states

        if not _is_nested(initial_state):
            initial_state = [initial_state]
        return run_recurrence(
            step,
            sequences,
            list(initial_state),
            go_backwards=self.go_backwards,
            mask=mask,
            unroll=self.unroll,
            zero_output_for_mask=self.zero_output_for_mask,
        )

    def call(
        self,
        sequences: Any,
        initial_state: Any = None,
        mask: Any = None,
        training: Any = False,
    ) -> Any:
        if self.unroll and sequences.shape[1] is None:
            raise ValueError(_UNROLL_NEEDS_TIMESTEPS)
        if initial_state is None:
            if self.stateful:
                initial_state = jax.tree_util.tree_map(
                    lambda v: v.value,
                    self.states,
                    is_leaf=lambda v: isinstance(v, Variable),
                )
            else:
                initial_state = self.get_initial_state(batch_size=sequences.shape[0])
        if self.stateful and self._expected_batch_size is not None:
            if sequences.shape[0] != self._expected_batch_size:
                raise ValueError(
                    "If an RNN is stateful, the batch size of the input sequences "
                    "must be the same as the batch size of the initial state.\n"
                    f"- Expected batch size: {self._expected_batch_size}\n"
                    f"- Received batch size: {sequences.shape[0]}"
                )
        if not _is_nested(initial_state):
            initial_state = [initial_state]
        dtype = self._cell_dtype()
        initial_state = jax.tree_util.tree_map(
            lambda x: jnp.asarray(x, dtype=dtype), list(initial_state)
        )
        if _is_nested(mask):
            mask = mask[0]
        training = bool(training)
        _reset_dropout_masks(self.cell)
        if training:
            _draw_dropout_masks(self.cell, sequences[:, 0], initial_state)
        try:
            last_output, outputs, states = self.inner_loop(
                sequences=sequences,
                initial_state=initial_state,
                mask=mask,
                training=training,
            )
        finally:
            _reset_dropout_masks(self.cell)
        last_output = last_output.astype(self.compute_dtype)
        outputs = outputs.astype(self.compute_dtype)
        states = jax.tree_util.tree_map(lambda x: x.astype(self.compute_dtype), states)
        if self.stateful:
            for variable, value in zip(
                jax.tree_util.tree_leaves(self.states),
                jax.tree_util.tree_leaves(states),
            ):
                variable.assign(value)
        output = outputs if self.return_sequences else last_output
        if self.return_state:
            return (output, *_match_state_size(states, self.state_size))
        return output

    # -- config --
    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "return_sequences": self.return_sequences,
                "return_state": self.return_state,
                "go_backwards": self.go_backwards,
                "stateful": self.stateful,
                "unroll": self.unroll,
                "zero_output_for_mask": self.zero_output_for_mask,
                "cell": serialize_keras_object(self.cell),
            }
        )
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> RNN:
        config = dict(config)
        # (SimpleRNN, LSTM and GRU configs have no cell: they make their own.)
        if isinstance(config.get("cell"), dict | list):
            config["cell"] = deserialize_keras_object(
                config["cell"], custom_objects=custom_objects
            )
        return super().from_config(config)


def _match_state_size(states: list[Any], state_size: list[Any]) -> list[Any]:
    """Stacked cells: a cell whose `state_size` is an int gives a bare state
    tensor (not a one-element list), as in `compute_output_shape`."""
    return [
        state[0]
        if isinstance(size, int) and _is_nested(state) and len(state) == 1
        else state
        for state, size in zip(states, state_size)
    ]


def _check_unroll_while_loading(layer: Layer, timesteps: Any) -> None:
    """An unrolled RNN traces one cell call per timestep, so a file that
    chooses both `unroll=True` and the sequence length chooses how long a
    load takes: while a file is loaded in safe mode, more than
    `MAX_UNROLL_STEPS` unrolled timesteps are refused (before anything is
    traced). Models built in code, and files loaded with safe_mode=False,
    are not limited (Keras has no limit)."""
    from kiln._src.saving import serialization_lib
    from kiln._src.saving.safety.config_checks import MAX_UNROLL_STEPS

    if (
        layer.unroll
        and isinstance(timesteps, int)
        and timesteps > MAX_UNROLL_STEPS
        and serialization_lib.in_safe_mode()
    ):
        raise ValueError(
            f"RNN layer '{layer.name}' has unroll=True over {timesteps} timesteps; "
            f"a file loaded in safe mode may unroll at most {MAX_UNROLL_STEPS} "
            "(unrolling traces one step per timestep: a file could make loading "
            "take any time). Set unroll=False (the same results, through a "
            "loop), or load the file with safe_mode=False if you trust it."
        )


_UNROLL_NEEDS_TIMESTEPS = (
    "Cannot unroll a RNN if the time dimension is undefined.\n"
    "- If using a Sequential model, specify the time dimension by passing an "
    "`Input()` as your first layer.\n"
    "- If using the functional API, specify the time dimension by passing a "
    "`shape` or `batch_shape` argument to your `Input()`."
)


def _draw_dropout_masks(cell: Any, step_input: Any, states: Any) -> None:
    """Draws every dropout mask of `cell` (and of stacked cells) up front, so the
    time loop itself draws no random numbers."""
    if isinstance(cell, DropoutRNNCell):
        first_state = states[0] if _is_nested(states) else states
        while _is_nested(first_state):
            first_state = first_state[0]
        cell.get_dropout_mask(step_input)
        cell.get_recurrent_dropout_mask(first_state)
    if isinstance(cell, StackedRNNCells):
        batch = step_input.shape[0]
        for inner, inner_states in zip(cell.cells, states):
            _draw_dropout_masks(inner, step_input, inner_states)
            step_input = jnp.zeros(
                (batch, _output_size(inner)), dtype=jnp.result_type(step_input)
            )


def _output_size(cell: Any) -> int:
    size = getattr(cell, "output_size", None)
    if size is not None:
        return size
    state_size = cell.state_size
    return state_size[0] if isinstance(state_size, list | tuple) else state_size


def _reset_dropout_masks(cell: Any) -> None:
    if isinstance(cell, DropoutRNNCell):
        cell.reset_dropout_mask()
        cell.reset_recurrent_dropout_mask()
    if isinstance(cell, StackedRNNCells):
        for inner in cell.cells:
            _reset_dropout_masks(inner)
