"""`TimeDistributed`: applies a layer to every timestep of a sequence."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kiln._src.api_export import keras_export
from kiln._src.layers.layer import Layer
from kiln._src.layers.rnn.recurrence import shapes_only
from kiln._src.saving.serialization_lib import (
    deserialize_keras_object,
    serialize_keras_object,
)


def _swap_batch_and_time(data: Any) -> Any:
    return jnp.swapaxes(data, 0, 1)


@keras_export("keras.layers.TimeDistributed")
class TimeDistributed(Layer):
    """Applies the same layer (same weights) to each temporal slice of an input.

    Axis 1 of the input is time: an input of shape ``(batch, time, ...)`` is
    cut into ``time`` slices ``(batch, ...)``, `layer` is applied to each, and
    the results are stacked back along axis 1.

    Args:
        layer: a `keras.layers.Layer` instance.

    Call arguments:
        inputs: a ``(batch, time, ...)`` tensor.
        training: passed to `layer` when its `call` takes it.
        mask: a ``(batch, time)`` boolean tensor; each slice of it is passed to
            `layer` when its `call` takes a mask.

    Example:
        >>> layer = keras.layers.TimeDistributed(keras.layers.Dense(4))
        >>> layer(np.ones((2, 10, 3))).shape
        (2, 10, 4)
    """

    def __init__(self, layer: Layer, **kwargs: Any):
        if not isinstance(layer, Layer):
            raise ValueError(
                "Please initialize `TimeDistributed` layer with a "
                f"`keras.layers.Layer` instance. Received: layer={layer}"
            )
        super().__init__(**kwargs)
        self.layer = layer
        self.supports_masking = True

    def _child_input_shape(self, input_shape: Any) -> tuple[Any, ...]:
        if not isinstance(input_shape, tuple | list) or len(input_shape) < 3:
            raise ValueError(
                "`TimeDistributed` Layer should be passed an `input_shape` with at "
                f"least 3 dimensions, received: input_shape={input_shape}"
            )
        return (input_shape[0], *input_shape[2:])

    def compute_output_shape(self, input_shape: Any) -> Any:
        child_input_shape = self._child_input_shape(input_shape)
        child_output_shape = self.layer.compute_output_shape(child_input_shape)
        return (child_output_shape[0], input_shape[1], *child_output_shape[1:])

    def build(self, input_shape: Any) -> None:
        child_input_shape = self._child_input_shape(tuple(input_shape))
        if not self.layer.built:
            self.layer._build_with_shapes(input_shape=child_input_shape)
        self.built = True

    def call(self, inputs: Any, training: Any = None, mask: Any = None) -> Any:
        if mask is not None:
            _check_mask(mask, inputs)
        inputs = _swap_batch_and_time(inputs)
        if mask is not None:
            mask = _swap_batch_and_time(mask)

        def step(x_t: Any, mask_t: Any) -> Any:
            kwargs: dict[str, Any] = {}
            if self.layer._call_has_mask_arg and mask_t is not None:
                kwargs["mask"] = mask_t
            if self.layer._call_has_training_arg:
                kwargs["training"] = training
            return self.layer.call(x_t, **kwargs)

        steps = inputs.shape[0]
        if isinstance(steps, int) and not shapes_only():
            # One call per timestep, as Keras does (so layers with state, such
            # as BatchNormalization, see one timestep at a time).
            outputs = [
                step(inputs[t], None if mask is None else mask[t]) for t in range(steps)
            ]
            stacked = jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *outputs)
        else:
            # An unknown number of timesteps, or shape inference (building a
            # model, or rebuilding one from a file, where a Python loop would
            # make the time a file-chosen sequence length sets): map over
            # time, like Keras's vectorized_map. The shapes are the loop's.
            stacked = jax.vmap(step)(inputs, mask)
        return jax.tree_util.tree_map(_swap_batch_and_time, stacked)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["layer"] = serialize_keras_object(self.layer)
        return config

    @classmethod
    def from_config(
        cls, config: dict[str, Any], custom_objects: Any = None
    ) -> TimeDistributed:
        config = dict(config)
        layer = deserialize_keras_object(
            config.pop("layer"), custom_objects=custom_objects
        )
        return super().from_config({"layer": layer, **config})


def _check_mask(mask: Any, inputs: Any) -> None:
    mask_shape = tuple(mask.shape)
    input_shape = tuple(inputs.shape)
    if len(mask_shape) < 2:
        raise ValueError(
            "The `mask` passed to the `TimeDistributed` layer must be at least 2D "
            f"(e.g., `(batch_size, timesteps)`), but it has {len(mask_shape)} "
            f"dimension(s) with shape {mask_shape}."
        )
    if mask_shape[:2] != input_shape[:2]:
        raise ValueError(
            f"The `mask` passed to the `TimeDistributed` layer has a shape "
            f"{mask_shape} that is incompatible with the input shape "
            f"{input_shape}. The first two dimensions of the mask (batch size and "
            "timesteps) must match the input's first two dimensions. Expected mask "
            f"shape prefix: ({input_shape[0]}, {input_shape[1]})."
        )
