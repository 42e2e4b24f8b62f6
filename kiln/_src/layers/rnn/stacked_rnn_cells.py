"""`StackedRNNCells`: several recurrent cells run as one, each feeding the next."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from kiln._src.api_export import keras_export
from kiln._src.layers.layer import Layer
from kiln._src.saving.serialization_lib import (
    deserialize_keras_object,
    serialize_keras_object,
)


def _is_nested(x: Any) -> bool:
    return isinstance(x, list | tuple)


@keras_export("keras.layers.StackedRNNCells")
class StackedRNNCells(Layer):
    """Wraps a list of RNN cells so that an `RNN` runs them as one cell: at
    each timestep, the output of each cell is the input of the next.

    Args:
        cells: a list of RNN cells.

    Example:
        >>> cells = [keras.layers.LSTMCell(4), keras.layers.LSTMCell(3)]
        >>> layer = keras.layers.RNN(keras.layers.StackedRNNCells(cells))
        >>> layer(np.ones((2, 5, 3))).shape
        (2, 3)
    """

    def __init__(self, cells: list[Any], **kwargs: Any):
        super().__init__(**kwargs)
        for cell in cells:
            if "call" not in dir(cell):
                raise ValueError(
                    "All cells must have a `call` method. Received cell without a "
                    f"`call` method: {cell}"
                )
            if "state_size" not in dir(cell):
                raise ValueError(
                    "All cells must have a `state_size` attribute. Received cell "
                    f"without a `state_size`: {cell}"
                )
        self.cells = cells

    @property
    def state_size(self) -> list[Any]:
        return [cell.state_size for cell in self.cells]

    @property
    def output_size(self) -> int:
        last = self.cells[-1]
        if getattr(last, "output_size", None) is not None:
            return last.output_size
        if isinstance(last.state_size, list | tuple):
            return last.state_size[0]
        return last.state_size

    def get_initial_state(self, batch_size: int | None = None) -> list[Any]:
        states = []
        for cell in self.cells:
            cell_initial_state = getattr(cell, "get_initial_state", None)
            if cell_initial_state is not None:
                states.append(cell_initial_state(batch_size=batch_size))
            elif isinstance(cell.state_size, int):
                states.append(
                    jnp.zeros((batch_size, cell.state_size), dtype=self.compute_dtype)
                )
            else:
                states.append(
                    [
                        jnp.zeros((batch_size, size), dtype=self.compute_dtype)
                        for size in cell.state_size
                    ]
                )
        return states

    def call(
        self, inputs: Any, states: Any, training: Any = False, **kwargs: Any
    ) -> Any:
        new_states = []
        for cell, cell_states in zip(self.cells, states):
            state_is_list = _is_nested(cell_states)
            cell_states = list(cell_states) if state_is_list else [cell_states]
            if isinstance(cell, Layer) and cell._call_has_training_arg:
                kwargs["training"] = training
            else:
                kwargs.pop("training", None)
            call_fn = cell.__call__ if callable(cell) else cell.call
            inputs, cell_states = call_fn(inputs, cell_states, **kwargs)
            if not _is_nested(cell_states):
                cell_states = [cell_states]
            if len(cell_states) == 1 and not state_is_list:
                cell_states = cell_states[0]
            new_states.append(cell_states)
        if len(new_states) == 1:
            new_states = new_states[0]
        return inputs, new_states

    def build(self, input_shape: Any) -> None:
        for cell in self.cells:
            if isinstance(cell, Layer) and not cell.built:
                cell._build_with_shapes(input_shape=input_shape)
            if getattr(cell, "output_size", None) is not None:
                output_dim = cell.output_size
            elif isinstance(cell.state_size, list | tuple):
                output_dim = cell.state_size[0]
            else:
                output_dim = cell.state_size
            input_shape = (input_shape[0], output_dim)
        self.built = True

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["cells"] = [serialize_keras_object(cell) for cell in self.cells]
        return config

    @classmethod
    def from_config(
        cls, config: dict[str, Any], custom_objects: Any = None
    ) -> StackedRNNCells:
        config = dict(config)
        cells = [
            deserialize_keras_object(cell, custom_objects=custom_objects)
            for cell in config.pop("cells")
        ]
        return super().from_config({"cells": cells, **config})
