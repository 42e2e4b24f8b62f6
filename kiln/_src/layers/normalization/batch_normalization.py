"""`BatchNormalization`: normalizes with batch statistics in training and with
moving averages of them at inference."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kiln._src import constraints, initializers, regularizers
from kiln._src.api_export import keras_export
from kiln._src.backend.config import epsilon as backend_epsilon
from kiln._src.initializers.initializer import Initializer
from kiln._src.layers.input_spec import InputSpec
from kiln._src.layers.layer import Layer
from kiln._src.layers.normalization.axes import check_axes, check_known
from kiln._src.saving.serialization_lib import serialize_keras_object

_RENORM_KEYS = ("rmax", "rmin", "dmax")


def _fresh(initializer: Any) -> Any:
    """A copy of an initializer object (so a second use draws new values)."""
    if isinstance(initializer, Initializer):
        return type(initializer).from_config(initializer.get_config())
    return initializer


def normalize(
    x: jax.Array,
    mean: jax.Array,
    variance: jax.Array,
    axis: int,
    offset: jax.Array | None,
    scale: jax.Array | None,
    epsilon: float,
) -> jax.Array:
    """``(x - mean) / sqrt(variance + epsilon) * scale + offset`` along `axis`,
    written as ``x * inv + (offset - mean * inv)``."""
    shape = [1] * x.ndim
    shape[axis] = mean.shape[0]
    inv = jax.lax.rsqrt(jnp.reshape(variance, shape) + epsilon)
    if scale is not None:
        inv = inv * jnp.reshape(scale, shape)
    shift = -jnp.reshape(mean, shape) * inv
    if offset is not None:
        shift = shift + jnp.reshape(offset, shape)
    return x * inv + shift


@keras_export("keras.layers.BatchNormalization")
class BatchNormalization(Layer):
    """Normalizes its inputs to mean 0 and standard deviation 1 per channel.

    In training (`fit`, or ``training=True``) it uses the current batch's mean
    and variance and updates `moving_mean` / `moving_variance`:
    ``moving = moving * momentum + batch_statistic * (1 - momentum)``. At
    inference it uses those moving averages. A layer with ``trainable=False``
    always runs in inference mode.

    Args:
        axis: the axis holding the features (e.g. 1 for channels-first images).
        momentum: momentum of the moving averages.
        epsilon: small float added to the variance.
        center: whether to add the learned offset `beta`.
        scale: whether to multiply by the learned factor `gamma`.
        beta_initializer / gamma_initializer / moving_mean_initializer /
            moving_variance_initializer: initializers of the four weights.
        beta_regularizer / gamma_regularizer: penalties added to the loss.
        beta_constraint / gamma_constraint: constraints applied after updates.
        synchronized: cross-device statistics; only the TensorFlow backend of
            Keras supports it, so it must stay False.
        renorm: whether to use batch renormalization (adds the non-trainable
            `moving_stddev`, `renorm_mean` and `renorm_stddev`).
        renorm_clipping: dict with optional ``"rmax"``, ``"rmin"``, ``"dmax"``
            bounds of the renormalization correction.
        renorm_momentum: momentum of the renormalization statistics.

    Call arguments:
        inputs: a tensor of any rank.
        training: whether to use batch statistics (and update the moving ones).
        mask: optional, of rank ``inputs.ndim - 1``: which positions count in
            the batch statistics.

    Example:
        >>> layer = keras.layers.BatchNormalization()
        >>> layer(np.ones((4, 3)), training=True).shape
        (4, 3)
    """

    def __init__(
        self,
        axis: int = -1,
        momentum: float = 0.99,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        moving_mean_initializer: Any = "zeros",
        moving_variance_initializer: Any = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        beta_constraint: Any = None,
        gamma_constraint: Any = None,
        renorm: bool = False,
        renorm_clipping: dict[str, float] | None = None,
        renorm_momentum: float = 0.99,
        synchronized: bool = False,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(
                "BatchNormalization expects `axis` to be a single int (the "
                f"features axis). Received: axis={axis!r}"
            )
        self.axis = int(axis)
        if synchronized:
            raise ValueError(
                "Argument synchronized=True is only supported with the "
                "TensorFlow backend of Keras; kiln computes on JAX. Pass "
                f"synchronized=False. Received: synchronized={synchronized}"
            )
        self.synchronized = synchronized
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = center
        self.scale = scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True
        self.renorm = renorm
        if renorm:
            renorm_clipping = renorm_clipping or {}
            unknown = set(renorm_clipping) - set(_RENORM_KEYS)
            if unknown:
                raise ValueError(
                    f"`renorm_clipping` accepts only the keys {list(_RENORM_KEYS)}; "
                    f"remove {sorted(unknown)}. Received: "
                    f"renorm_clipping={renorm_clipping}"
                )
            rmax = renorm_clipping.get("rmax")
            rmin = renorm_clipping.get("rmin")
            dmax = renorm_clipping.get("dmax")
            if rmax is not None and rmin is not None and rmax < rmin:
                raise ValueError(
                    "In `renorm_clipping`, rmax must be greater than or equal "
                    f"to rmin. Received: rmax={rmax}, rmin={rmin}"
                )
            if dmax is not None and dmax < 0:
                raise ValueError(
                    "In `renorm_clipping`, dmax must be non-negative. "
                    f"Received: dmax={dmax}"
                )
        self.renorm_clipping = renorm_clipping
        self.renorm_momentum = renorm_momentum
        self.gamma = None
        self.beta = None
        self.moving_mean = None
        self.moving_variance = None
        self._reduction_axes: list[int] | None = None

    def build(self, input_shape: Any) -> None:
        check_axes(self.axis, input_shape, "BatchNormalization")
        check_known([self.axis], input_shape, "BatchNormalization")
        shape = (input_shape[self.axis],)
        if self.scale:
            self.gamma = self.add_weight(
                shape=shape,
                name="gamma",
                initializer=self.gamma_initializer,
                regularizer=self.gamma_regularizer,
                constraint=self.gamma_constraint,
                trainable=True,
                autocast=False,
            )
        if self.center:
            self.beta = self.add_weight(
                shape=shape,
                name="beta",
                initializer=self.beta_initializer,
                regularizer=self.beta_regularizer,
                constraint=self.beta_constraint,
                trainable=True,
                autocast=False,
            )
        self.moving_mean = self.add_weight(
            shape=shape,
            name="moving_mean",
            initializer=self.moving_mean_initializer,
            trainable=False,
            autocast=False,
        )
        self.moving_variance = self.add_weight(
            shape=shape,
            name="moving_variance",
            initializer=self.moving_variance_initializer,
            trainable=False,
            autocast=False,
        )
        if self.renorm:
            variance_initializer = self.moving_variance_initializer

            def stddev_initializer(shape: Any, dtype: Any = None) -> jax.Array:
                return jnp.sqrt(_fresh(variance_initializer)(shape, dtype=dtype))

            self.moving_stddev = self.add_weight(
                shape=shape,
                name="moving_stddev",
                initializer=stddev_initializer,
                trainable=False,
                autocast=False,
            )
            self.renorm_mean = self.add_weight(
                shape=shape,
                name="renorm_mean",
                initializer=_fresh(self.moving_mean_initializer),
                trainable=False,
                autocast=False,
            )
            self.renorm_stddev = self.add_weight(
                shape=shape,
                name="renorm_stddev",
                initializer=stddev_initializer,
                trainable=False,
                autocast=False,
            )
        self.input_spec = InputSpec(
            ndim=len(input_shape), axes={self.axis: input_shape[self.axis]}
        )
        reduction_axes = list(range(len(input_shape)))
        del reduction_axes[self.axis]
        self._reduction_axes = reduction_axes
        self.built = True

    def compute_output_shape(self, input_shape: Any) -> Any:
        check_axes(self.axis, input_shape, "BatchNormalization")
        return tuple(input_shape)

    def call(self, inputs: Any, training: Any = None, mask: Any = None) -> Any:
        if mask is not None and mask.ndim != inputs.ndim - 1:
            raise ValueError(
                "BatchNormalization expects a mask with one dimension less "
                "than its inputs (one value per position, shared by the "
                f"features). Received: mask.shape={mask.shape}, "
                f"inputs.shape={inputs.shape}"
            )
        # Statistics in at least float32, even for half-precision inputs.
        inputs = inputs.astype(jnp.promote_types(inputs.dtype, jnp.float32))
        dtype = inputs.dtype
        moving_mean = jnp.asarray(self.moving_mean.value, dtype)
        moving_variance = jnp.asarray(self.moving_variance.value, dtype)
        gamma = jnp.asarray(self.gamma.value, dtype) if self.scale else None
        beta = jnp.asarray(self.beta.value, dtype) if self.center else None

        if training and self.trainable:
            mean, variance = self._moments(inputs, mask)
            if self.renorm:
                r, d = self._renorm_correction(mean, variance)
                gamma, beta = _compose(r, d, gamma, beta, dtype)
                self._update_renorm_statistics(mean, variance)
            else:
                self.moving_mean.assign(
                    moving_mean * self.momentum + mean * (1.0 - self.momentum)
                )
                self.moving_variance.assign(
                    moving_variance * self.momentum + variance * (1.0 - self.momentum)
                )
        else:
            mean, variance = moving_mean, moving_variance

        outputs = normalize(
            inputs, mean, variance, self.axis, beta, gamma, self.epsilon
        )
        return outputs.astype(self.compute_dtype)

    def _moments(self, inputs: jax.Array, mask: Any) -> tuple[jax.Array, jax.Array]:
        axes = tuple(self._reduction_axes)
        if mask is None:
            return jnp.mean(inputs, axis=axes), jnp.var(inputs, axis=axes)
        keep = jnp.broadcast_to(
            jnp.expand_dims(jnp.asarray(mask), -1), inputs.shape
        ).astype(bool)
        weight = jnp.sum(keep.astype(inputs.dtype), axes, keepdims=True)
        total = jnp.sum(jnp.where(keep, inputs, 0), axes, keepdims=True)
        mean = total / (weight + backend_epsilon())
        squares = jnp.square(jnp.where(keep, inputs - mean, 0))
        variance = jnp.sum(squares, axes, keepdims=True) / (weight + backend_epsilon())
        return jnp.squeeze(mean), jnp.squeeze(variance)

    def _renorm_correction(
        self, mean: jax.Array, variance: jax.Array
    ) -> tuple[jax.Array, jax.Array]:
        stddev = jnp.sqrt(variance + self.epsilon)
        renorm_mean = jnp.asarray(self.renorm_mean.value, mean.dtype)
        renorm_stddev = jnp.maximum(
            jnp.asarray(self.renorm_stddev.value, mean.dtype),
            jnp.sqrt(jnp.asarray(self.epsilon, mean.dtype)),
        )
        r = stddev / renorm_stddev
        d = (mean - renorm_mean) / renorm_stddev
        clipping = self.renorm_clipping or {}
        if clipping.get("rmin") is not None:
            r = jnp.maximum(r, clipping["rmin"])
        if clipping.get("rmax") is not None:
            r = jnp.minimum(r, clipping["rmax"])
        if clipping.get("dmax") is not None:
            d = jnp.clip(d, -clipping["dmax"], clipping["dmax"])
        return r, d

    def _update_renorm_statistics(self, mean: jax.Array, variance: jax.Array) -> None:
        stddev = jnp.sqrt(variance + self.epsilon)
        dtype = mean.dtype
        renorm_mean = jnp.asarray(self.renorm_mean.value, dtype)
        renorm_stddev = jnp.asarray(self.renorm_stddev.value, dtype)
        keep = self.renorm_momentum
        self.renorm_mean.assign(renorm_mean * keep + mean * (1.0 - keep))
        self.renorm_stddev.assign(renorm_stddev * keep + stddev * (1.0 - keep))
        moving_mean = jnp.asarray(self.moving_mean.value, dtype)
        moving_stddev = jnp.asarray(self.moving_stddev.value, dtype)
        self.moving_mean.assign(
            moving_mean * self.momentum + mean * (1.0 - self.momentum)
        )
        new_stddev = moving_stddev * self.momentum + stddev * (1.0 - self.momentum)
        self.moving_stddev.assign(new_stddev)
        # Rounding may push stddev**2 - epsilon below 0: clamp at 0.
        self.moving_variance.assign(jax.nn.relu(new_stddev * new_stddev - self.epsilon))

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "axis": self.axis,
                "momentum": self.momentum,
                "epsilon": self.epsilon,
                "center": self.center,
                "scale": self.scale,
                "beta_initializer": serialize_keras_object(self.beta_initializer),
                "gamma_initializer": serialize_keras_object(self.gamma_initializer),
                "moving_mean_initializer": serialize_keras_object(
                    self.moving_mean_initializer
                ),
                "moving_variance_initializer": serialize_keras_object(
                    self.moving_variance_initializer
                ),
                "beta_regularizer": serialize_keras_object(self.beta_regularizer),
                "gamma_regularizer": serialize_keras_object(self.gamma_regularizer),
                "beta_constraint": serialize_keras_object(self.beta_constraint),
                "gamma_constraint": serialize_keras_object(self.gamma_constraint),
                "synchronized": self.synchronized,
                "renorm": self.renorm,
                "renorm_clipping": self.renorm_clipping,
                "renorm_momentum": self.renorm_momentum,
            }
        )
        return config


def _compose(
    r: jax.Array, d: jax.Array, gamma: Any, beta: Any, dtype: Any
) -> tuple[jax.Array, jax.Array]:
    """Folds the renorm correction ``x * r + d`` into gamma and beta."""
    r = jax.lax.stop_gradient(r)
    d = jax.lax.stop_gradient(d)
    if gamma is not None:
        new_gamma, new_beta = r * gamma, d * gamma
    else:
        new_gamma, new_beta = r.astype(dtype), d.astype(dtype)
    if beta is not None:
        new_beta = new_beta + beta
    return new_gamma, new_beta
