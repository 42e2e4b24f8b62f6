"""Neural-network ops (activations, cross-entropies, one-hot) over jax.nn."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from kiln._src.backend import config
from kiln._src.ops.op_factory import op


@op("Relu", "nn")
def relu(x):
    return jax.nn.relu(x)


@op("Relu6", "nn")
def relu6(x):
    return jax.nn.relu6(x)


@op("Sigmoid", "nn")
def sigmoid(x):
    return jax.nn.sigmoid(x)


@op("Softplus", "nn")
def softplus(x):
    return jax.nn.softplus(x)


@op("Softsign", "nn")
def softsign(x):
    return jax.nn.soft_sign(x)


@op("Silu", "nn")
def silu(x):
    return jax.nn.silu(x)


swish = silu


@op("LogSigmoid", "nn")
def log_sigmoid(x):
    return jax.nn.log_sigmoid(x)


@op("LeakyRelu", "nn")
def leaky_relu(x, negative_slope=0.2):
    return jax.nn.leaky_relu(x, negative_slope=negative_slope)


@op("HardSigmoid", "nn")
def hard_sigmoid(x):
    return jax.nn.hard_sigmoid(x)


@op("HardSilu", "nn")
def hard_silu(x):
    return jax.nn.hard_silu(x)


hard_swish = hard_silu


@op("Elu", "nn")
def elu(x, alpha=1.0):
    return jax.nn.elu(x, alpha=alpha)


@op("Selu", "nn")
def selu(x):
    return jax.nn.selu(x)


@op("Gelu", "nn")
def gelu(x, approximate=True):
    return jax.nn.gelu(x, approximate=approximate)


@op("Softmax", "nn")
def softmax(x, axis=-1):
    return jax.nn.softmax(x, axis=axis)


@op("LogSoftmax", "nn")
def log_softmax(x, axis=-1):
    return jax.nn.log_softmax(x, axis=axis)


@op("OneHot", "nn")
def one_hot(x, num_classes, axis=-1, dtype=None):
    return jax.nn.one_hot(x, num_classes, axis=axis, dtype=dtype or config.floatx())


@op("Moments", "nn")
def moments(x, axes, keepdims=False):
    axes = tuple(axes)
    mean = jnp.mean(x, axis=axes, keepdims=True)
    variance = jnp.mean(
        jnp.square(x - jax.lax.stop_gradient(mean)), axis=axes, keepdims=True
    )
    if not keepdims:
        mean = jnp.squeeze(mean, axes)
        variance = jnp.squeeze(variance, axes)
    return mean, variance


@op("BinaryCrossentropy", "nn")
def binary_crossentropy(target, output, from_logits=False):
    """Element-wise binary cross-entropy, with Keras's clipping of probabilities."""
    target = jnp.asarray(target)
    output = jnp.asarray(output)
    if from_logits:
        log_p = jax.nn.log_sigmoid(output)
        log_not_p = jax.nn.log_sigmoid(-output)
        return -target * log_p - (1 - target) * log_not_p
    eps = config.epsilon()
    output = jnp.clip(output, eps, 1.0 - eps)
    return -(target * jnp.log(output) + (1 - target) * jnp.log(1 - output))


@op("CategoricalCrossentropy", "nn")
def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Cross-entropy of one-hot `target` against probabilities or logits."""
    target = jnp.asarray(target)
    output = jnp.asarray(output)
    if from_logits:
        log_prob = jax.nn.log_softmax(output, axis=axis)
    else:
        output = output / jnp.sum(output, axis=axis, keepdims=True)
        eps = config.epsilon()
        log_prob = jnp.log(jnp.clip(output, eps, 1.0 - eps))
    return -jnp.sum(target * log_prob, axis=axis)


@op("SparseCategoricalCrossentropy", "nn")
def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Cross-entropy of integer class ids `target` against `output`."""
    target = jnp.asarray(target, dtype="int32")
    output = jnp.asarray(output)
    if target.ndim == output.ndim and target.shape[-1] == 1:
        target = jnp.squeeze(target, axis=-1)
    one_hot_target = jax.nn.one_hot(
        target, output.shape[axis], axis=axis, dtype=output.dtype
    )
    return categorical_crossentropy(
        one_hot_target, output, from_logits=from_logits, axis=axis
    )


__all__ = [
    "binary_crossentropy",
    "categorical_crossentropy",
    "elu",
    "gelu",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "leaky_relu",
    "log_sigmoid",
    "log_softmax",
    "moments",
    "one_hot",
    "relu",
    "relu6",
    "selu",
    "sigmoid",
    "silu",
    "softmax",
    "softplus",
    "softsign",
    "sparse_categorical_crossentropy",
    "swish",
]
