"""`GRUCell` and `GRU`: gated recurrent unit (Cho et al., 2014), gates in
Keras's order update (z), reset (r), candidate (h)."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from kiln._src import activations, constraints, initializers, regularizers
from kiln._src.api_export import keras_export
from kiln._src.backend.random import SeedGenerator
from kiln._src.layers.input_spec import InputSpec
from kiln._src.layers.layer import Layer
from kiln._src.layers.rnn.cell_utils import (
    cell_property,
    check_implementation,
    check_units,
    check_use_cudnn,
    clip_rate,
)
from kiln._src.layers.rnn.dropout_rnn_cell import DropoutRNNCell
from kiln._src.layers.rnn.rnn import RNN
from kiln._src.saving.serialization_lib import serialize_keras_object


@keras_export("keras.layers.GRUCell")
class GRUCell(Layer, DropoutRNNCell):
    """One step of a GRU; its state is ``h``.

    Args:
        units: a positive integer, the size of the output and state.
        activation: for the candidate state (default ``"tanh"``).
        recurrent_activation: for the gates (default ``"sigmoid"``).
        use_bias: whether to add biases.
        kernel_initializer / recurrent_initializer / bias_initializer:
            defaults ``"glorot_uniform"`` / ``"orthogonal"`` / ``"zeros"``.
        kernel_regularizer / recurrent_regularizer / bias_regularizer:
            penalties added to the loss.
        kernel_constraint / recurrent_constraint / bias_constraint: applied
            after each update.
        dropout: fraction of the inputs to drop (training only).
        recurrent_dropout: fraction of the previous state to drop.
        reset_after: apply the reset gate after the recurrent matrix product
            (the cuDNN convention, default True; the bias then has shape
            ``(2, 3 * units)``: input bias and recurrent bias) or before it
            (bias of shape ``(3 * units,)``).
        seed: an int for the dropout masks.

    Call arguments:
        inputs: a ``(batch, features)`` tensor, one timestep.
        states: the previous state ``[(batch, units)]`` (or the bare tensor).
        training: whether dropout applies.

    Example:
        >>> rnn = keras.layers.RNN(keras.layers.GRUCell(4))
        >>> rnn(np.ones((2, 5, 3))).shape
        (2, 4)
    """

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        recurrent_activation: Any = "sigmoid",
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
        reset_after: bool = True,
        seed: int | None = None,
        **kwargs: Any,
    ):
        check_units(units)
        implementation = check_implementation(kwargs.pop("implementation", 2))
        super().__init__(**kwargs)
        self.implementation = implementation
        self.units = units
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
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
        if self.recurrent_dropout != 0.0:
            self.implementation = 1
        if self.implementation == 1:
            # One dropout mask per gate.
            self.dropout_mask_count = 3
        self.seed = seed
        self.seed_generator = SeedGenerator(seed=seed)
        self.reset_after = reset_after
        self.state_size = self.units
        self.output_size = self.units

    def build(self, input_shape: Any) -> None:
        input_dim = input_shape[-1]
        self.kernel = self.add_weight(
            shape=(input_dim, self.units * 3),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, self.units * 3),
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
        )
        if self.use_bias:
            shape = (2, 3 * self.units) if self.reset_after else (3 * self.units,)
            self.bias = self.add_weight(
                shape=shape,
                name="bias",
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )
        else:
            self.bias = None
        self.built = True

    def call(self, inputs: Any, states: Any, training: Any = False) -> Any:
        nested = isinstance(states, list | tuple)
        h_tm1 = states[0] if nested else states
        units = self.units
        kernel = self.kernel.value
        recurrent_kernel = self.recurrent_kernel.value
        input_bias = recurrent_bias = None
        if self.bias is not None:
            bias = self.bias.value
            if self.reset_after:
                input_bias, recurrent_bias = bias[0], bias[1]
            else:
                input_bias = bias

        if self.implementation == 1:
            x = [inputs] * 3
            if training and 0.0 < self.dropout < 1.0:
                x = [inputs * m for m in self.get_dropout_mask(inputs)]
            h = [h_tm1] * 3
            if training and 0.0 < self.recurrent_dropout < 1.0:
                h = [h_tm1 * m for m in self.get_recurrent_dropout_mask(h_tm1)]
            x_z = jnp.matmul(x[0], kernel[:, :units])
            x_r = jnp.matmul(x[1], kernel[:, units : units * 2])
            x_h = jnp.matmul(x[2], kernel[:, units * 2 :])
            if input_bias is not None:
                x_z = x_z + input_bias[:units]
                x_r = x_r + input_bias[units : units * 2]
                x_h = x_h + input_bias[units * 2 :]
            recurrent_z = jnp.matmul(h[0], recurrent_kernel[:, :units])
            recurrent_r = jnp.matmul(h[1], recurrent_kernel[:, units : units * 2])
            if self.reset_after and recurrent_bias is not None:
                recurrent_z = recurrent_z + recurrent_bias[:units]
                recurrent_r = recurrent_r + recurrent_bias[units : units * 2]
            z = self.recurrent_activation(x_z + recurrent_z)
            r = self.recurrent_activation(x_r + recurrent_r)
            if self.reset_after:
                recurrent_h = jnp.matmul(h[2], recurrent_kernel[:, units * 2 :])
                if recurrent_bias is not None:
                    recurrent_h = recurrent_h + recurrent_bias[units * 2 :]
                recurrent_h = r * recurrent_h
            else:
                recurrent_h = jnp.matmul(r * h[2], recurrent_kernel[:, units * 2 :])
        else:
            if training and 0.0 < self.dropout < 1.0:
                inputs = inputs * self.get_dropout_mask(inputs)
            matrix_x = jnp.matmul(inputs, kernel)
            if input_bias is not None:
                matrix_x = matrix_x + input_bias
            x_z, x_r, x_h = jnp.split(matrix_x, 3, axis=-1)
            if self.reset_after:
                matrix_inner = jnp.matmul(h_tm1, recurrent_kernel)
                if recurrent_bias is not None:
                    matrix_inner = matrix_inner + recurrent_bias
            else:
                matrix_inner = jnp.matmul(h_tm1, recurrent_kernel[:, : 2 * units])
            recurrent_z = matrix_inner[:, :units]
            recurrent_r = matrix_inner[:, units : units * 2]
            z = self.recurrent_activation(x_z + recurrent_z)
            r = self.recurrent_activation(x_r + recurrent_r)
            if self.reset_after:
                recurrent_h = r * matrix_inner[:, units * 2 :]
            else:
                recurrent_h = jnp.matmul(r * h_tm1, recurrent_kernel[:, 2 * units :])
        hh = self.activation(x_h + recurrent_h)
        h = z * h_tm1 + (1 - z) * hh
        return h, ([h] if nested else h)

    def get_initial_state(self, batch_size: int | None = None) -> list[Any]:
        return [jnp.zeros((batch_size, self.state_size), dtype=self.compute_dtype)]

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "activation": activations.serialize(self.activation),
                "recurrent_activation": activations.serialize(
                    self.recurrent_activation
                ),
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
                "reset_after": self.reset_after,
                "seed": self.seed,
            }
        )
        return config


@keras_export("keras.layers.GRU")
class GRU(RNN):
    """Gated recurrent unit layer (Cho et al., 2014).

    Args:
        units: a positive integer, the size of the output.
        activation, recurrent_activation, use_bias, *_initializer,
            *_regularizer, *_constraint, dropout, recurrent_dropout,
            reset_after, seed: as for `GRUCell`.
        activity_regularizer: a penalty on the layer's outputs.
        return_sequences, return_state, go_backwards, stateful, unroll: as
            for `RNN`; with `return_state` the layer returns ``(output, h)``.
        use_cudnn: ``"auto"``, True or False; kiln has no cuDNN path, so
            True is an error and the others compute the same thing.

    Call arguments:
        sequences: a ``(batch, timesteps, features)`` tensor.
        initial_state: the initial state, ``(batch, units)``.
        mask: a ``(batch, timesteps)`` boolean tensor.
        training: whether dropout applies.

    Example:
        >>> layer = keras.layers.GRU(4, return_sequences=True)
        >>> layer(np.ones((2, 5, 3))).shape
        (2, 5, 4)
    """

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        recurrent_activation: Any = "sigmoid",
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
        seed: int | None = None,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        unroll: bool = False,
        reset_after: bool = True,
        use_cudnn: Any = "auto",
        **kwargs: Any,
    ):
        cell = GRUCell(
            units,
            activation=activation,
            recurrent_activation=recurrent_activation,
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
            reset_after=reset_after,
            dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True),
            name="gru_cell",
            seed=seed,
            implementation=kwargs.pop("implementation", 2),
        )
        super().__init__(
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            activity_regularizer=activity_regularizer,
            **kwargs,
        )
        self.input_spec = InputSpec(ndim=3)
        self.use_cudnn = check_use_cudnn(use_cudnn)

    def inner_loop(
        self, sequences: Any, initial_state: Any, mask: Any, training: bool = False
    ) -> tuple[Any, Any, Any]:
        if self.use_cudnn is True:
            raise ValueError(
                "use_cudnn=True was specified, but kiln has no cuDNN "
                "implementation. Pass use_cudnn='auto' to use the generic one."
            )
        if isinstance(initial_state, list | tuple):
            initial_state = initial_state[0]
        if isinstance(mask, list | tuple):
            mask = mask[0]
        return super().inner_loop(sequences, initial_state, mask, training=training)

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
    recurrent_activation = cell_property("recurrent_activation")
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
    reset_after = cell_property("reset_after")

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["cell"]
        config.update(
            {
                "units": self.units,
                "activation": activations.serialize(self.activation),
                "recurrent_activation": activations.serialize(
                    self.recurrent_activation
                ),
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
                "reset_after": self.reset_after,
                "seed": self.cell.seed,
            }
        )
        return config
