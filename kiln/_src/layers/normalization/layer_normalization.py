"""`LayerNormalization`: normalizes each sample over its feature axes."""

from __future__ import annotations

import warnings
from typing import Any

import jax
import jax.numpy as jnp

from kiln._src import constraints, initializers, regularizers
from kiln._src.api_export import keras_export
from kiln._src.layers.layer import Layer
from kiln._src.layers.normalization.axes import (
    check_axes,
    check_known,
    standardize_axis,
)
from kiln._src.saving.serialization_lib import serialize_keras_object


@keras_export("keras.layers.LayerNormalization")
class LayerNormalization(Layer):
    """Normalizes each sample to mean 0 and standard deviation 1 over `axis`,
    then applies the learned ``gamma * x + beta`` (per feature).

    Args:
        axis: the axis or list of axes to normalize over (default: the last).
        epsilon: small float added to the variance.
        center: whether to add the learned offset `beta`.
        scale: whether to multiply by the learned factor `gamma`.
        beta_initializer / gamma_initializer: initializers of the weights.
        beta_regularizer / gamma_regularizer: penalties added to the loss.
        beta_constraint / gamma_constraint: constraints applied after updates.
        rms_scaling: deprecated (keyword only): divide by
            ``sqrt(variance + epsilon)`` without centering and without `beta`;
            use `RMSNormalization` instead.

    Example:
        >>> layer = keras.layers.LayerNormalization()
        >>> layer(np.array([[1.0, 2.0, 3.0]])).shape
        (1, 3)
    """

    def __init__(
        self,
        axis: int | list[int] = -1,
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
        rms_scaling = kwargs.pop("rms_scaling", False)
        if rms_scaling:
            warnings.warn(
                "`rms_scaling=True` is deprecated: it divides by the standard "
                "deviation, not by the root mean square. Use "
                "`keras.layers.RMSNormalization` for RMS normalization.",
                stacklevel=2,
            )
        super().__init__(**kwargs)
        self.axis = standardize_axis(axis, "LayerNormalization")
        self.epsilon = epsilon
        self.center = center
        self.scale = scale
        self.rms_scaling = rms_scaling
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True
        self.autocast = False

    def build(self, input_shape: Any) -> None:
        check_axes(self.axis, input_shape, "LayerNormalization")
        self.axis = sorted(self.axis) if isinstance(self.axis, list) else [self.axis]
        check_known(self.axis, input_shape, "LayerNormalization")
        shape = tuple(input_shape[a] for a in self.axis)
        self.gamma = None
        self.beta = None
        if self.scale or self.rms_scaling:
            self.gamma = self.add_weight(
                name="gamma",
                shape=shape,
                initializer=self.gamma_initializer,
                regularizer=self.gamma_regularizer,
                constraint=self.gamma_constraint,
                trainable=True,
                autocast=False,
            )
        if self.center and not self.rms_scaling:
            self.beta = self.add_weight(
                name="beta",
                shape=shape,
                initializer=self.beta_initializer,
                regularizer=self.beta_regularizer,
                constraint=self.beta_constraint,
                trainable=True,
                autocast=False,
            )
        self.built = True

    def call(self, inputs: Any) -> Any:
        input_dtype = inputs.dtype
        x = inputs.astype(jnp.promote_types(input_dtype, jnp.float32))
        axes = tuple(self.axis)
        weight_shape = [1] * x.ndim
        for a in axes:
            weight_shape[a] = x.shape[a]
        gamma = None
        if self.gamma is not None:
            gamma = jnp.reshape(jnp.asarray(self.gamma.value, x.dtype), weight_shape)
        if self.rms_scaling:
            variance = jnp.var(x, axis=axes, keepdims=True)
            outputs = x * jax.lax.rsqrt(variance + self.epsilon)
            if gamma is not None:
                outputs = outputs * gamma
        else:
            mean = jnp.mean(x, axis=axes, keepdims=True)
            variance = jnp.var(x, axis=axes, keepdims=True)
            inv = jax.lax.rsqrt(variance + self.epsilon)
            if gamma is not None:
                inv = inv * gamma
            shift = -mean * inv
            if self.beta is not None:
                beta = jnp.asarray(self.beta.value, x.dtype)
                shift = shift + jnp.reshape(beta, weight_shape)
            outputs = x * inv + shift
        return outputs.astype(input_dtype).astype(self.compute_dtype)

    def compute_output_shape(self, input_shape: Any) -> Any:
        check_axes(self.axis, input_shape, "LayerNormalization")
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "axis": self.axis,
                "epsilon": self.epsilon,
                "center": self.center,
                "scale": self.scale,
                "rms_scaling": self.rms_scaling,
                "beta_initializer": serialize_keras_object(self.beta_initializer),
                "gamma_initializer": serialize_keras_object(self.gamma_initializer),
                "beta_regularizer": serialize_keras_object(self.beta_regularizer),
                "gamma_regularizer": serialize_keras_object(self.gamma_regularizer),
                "beta_constraint": serialize_keras_object(self.beta_constraint),
                "gamma_constraint": serialize_keras_object(self.gamma_constraint),
            }
        )
        return config
