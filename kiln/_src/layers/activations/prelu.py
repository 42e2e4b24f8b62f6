"""`PReLU`: leaky ReLU with a learned slope per input unit."""

from __future__ import annotations

from typing import Any

import jax

from kiln._src import constraints, initializers, regularizers
from kiln._src.api_export import keras_export
from kiln._src.layers.input_spec import InputSpec
from kiln._src.layers.layer import Layer
from kiln._src.saving.serialization_lib import serialize_keras_object


@keras_export("keras.layers.PReLU")
class PReLU(Layer):
    """``f(x) = x`` for ``x >= 0`` and ``alpha * x`` otherwise, where `alpha`
    is a learned weight shaped like one sample (shared along `shared_axes`).

    Args:
        alpha_initializer: initializer of `alpha` (default zeros).
        alpha_regularizer: penalty on `alpha`, added to the loss.
        alpha_constraint: constraint applied to `alpha` after updates.
        shared_axes: axis or list of axes (1 = the first after the batch)
            along which one `alpha` is shared, e.g. ``[1, 2]`` for one slope
            per channel of an image.

    Example:
        >>> init = keras.initializers.Constant(0.1)
        >>> layer = keras.layers.PReLU(alpha_initializer=init)
        >>> layer(np.array([[-1.0, 2.0]]))
        Array([[-0.1,  2. ]], dtype=float32)
    """

    def __init__(
        self,
        alpha_initializer: Any = "Zeros",
        alpha_regularizer: Any = None,
        alpha_constraint: Any = None,
        shared_axes: int | list[int] | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        elif isinstance(shared_axes, list | tuple):
            self.shared_axes = list(shared_axes)
        else:
            self.shared_axes = [shared_axes]

    def build(self, input_shape: Any) -> None:
        rank = len(input_shape)
        param_shape = list(input_shape[1:])
        for axis in self.shared_axes or ():
            if (
                isinstance(axis, bool)
                or not isinstance(axis, int)
                or not (1 <= axis < rank)
            ):
                raise ValueError(
                    "`shared_axes` of PReLU must hold axes between 1 and "
                    f"{rank - 1} for inputs of rank {rank} (axis 0 is the "
                    f"batch). Received: shared_axes={self.shared_axes}"
                )
            param_shape[axis - 1] = 1
        if any(size is None for size in param_shape):
            raise ValueError(
                "PReLU needs every non-shared axis of its input to have a "
                "known size; share the unknown ones with `shared_axes`. "
                f"Received: input_shape={tuple(input_shape)}, "
                f"shared_axes={self.shared_axes}"
            )
        self.alpha = self.add_weight(
            shape=param_shape,
            name="alpha",
            initializer=self.alpha_initializer,
            regularizer=self.alpha_regularizer,
            constraint=self.alpha_constraint,
        )
        axes = {}
        if self.shared_axes:
            axes = {
                i: input_shape[i] for i in range(1, rank) if i not in self.shared_axes
            }
        self.input_spec = InputSpec(ndim=rank, axes=axes)
        self.built = True

    def call(self, inputs: Any) -> Any:
        alpha = self.alpha.value.astype(inputs.dtype)
        return jax.nn.relu(inputs) - alpha * jax.nn.relu(-inputs)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "alpha_initializer": serialize_keras_object(self.alpha_initializer),
                "alpha_regularizer": serialize_keras_object(self.alpha_regularizer),
                "alpha_constraint": serialize_keras_object(self.alpha_constraint),
                "shared_axes": self.shared_axes,
            }
        )
        return config
