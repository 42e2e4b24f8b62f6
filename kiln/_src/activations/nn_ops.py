"""The activation ops that `kiln._src.ops.nn` does not have yet.

Each is registered under the name Keras gives its op (``keras.src.ops.nn.Celu``
...), so a Functional graph that applies one to a symbolic tensor records the
same op as Keras. (They would sit naturally in `kiln._src.ops.nn`; they live here
so that the activations family stands on its own.)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from kiln._src.ops.op_factory import op


@op("Celu", "nn")
def celu(x, alpha=1.0):
    return jax.nn.celu(jnp.asarray(x), alpha=alpha)


@op("Glu", "nn")
def glu(x, axis=-1):
    x = jnp.asarray(x)
    if x.shape[axis] % 2 != 0:
        raise ValueError(
            "glu splits its input in two halves along `axis`, so that axis must "
            f"have an even size. Received: x.shape={x.shape}, axis={axis}"
        )
    return jax.nn.glu(x, axis=axis)


@op("HardTanh", "nn")
def hard_tanh(x):
    return jax.nn.hard_tanh(jnp.asarray(x))


@op("HardShrink", "nn")
def hard_shrink(x, threshold=0.5):
    x = jnp.asarray(x)
    return jnp.where(jnp.abs(x) > threshold, x, 0.0)


@op("SoftShrink", "nn")
def soft_shrink(x, threshold=0.5):
    x = jnp.asarray(x)
    shrunk = jnp.where(x < -threshold, x + threshold, 0.0)
    return jnp.where(x > threshold, x - threshold, shrunk)


@op("SparsePlus", "nn")
def sparse_plus(x):
    return jax.nn.sparse_plus(jnp.asarray(x))


@op("SparseSigmoid", "nn")
def sparse_sigmoid(x):
    return jax.nn.sparse_sigmoid(jnp.asarray(x))


@op("Squareplus", "nn")
def squareplus(x, b=4):
    return jax.nn.squareplus(jnp.asarray(x), b=b)


@op("TanhShrink", "nn")
def tanh_shrink(x):
    x = jnp.asarray(x)
    return x - jnp.tanh(x)


@op("Threshold", "nn")
def threshold(x, threshold, default_value):
    x = jnp.asarray(x)
    return jnp.where(x > threshold, x, default_value)


@op("Sparsemax", "nn")
def sparsemax(x, axis=-1):
    """Euclidean projection of `x` onto the probability simplex along `axis`
    (Martins and Astudillo, 2016): `max(x - tau, 0)`, with `tau` chosen so that
    the result sums to 1.

    Keras 3.15.1 computes `tau` from the sum of the *cumulative* sums over the
    support, so its outputs do not sum to 1 once the support has two or more
    entries; kiln uses the published formula, `tau = (sum of the k largest
    values - 1) / k`.
    """
    x = jnp.asarray(x)
    ordered = -jnp.sort(-x, axis=axis)
    cumulative = jnp.cumsum(ordered, axis=axis)
    rank_shape = [1] * x.ndim
    rank_shape[axis] = -1
    ranks = jnp.arange(1, x.shape[axis] + 1).reshape(rank_shape)
    in_support = ordered - (cumulative - 1) / ranks > 0
    support_size = jnp.sum(in_support, axis=axis, keepdims=True)
    support_sum = jnp.sum(jnp.where(in_support, ordered, 0.0), axis=axis, keepdims=True)
    tau = (support_sum - 1) / support_size
    return jnp.maximum(x - tau, 0.0)
