"""`LSTMCell` and `LSTM`: long short-term memory (Hochreiter & Schmidhuber,
1997), with gates in Keras's order input, forget, cell, output."""

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


class _UnitForgetBias:
    """Bias initializer: the given one, except ones for the forget gate."""

    def __init__(self, units: int, base: Any):
        self.units = units
        self.base = base

    def __call__(self, shape: Any, dtype: Any = None) -> Any:
        units = self.units
        ones = initializers.get("ones")
        return jnp.concatenate(
            [
                jnp.asarray(self.base((units,), dtype=dtype)),
                jnp.asarray(ones((units,), dtype=dtype)),
                jnp.asarray(self.base((units * 2,), dtype=dtype)),
            ]
        )


@keras_export("keras.layers.LSTMCell")
class LSTMCell(Layer, DropoutRNNCell):
    """One step of an LSTM; its states are ``[h, c]``.

    Args:
        units: a positive integer, the size of the output and of each state.
        activation: for the cell input and output (default ``"tanh"``).
        recurrent_activation: for the gates (default ``"sigmoid"``).
        use_bias: whether to add a bias vector.
        kernel_initializer / recurrent_initializer / bias_initializer:
            defaults ``"glorot_uniform"`` / ``"orthogonal"`` / ``"zeros"``.
        unit_forget_bias: start the forget gate's bias at 1 (and use
            ``bias_initializer="zeros"`` for the rest), as Jozefowicz et al.
            (2015) recommend.
        kernel_regularizer / recurrent_regularizer / bias_regularizer:
            penalties added to the loss.
        kernel_constraint / recurrent_constraint / bias_constraint: applied
            after each update.
        dropout: fraction of the inputs to drop (training only).
        recurrent_dropout: fraction of the previous output to drop.
        seed: an int for the dropout masks.

    Call arguments:
        inputs: a ``(batch, features)`` tensor, one timestep.
        states: ``[h, c]``, each ``(batch, units)``.
        training: whether dropout applies.

    Example:
        >>> rnn = keras.layers.RNN(keras.layers.LSTMCell(4))
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
        unit_forget_bias: bool = True,
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
            self.dropout_mask_count = 4
        self.seed = seed
        self.seed_generator = SeedGenerator(seed=seed)
        self.unit_forget_bias = unit_forget_bias
        self.state_size = [self.units, self.units]
        self.output_size = self.units

    def build(self, input_shape: Any) -> None:
        input_dim = input_shape[-1]
        self.kernel = self.add_weight(
            shape=(input_dim, self.units * 4),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, self.units * 4),
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
        )
        if self.use_bias:
            bias_initializer = (
                _UnitForgetBias(self.units, self.bias_initializer)
                if self.unit_forget_bias
                else self.bias_initializer
            )
            self.bias = self.add_weight(
                shape=(self.units * 4,),
                name="bias",
                initializer=bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )
        else:
            self.bias = None
        self.built = True

    def _gates(self, z: list[Any], c_tm1: Any) -> tuple[Any, Any]:
        z0, z1, z2, z3 = z
        i = self.recurrent_activation(z0)
        f = self.recurrent_activation(z1)
        c = f * c_tm1 + i * self.activation(z2)
        o = self.recurrent_activation(z3)
        return c, o

    def call(self, inputs: Any, states: Any, training: Any = False) -> Any:
        h_tm1, c_tm1 = states[0], states[1]
        kernel = self.kernel.value
        recurrent_kernel = self.recurrent_kernel.value
        bias = None if self.bias is None else self.bias.value
        if self.implementation == 1:
            x = [inputs] * 4
            if training and 0.0 < self.dropout < 1.0:
                masks = self.get_dropout_mask(inputs)
                x = [inputs * m for m in masks]
            h = [h_tm1] * 4
            if training and 0.0 < self.recurrent_dropout < 1.0:
                masks = self.get_recurrent_dropout_mask(h_tm1)
                h = [h_tm1 * m for m in masks]
            kernels = jnp.split(kernel, 4, axis=1)
            recurrent_kernels = jnp.split(recurrent_kernel, 4, axis=1)
            z = [jnp.matmul(x_k, k) for x_k, k in zip(x, kernels)]
            if bias is not None:
                z = [z_k + b for z_k, b in zip(z, jnp.split(bias, 4))]
            z = [
                z_k + jnp.matmul(h_k, k) for z_k, h_k, k in zip(z, h, recurrent_kernels)
            ]
        else:
            if training and 0.0 < self.dropout < 1.0:
                inputs = inputs * self.get_dropout_mask(inputs)
            fused = jnp.matmul(inputs, kernel) + jnp.matmul(h_tm1, recurrent_kernel)
            if bias is not None:
                fused = fused + bias
            z = jnp.split(fused, 4, axis=1)
        c, o = self._gates(z, c_tm1)
        h = o * self.activation(c)
        return h, [h, c]

    def get_initial_state(self, batch_size: int | None = None) -> list[Any]:
        return [
            jnp.zeros((batch_size, size), dtype=self.compute_dtype)
            for size in self.state_size
        ]

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
                "unit_forget_bias": self.unit_forget_bias,
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


@keras_export("keras.layers.LSTM")
class LSTM(RNN):
    """Long short-term memory layer (Hochreiter & Schmidhuber, 1997).

    Args:
        units: a positive integer, the size of the output.
        activation, recurrent_activation, use_bias, *_initializer,
            unit_forget_bias, *_regularizer, *_constraint, dropout,
            recurrent_dropout, seed: as for `LSTMCell`.
        activity_regularizer: a penalty on the layer's outputs.
        return_sequences, return_state, go_backwards, stateful, unroll: as
            for `RNN`; with `return_state` the layer returns
            ``(output, h, c)``.
        use_cudnn: ``"auto"``, True or False; kiln has no cuDNN path, so
            True is an error and the others compute the same thing.

    Call arguments:
        sequences: a ``(batch, timesteps, features)`` tensor.
        initial_state: ``[h, c]``, each ``(batch, units)``.
        mask: a ``(batch, timesteps)`` boolean tensor.
        training: whether dropout applies.

    Example:
        >>> layer = keras.layers.LSTM(4, return_state=True)
        >>> output, h, c = layer(np.ones((2, 5, 3)))
        >>> output.shape, c.shape
        ((2, 4), (2, 4))
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
        unit_forget_bias: bool = True,
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
        use_cudnn: Any = "auto",
        **kwargs: Any,
    ):
        cell = LSTMCell(
            units,
            activation=activation,
            recurrent_activation=recurrent_activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            unit_forget_bias=unit_forget_bias,
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
            dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True),
            name="lstm_cell",
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
    unit_forget_bias = cell_property("unit_forget_bias")
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
                "recurrent_activation": activations.serialize(
                    self.recurrent_activation
                ),
                "use_bias": self.use_bias,
                "kernel_initializer": serialize_keras_object(self.kernel_initializer),
                "recurrent_initializer": serialize_keras_object(
                    self.recurrent_initializer
                ),
                "bias_initializer": serialize_keras_object(self.bias_initializer),
                "unit_forget_bias": self.unit_forget_bias,
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
                "seed": self.cell.seed,
            }
        )
        return config
