"""`GroupNormalization`: normalizes each sample over groups of channels."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kiln._src import constraints, initializers, regularizers
from kiln._src.api_export import keras_export
from kiln._src.layers.input_spec import InputSpec
from kiln._src.layers.layer import Layer
from kiln._src.layers.normalization.axes import check_axes
from kiln._src.saving.serialization_lib import serialize_keras_object


@keras_export("keras.layers.GroupNormalization")
class GroupNormalization(Layer):
    """Splits the channels into `groups` and normalizes each sample within
    each group (over the group's channels and all other non-batch axes).

    ``groups=1`` is layer normalization over all axes, ``groups=-1`` (one
    channel per group) instance normalization.

    Args:
        groups: the number of groups; must divide the number of channels.
            -1 uses one group per channel.
        axis: the channels axis.
        epsilon: small float added to the variance.
        center: whether to add the learned offset `beta`.
        scale: whether to multiply by the learned factor `gamma`.
        beta_initializer / gamma_initializer: initializers of the weights.
        beta_regularizer / gamma_regularizer: penalties added to the loss.
        beta_constraint / gamma_constraint: constraints applied after updates.

    Example:
        >>> layer = keras.layers.GroupNormalization(groups=2)
        >>> layer(np.ones((2, 5, 4))).shape
        (2, 5, 4)
    """

    def __init__(
        self,
        groups: int = 32,
        axis: int = -1,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        beta_constraint: Any = None,
        gamma_constraint: Any = None,
        **kwargs: Any,
    ):
        if (
            isinstance(groups, bool)
            or not isinstance(groups, int)
            or (groups <= 0 and groups != -1)
        ):
            raise ValueError(
                "Received an invalid value for argument `groups`: expected a "
                "positive integer, or -1 for one group per channel (instance "
                f"normalization). Received: groups={groups!r}"
            )
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(
                "GroupNormalization expects `axis` to be a single int (the "
                f"channels axis). Received: axis={axis!r}"
            )
        self.supports_masking = True
        self.autocast = False
        self.groups = groups
        self.axis = axis
        self.epsilon = epsilon
        self.center = center
        self.scale = scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)

    def build(self, input_shape: Any) -> None:
        check_axes(self.axis, input_shape, "GroupNormalization")
        channels = input_shape[self.axis]
        if channels is None:
            raise ValueError(
                f"GroupNormalization needs axis {self.axis} (the channels) of "
                f"its input to have a known size. Received: input_shape="
                f"{tuple(input_shape)}"
            )
        if self.groups == -1:
            self.groups = channels
        if channels < self.groups:
            raise ValueError(
                f"GroupNormalization cannot split {channels} channels into "
                f"more groups ({self.groups}); use at most {channels} groups. "
                f"Received: groups={self.groups}"
            )
        if channels % self.groups != 0:
            raise ValueError(
                f"GroupNormalization needs the number of channels ({channels}) "
                f"to be a multiple of the number of groups; pick groups that "
                f"divide {channels}. Received: groups={self.groups}"
            )
        self.input_spec = InputSpec(ndim=len(input_shape), axes={self.axis: channels})
        self.gamma = None
        self.beta = None
        if self.scale:
            self.gamma = self.add_weight(
                shape=(channels,),
                name="gamma",
                initializer=self.gamma_initializer,
                regularizer=self.gamma_regularizer,
                constraint=self.gamma_constraint,
                autocast=False,
            )
        if self.center:
            self.beta = self.add_weight(
                shape=(channels,),
                name="beta",
                initializer=self.beta_initializer,
                regularizer=self.beta_regularizer,
                constraint=self.beta_constraint,
                autocast=False,
            )
        self.built = True

    def call(self, inputs: Any) -> Any:
        input_dtype = inputs.dtype
        ndim = inputs.ndim
        axis = self.axis % ndim
        channels = inputs.shape[axis]
        # (..., C, ...) -> (..., groups, C // groups, ...)
        grouped_shape = list(inputs.shape)
        grouped_shape[axis : axis + 1] = [self.groups, channels // self.groups]
        x = jnp.reshape(inputs, grouped_shape)
        x = x.astype(jnp.promote_types(input_dtype, jnp.float32))
        reduce = tuple(a for a in range(1, ndim + 1) if a != axis)
        mean = jnp.mean(x, axis=reduce, keepdims=True)
        variance = jnp.var(x, axis=reduce, keepdims=True)
        weight_shape = [1] * (ndim + 1)
        weight_shape[axis : axis + 2] = [self.groups, channels // self.groups]
        inv = jax.lax.rsqrt(variance + self.epsilon)
        if self.gamma is not None:
            inv = inv * jnp.reshape(
                jnp.asarray(self.gamma.value, x.dtype), weight_shape
            )
        shift = -mean * inv
        if self.beta is not None:
            shift = shift + jnp.reshape(
                jnp.asarray(self.beta.value, x.dtype), weight_shape
            )
        outputs = (x * inv + shift).astype(input_dtype)
        return jnp.reshape(outputs, inputs.shape).astype(self.compute_dtype)

    def compute_output_shape(self, input_shape: Any) -> Any:
        check_axes(self.axis, input_shape, "GroupNormalization")
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "groups": self.groups,
                "axis": self.axis,
                "epsilon": self.epsilon,
                "center": self.center,
                "scale": self.scale,
                "beta_initializer": serialize_keras_object(self.beta_initializer),
                "gamma_initializer": serialize_keras_object(self.gamma_initializer),
                "beta_regularizer": serialize_keras_object(self.beta_regularizer),
                "gamma_regularizer": serialize_keras_object(self.gamma_regularizer),
                "beta_constraint": serialize_keras_object(self.beta_constraint),
                "gamma_constraint": serialize_keras_object(self.gamma_constraint),
            }
        )
        return config
