"""`Bidirectional`: runs a recurrent layer forwards and a copy backwards, and
merges their outputs."""

from __future__ import annotations

import copy
from typing import Any

import jax.numpy as jnp

from kiln._src.api_export import keras_export
from kiln._src.layers.layer import Layer
from kiln._src.layers.rnn.rnn import single_input_build_config
from kiln._src.saving.serialization_lib import (
    deserialize_keras_object,
    serialize_keras_object,
)

_MERGE_MODES = ("sum", "mul", "ave", "concat", None)


def _renamed_copy(layer: Layer, prefix: str, go_backwards: bool | None) -> Layer:
    """A fresh layer from `layer`'s config, named ``<prefix>_<name>``."""
    config = serialize_keras_object(layer)
    name = layer.name.removeprefix(f"{prefix}_")
    config["config"]["name"] = f"{prefix}_{name}"
    if go_backwards is not None:
        config["config"]["go_backwards"] = go_backwards
    return deserialize_keras_object(config)


@keras_export("keras.layers.Bidirectional")
class Bidirectional(Layer):
    """Bidirectional wrapper for RNNs.

    The wrapped layer's copy `forward_layer` reads the sequence in order, and
    `backward_layer` (by default another copy with ``go_backwards=True``)
    reads it from the end; their outputs are merged.

    Args:
        layer: a recurrent layer (`LSTM`, `GRU`, `SimpleRNN`, `RNN`, or any
            layer with `go_backwards`, `return_sequences`, `return_state` and
            `stateful` attributes).
        merge_mode: how to combine the two outputs: ``"concat"`` (default),
            ``"sum"``, ``"mul"``, ``"ave"``, or None (return both).
        weights: optional initial weights: the forward layer's, then the
            backward layer's (set when the layer is built).
        backward_layer: an optional layer for the backward direction; it must
            have ``go_backwards`` opposite to `layer`'s and the same
            `return_sequences`, `return_state` and `stateful`.

    Call arguments:
        sequences: a ``(batch, timesteps, features)`` tensor.
        initial_state: the forward layer's initial states followed by the
            backward layer's.
        mask: a ``(batch, timesteps)`` boolean tensor.
        training: passed to both layers.

    Example:
        >>> layer = keras.layers.Bidirectional(keras.layers.LSTM(4))
        >>> layer(np.ones((2, 5, 3))).shape
        (2, 8)
    """

    def __init__(
        self,
        layer: Layer,
        merge_mode: str | None = "concat",
        weights: Any = None,
        backward_layer: Layer | None = None,
        **kwargs: Any,
    ):
        if not isinstance(layer, Layer):
            raise ValueError(
                "Please initialize `Bidirectional` layer with a "
                f"`keras.layers.Layer` instance. Received: layer={layer}"
            )
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError(
                "`backward_layer` need to be a `keras.layers.Layer` instance. "
                f"Received: backward_layer={backward_layer}"
            )
        if merge_mode not in _MERGE_MODES:
            raise ValueError(
                f"Invalid merge mode. Merge mode should be one of "
                '{"sum", "mul", "ave", "concat", None}. '
                f"Received: merge_mode={merge_mode!r}"
            )
        super().__init__(**kwargs)
        self.forward_layer = _renamed_copy(layer, "forward", None)
        if backward_layer is None:
            self.backward_layer = _renamed_copy(layer, "backward", True)
        else:
            self.backward_layer = backward_layer
        if hasattr(layer, "use_cudnn"):
            self.forward_layer.use_cudnn = layer.use_cudnn
            self.backward_layer.use_cudnn = layer.use_cudnn
        self._verify_layer_config()
        # Masked timesteps output zeros, so that both directions line up.
        for inner in (self.forward_layer, self.backward_layer):
            if getattr(inner, "zero_output_for_mask", None) is not None:
                inner.zero_output_for_mask = inner.return_sequences
        self.merge_mode = merge_mode
        self._initial_weights = list(weights) if weights else None
        self.stateful = layer.stateful
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.supports_masking = True
        self.input_spec = layer.input_spec

    def _verify_layer_config(self) -> None:
        forward, backward = self.forward_layer, self.backward_layer
        if forward.go_backwards == backward.go_backwards:
            raise ValueError(
                "Forward layer and backward layer should have different "
                "`go_backwards` value. Received: forward_layer.go_backwards="
                f"{forward.go_backwards}, backward_layer.go_backwards="
                f"{backward.go_backwards}"
            )
        for attribute in ("stateful", "return_sequences", "return_state"):
            forward_value = getattr(forward, attribute)
            backward_value = getattr(backward, attribute)
            if forward_value != backward_value:
                raise ValueError(
                    "Forward layer and backward layer are expected to have the "
                    f'same value for attribute "{attribute}", got '
                    f'"{forward_value}" for forward layer and "{backward_value}" '
                    "for backward layer"
                )

    # -- shapes and masks --
    def compute_output_shape(
        self, sequences_shape: Any, initial_state_shape: Any = None
    ) -> Any:
        output_shape = self.forward_layer.compute_output_shape(sequences_shape)
        state_shape: tuple[Any, ...] = ()
        if self.return_state:
            output_shape, state_shape = output_shape[0], tuple(output_shape[1:])
        if self.merge_mode == "concat":
            output_shape = (*output_shape[:-1], output_shape[-1] * 2)
        elif self.merge_mode is None:
            output_shape = [output_shape, output_shape]
        if self.return_state:
            if self.merge_mode is None:
                return (*output_shape, *state_shape, *state_shape)
            return (output_shape, *state_shape, *state_shape)
        return output_shape

    def compute_mask(self, inputs: Any, previous_mask: Any = None) -> Any:
        if isinstance(previous_mask, list | tuple):
            previous_mask = previous_mask[0]
        sequence_mask = previous_mask if self.return_sequences else None
        masks = [sequence_mask] * (2 if self.merge_mode is None else 1)
        if self.return_state:
            # Keras gives masks to the merged output(s) only, never to states.
            states = len(getattr(self.forward_layer, "state_size", ()))
            return masks + [None] * (2 * states)
        return masks[0] if len(masks) == 1 else masks

    # -- building --
    def build(self, sequences_shape: Any, initial_state_shape: Any = None) -> None:
        for inner in (self.forward_layer, self.backward_layer):
            if not inner.built:
                inner._build_with_shapes(input_shape=sequences_shape)
        if self._initial_weights:
            half = len(self._initial_weights) // 2
            self.forward_layer.set_weights(self._initial_weights[:half])
            self.backward_layer.set_weights(self._initial_weights[half:])
            self._initial_weights = None
        self.built = True

    def get_build_config(self) -> dict[str, Any] | None:
        return single_input_build_config(self)

    # -- running --
    def call(
        self,
        sequences: Any,
        initial_state: Any = None,
        mask: Any = None,
        training: Any = None,
    ) -> Any:
        kwargs: dict[str, Any] = {}
        if self.forward_layer._call_has_training_arg and training is not None:
            kwargs["training"] = training
        if self.forward_layer._call_has_mask_arg:
            kwargs["mask"] = mask
        forward_state = backward_state = None
        if initial_state is not None:
            half = len(initial_state) // 2
            forward_state = list(initial_state[:half])
            backward_state = list(initial_state[half:])
        y = self.forward_layer(sequences, initial_state=forward_state, **kwargs)
        y_rev = self.backward_layer(sequences, initial_state=backward_state, **kwargs)
        states: tuple[Any, ...] = ()
        if self.return_state:
            states = (*y[1:], *y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        y = jnp.asarray(y).astype(self.compute_dtype)
        y_rev = jnp.asarray(y_rev).astype(self.compute_dtype)
        if self.return_sequences:
            y_rev = jnp.flip(y_rev, axis=1)
        if self.merge_mode == "concat":
            output: Any = jnp.concatenate([y, y_rev], axis=-1)
        elif self.merge_mode == "sum":
            output = y + y_rev
        elif self.merge_mode == "ave":
            output = (y + y_rev) / 2
        elif self.merge_mode == "mul":
            output = y * y_rev
        else:
            output = (y, y_rev)
        if self.return_state:
            if self.merge_mode is None:
                return (*output, *states)
            return (output, *states)
        return output

    # -- state --
    def reset_state(self) -> None:
        if not self.stateful:
            raise AttributeError(
                "Layer must be stateful: only a Bidirectional wrapping a layer "
                "created with stateful=True has states to reset."
            )
        self.forward_layer.reset_state()
        self.backward_layer.reset_state()

    def reset_states(self) -> None:
        self.reset_state()

    @property
    def states(self) -> Any:
        forward = getattr(self.forward_layer, "states", None)
        backward = getattr(self.backward_layer, "states", None)
        if forward and backward:
            return tuple(forward + backward)
        return None

    # -- config --
    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "merge_mode": self.merge_mode,
                "layer": serialize_keras_object(self.forward_layer),
                "backward_layer": serialize_keras_object(self.backward_layer),
            }
        )
        return config

    @classmethod
    def from_config(
        cls, config: dict[str, Any], custom_objects: Any = None
    ) -> Bidirectional:
        config = copy.deepcopy(config)
        config["layer"] = deserialize_keras_object(
            config["layer"], custom_objects=custom_objects
        )
        backward_config = config.pop("backward_layer", None)
        if backward_config is not None:
            config["backward_layer"] = deserialize_keras_object(
                backward_config, custom_objects=custom_objects
            )
        return super().from_config(config)
