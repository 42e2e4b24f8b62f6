"""`SimpleRNNCell` and `SimpleRNN`: ``h_t = activation(x_t W + h_{t-1} U + b)``."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from kiln._src import activations, constraints, initializers, regularizers
from kiln._src.api_export import keras_export
from kiln._src.backend.random import SeedGenerator
from kiln._src.layers.input_spec import InputSpec
from kiln._src.layers.layer import Layer
from kiln._src.layers.rnn.cell_utils import cell_property, check_units, clip_rate
from kiln._src.layers.rnn.dropout_rnn_cell import DropoutRNNCell
from kiln._src.layers.rnn.rnn import RNN
from kiln._src.saving.serialization_lib import serialize_keras_object


@keras_export("keras.layers.SimpleRNNCell")
class SimpleRNNCell(Layer, DropoutRNNCell):
    """One step of a fully connected RNN whose output is fed back.

    Args:
        units: a positive integer, the size of the output and state.
        activation: default ``"tanh"``; None means linear.
        use_bias: whether to add a bias vector.
        kernel_initializer: for the input kernel (default ``"glorot_uniform"``).
        recurrent_initializer: for the recurrent kernel (default
            ``"orthogonal"``).
        bias_initializer: default ``"zeros"``.
        kernel_regularizer / recurrent_regularizer / bias_regularizer:
            penalties added to the loss.
        kernel_constraint / recurrent_constraint / bias_constraint: applied
            after each update.
        dropout: fraction of the inputs to drop (training only).
        recurrent_dropout: fraction of the previous state to drop.
        seed: an int for the dropout masks.

    Call arguments:
        sequence: a ``(batch, features)`` tensor, one timestep.
        states: the previous state, ``[(batch, units)]``.
        training: whether dropout applies.

    Example:
        >>> rnn = keras.layers.RNN(keras.layers.SimpleRNNCell(4))
        >>> rnn(np.ones((2, 5, 3))).shape
        (2, 4)
    """

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        recurrent_regularizer: Any = None,
        bias_regularizer: Any = None,
        kernel_constraint: Any = None,
        recurrent_constraint: Any = None,
        bias_constraint: Any = None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        seed: int | None = None,
        **kwargs: Any,
    ):
        check_units(units)
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = SeedGenerator(seed)
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = clip_rate(dropout, "dropout")
        self.recurrent_dropout = clip_rate(recurrent_dropout, "recurrent_dropout")
        self.state_size = self.units
        self.output_size = self.units

    def build(self, input_shape: Any) -> None:
        self.kernel = self.add_weight(
            shape=(input_shape[-1], self.units),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, self.units),
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
        )
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(self.units,),
                name="bias",
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )
        else:
            self.bias = None
        self.built = True

    def call(self, sequence: Any, states: Any, training: Any = False) -> Any:
        nested = isinstance(states, list | tuple)
        previous = states[0] if nested else states
        if training:
            input_mask = self.get_dropout_mask(sequence)
            if input_mask is not None:
                sequence = sequence * input_mask
            recurrent_mask = self.get_recurrent_dropout_mask(previous)
            if recurrent_mask is not None:
                previous = previous * recurrent_mask
        h = jnp.matmul(sequence, self.kernel.value)
        if self.bias is not None:
            h = h + self.bias.value
        output = h + jnp.matmul(previous, self.recurrent_kernel.value)
        if self.activation is not None:
            output = self.activation(output)
        return output, ([output] if nested else output)

    def get_initial_state(self, batch_size: int | None = None) -> list[Any]:
        return [jnp.zeros((batch_size, self.state_size), dtype=self.compute_dtype)]

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": serialize_keras_object(self.kernel_initializer),
                "recurrent_initializer": serialize_keras_object(
                    self.recurrent_initializer
                ),
                "bias_initializer": serialize_keras_object(self.bias_initializer),
                "kernel_regularizer": serialize_keras_object(self.kernel_regularizer),
                "recurrent_regularizer": serialize_keras_object(
                    self.recurrent_regularizer
                ),
                "bias_regularizer": serialize_keras_object(self.bias_regularizer),
                "kernel_constraint": serialize_keras_object(self.kernel_constraint),
                "recurrent_constraint": serialize_keras_object(
                    self.recurrent_constraint
                ),
                "bias_constraint": serialize_keras_object(self.bias_constraint),
                "dropout": self.dropout,
                "recurrent_dropout": self.recurrent_dropout,
                "seed": self.seed,
            }
        )
        return config


@keras_export("keras.layers.SimpleRNN")
class SimpleRNN(RNN):
    """A fully connected RNN whose output is fed back as its input.

    Args:
        units: a positive integer, the size of the output.
        activation, use_bias, *_initializer, *_regularizer, *_constraint,
            dropout, recurrent_dropout, seed: as for `SimpleRNNCell`.
        activity_regularizer: accepted for compatibility but, as in Keras 3,
            not applied (and written as null in the config).
        return_sequences, return_state, go_backwards, stateful, unroll: as
            for `RNN`.

    Call arguments:
        sequences: a ``(batch, timesteps, features)`` tensor.
        initial_state: the initial state, ``(batch, units)``.
        mask: a ``(batch, timesteps)`` boolean tensor.
        training: whether dropout applies.

    Example:
        >>> layer = keras.layers.SimpleRNN(4, return_sequences=True)
        >>> layer(np.ones((2, 5, 3))).shape
        (2, 5, 4)
    """

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        recurrent_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        recurrent_constraint: Any = None,
        bias_constraint: Any = None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        unroll: bool = False,
        seed: int | None = None,
        **kwargs: Any,
    ):
        cell = SimpleRNNCell(
            units,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            seed=seed,
            dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True),
            name="simple_rnn_cell",
        )
        # Keras 3's SimpleRNN drops `activity_regularizer` (its config says
        # null); kiln does the same so that models train and save alike.
        super().__init__(
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            **kwargs,
        )
        self.input_spec = [InputSpec(ndim=3)]

    def call(
        self,
        sequences: Any,
        initial_state: Any = None,
        mask: Any = None,
        training: Any = False,
    ) -> Any:
        return super().call(
            sequences, initial_state=initial_state, mask=mask, training=training
        )

    units = cell_property("units")
    activation = cell_property("activation")
    use_bias = cell_property("use_bias")
    kernel_initializer = cell_property("kernel_initializer")
    recurrent_initializer = cell_property("recurrent_initializer")
    bias_initializer = cell_property("bias_initializer")
    kernel_regularizer = cell_property("kernel_regularizer")
    recurrent_regularizer = cell_property("recurrent_regularizer")
    bias_regularizer = cell_property("bias_regularizer")
    kernel_constraint = cell_property("kernel_constraint")
    recurrent_constraint = cell_property("recurrent_constraint")
    bias_constraint = cell_property("bias_constraint")
    dropout = cell_property("dropout")
    recurrent_dropout = cell_property("recurrent_dropout")

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["cell"]
        config.update(
            {
                "units": self.units,
                "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": serialize_keras_object(self.kernel_initializer),
                "recurrent_initializer": serialize_keras_object(
                    self.recurrent_initializer
                ),
                "bias_initializer": serialize_keras_object(self.bias_initializer),
                "kernel_regularizer": serialize_keras_object(self.kernel_regularizer),
                "recurrent_regularizer": serialize_keras_object(
                    self.recurrent_regularizer
                ),
                "bias_regularizer": serialize_keras_object(self.bias_regularizer),
                "activity_regularizer": serialize_keras_object(
                    self.activity_regularizer
                ),
                "kernel_constraint": serialize_keras_object(self.kernel_constraint),
                "recurrent_constraint": serialize_keras_object(
                    self.recurrent_constraint
                ),
                "bias_constraint": serialize_keras_object(self.bias_constraint),
                "dropout": self.dropout,
                "recurrent_dropout": self.recurrent_dropout,
            }
        )
        return config
