"""Activation functions (`keras.activations.*`).

Each accepts arrays, `Variable`s and, inside Functional models, symbolic
`KerasTensor`s (where it records the same op as Keras).
"""

from __future__ import annotations

import warnings
from typing import Any

import jax
import jax.numpy as jnp

from kiln._src.activations import nn_ops
from kiln._src.api_export import keras_export
from kiln._src.backend.keras_tensor import any_symbolic
from kiln._src.backend.variable import convert_to_tensor
from kiln._src.ops import nn as knn
from kiln._src.ops import numpy as knp
from kiln._src.ops.operation import Operation


def _relu(
    x: Any, negative_slope: float, max_value: float | None, threshold: float
) -> jax.Array:
    x = convert_to_tensor(x)
    if negative_slope != 0.0:
        if max_value is None and threshold == 0:
            return jax.nn.leaky_relu(x, negative_slope=negative_slope)
        negative_part = jax.nn.relu(threshold - x if threshold != 0 else -x)
    clip_max = max_value is not None
    if threshold != 0:
        x = jnp.where(x > jnp.asarray(threshold, x.dtype), x, 0)
    elif max_value == 6:
        x = jax.nn.relu6(x)
        clip_max = False
    else:
        x = jax.nn.relu(x)
    if clip_max:
        x = jnp.clip(x, jnp.asarray(0.0, x.dtype), jnp.asarray(max_value, x.dtype))
    if negative_slope != 0.0:
        x = x - negative_slope * negative_part
    return x


@keras_export("keras.src.activations.activations.ReLU")
class ReLU(Operation):
    """The op `relu` records on symbolic tensors (as Keras does)."""

    def __init__(
        self,
        negative_slope: float = 0.0,
        max_value: float | None = None,
        threshold: float = 0.0,
        name: str | None = None,
    ):
        super().__init__(name=name)
        self.negative_slope = negative_slope
        self.max_value = max_value
        self.threshold = threshold

    def call(self, x: Any) -> jax.Array:
        return _relu(x, self.negative_slope, self.max_value, self.threshold)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "negative_slope": self.negative_slope,
            "max_value": self.max_value,
            "threshold": self.threshold,
        }


@keras_export("keras.activations.relu")
def relu(
    x: Any,
    negative_slope: float = 0.0,
    max_value: float | None = None,
    threshold: float = 0.0,
) -> Any:
    """Rectified linear unit: `max(x, 0)`, with optional variations.

    With the defaults this is `max(x, 0)`. Otherwise: values below `threshold`
    become `negative_slope * (x - threshold)`, and outputs are capped at
    `max_value`.

    Args:
        x: the input.
        negative_slope: the slope below the threshold (0: zero output).
        max_value: an upper bound on the output (None: no bound).
        threshold: the value below which the output is damped or zeroed.

    Returns:
        An array of the shape and dtype of `x`.

    Example:

    >>> keras.activations.relu(np.array([-10.0, -5.0, 0.0, 5.0, 10.0]))
    [0., 0., 0., 5., 10.]
    """
    if any_symbolic((x,)):
        return ReLU(negative_slope, max_value, threshold)(x)
    return _relu(x, negative_slope, max_value, threshold)


@keras_export("keras.activations.leaky_relu")
def leaky_relu(x: Any, negative_slope: float = 0.2) -> Any:
    """Leaky ReLU: `x` if `x >= 0`, else `negative_slope * x`.

    Args:
        x: the input.
        negative_slope: the slope for negative inputs.
    """
    return knn.leaky_relu(x, negative_slope=negative_slope)


@keras_export("keras.activations.relu6")
def relu6(x: Any) -> Any:
    """ReLU capped at 6: `min(max(x, 0), 6)`.

    Args:
        x: the input.
    """
    return knn.relu6(x)


@keras_export("keras.activations.softmax")
def softmax(x: Any, axis: int | tuple[int, ...] = -1) -> Any:
    """Softmax: `exp(x) / sum(exp(x))` along `axis`, a probability distribution.

    Args:
        x: the input (logits).
        axis: the axis (or tuple of axes) to normalize over.

    Returns:
        Non-negative values that sum to 1 along `axis`.
    """
    shape = tuple(x.shape) if hasattr(x, "shape") else ()
    if isinstance(axis, int) and -len(shape) <= axis < len(shape) and shape[axis] == 1:
        warnings.warn(
            f"You are using a softmax over axis {axis} of a tensor of shape "
            f"{shape}. This axis has size 1. The softmax operation will always "
            "return the value 1, which is likely not what you intended. Did you "
            "mean to use a sigmoid instead?",
            stacklevel=2,
        )
    return knn.softmax(x, axis=axis)


@keras_export("keras.activations.log_softmax")
def log_softmax(x: Any, axis: int | tuple[int, ...] = -1) -> Any:
    """Logarithm of the softmax: `x - logsumexp(x)` along `axis`.

    Args:
        x: the input (logits).
        axis: the axis (or tuple of axes) to normalize over.
    """
    return knn.log_softmax(x, axis=axis)


@keras_export("keras.activations.elu")
def elu(x: Any, alpha: float = 1.0) -> Any:
    """Exponential linear unit: `x` if `x > 0`, else `alpha * (exp(x) - 1)`.

    Args:
        x: the input.
        alpha: the limit of the output for large negative inputs is `-alpha`.

    Reference:
        Clevert et al., 2016, https://arxiv.org/abs/1511.07289
    """
    return knn.elu(x, alpha=alpha)


@keras_export("keras.activations.selu")
def selu(x: Any) -> Any:
    """Scaled ELU: `scale * elu(x, alpha)` with `alpha=1.67326324` and
    `scale=1.05070098` (the self-normalizing constants).

    Use it with the `lecun_normal` initializer and `AlphaDropout`.

    Args:
        x: the input.

    Reference:
        Klambauer et al., 2017, https://arxiv.org/abs/1706.02515
    """
    return knn.selu(x)


@keras_export("keras.activations.softplus")
def softplus(x: Any) -> Any:
    """Softplus: `log(exp(x) + 1)`.

    Args:
        x: the input.
    """
    return knn.softplus(x)


@keras_export("keras.activations.softsign")
def softsign(x: Any) -> Any:
    """Softsign: `x / (abs(x) + 1)`.

    Args:
        x: the input.
    """
    return knn.softsign(x)


@keras_export("keras.activations.soft_shrink")
def soft_shrink(x: Any, threshold: float = 0.5) -> Any:
    """Soft shrinkage: `x - threshold` above `threshold`, `x + threshold` below
    `-threshold`, 0 in between.

    Args:
        x: the input.
        threshold: the half-width of the zeroed band.
    """
    return nn_ops.soft_shrink(x, threshold=threshold)


@keras_export("keras.activations.sparse_plus")
def sparse_plus(x: Any) -> Any:
    """SparsePlus: 0 for `x <= -1`, `(x + 1)**2 / 4` for `-1 < x < 1`, `x` for
    `x >= 1`.

    Args:
        x: the input.
    """
    return nn_ops.sparse_plus(x)


@keras_export(["keras.activations.silu", "keras.activations.swish"])
def silu(x: Any) -> Any:
    """Sigmoid linear unit (Swish): `x * sigmoid(x)`.

    Args:
        x: the input.

    Reference:
        Ramachandran et al., 2017, https://arxiv.org/abs/1710.05941
    """
    return knn.silu(x)


@keras_export("keras.activations.squareplus")
def squareplus(x: Any, b: float = 4) -> Any:
    """Squareplus: `(x + sqrt(x**2 + b)) / 2`.

    Args:
        x: the input.
        b: the smoothness near 0 (non-negative).

    Reference:
        Barron, 2021, https://arxiv.org/abs/2112.11687
    """
    return nn_ops.squareplus(x, b=b)


@keras_export("keras.activations.gelu")
def gelu(x: Any, approximate: bool = False) -> Any:
    """Gaussian error linear unit: `x * P(X <= x)` for `X ~ N(0, 1)`.

    Args:
        x: the input.
        approximate: use the tanh approximation instead of the exact erf form
            (default False, the exact form).

    Reference:
        Hendrycks et al., 2016, https://arxiv.org/abs/1606.08415
    """
    return knn.gelu(x, approximate=approximate)


@keras_export("keras.activations.celu")
def celu(x: Any, alpha: float = 1.0) -> Any:
    """Continuously differentiable ELU: `x` if `x >= 0`, else
    `alpha * (exp(x / alpha) - 1)`.

    Args:
        x: the input.
        alpha: the scale of the negative part.

    Reference:
        Barron, 2017, https://arxiv.org/abs/1704.07483
    """
    return nn_ops.celu(x, alpha=alpha)


@keras_export("keras.activations.glu")
def glu(x: Any, axis: int = -1) -> Any:
    """Gated linear unit: splits `x` in halves `a, b` along `axis` and returns
    `a * sigmoid(b)`.

    Args:
        x: the input; `axis` must have an even size.
        axis: the axis to split.

    Reference:
        Dauphin et al., 2017, https://arxiv.org/abs/1612.08083
    """
    return nn_ops.glu(x, axis=axis)


@keras_export("keras.activations.tanh")
def tanh(x: Any) -> Any:
    """Hyperbolic tangent: `(exp(x) - exp(-x)) / (exp(x) + exp(-x))`.

    Args:
        x: the input.
    """
    return knp.tanh(x)


@keras_export("keras.activations.tanh_shrink")
def tanh_shrink(x: Any) -> Any:
    """Tanh shrink: `x - tanh(x)`.

    Args:
        x: the input.
    """
    return nn_ops.tanh_shrink(x)


@keras_export("keras.activations.hard_tanh")
def hard_tanh(x: Any) -> Any:
    """Hard tanh: `x` clipped to `[-1, 1]`.

    Args:
        x: the input.
    """
    return nn_ops.hard_tanh(x)


@keras_export("keras.activations.hard_shrink")
def hard_shrink(x: Any, threshold: float = 0.5) -> Any:
    """Hard shrinkage: `x` where `abs(x) > threshold`, else 0.

    Args:
        x: the input.
        threshold: the half-width of the zeroed band.
    """
    return nn_ops.hard_shrink(x, threshold=threshold)


@keras_export("keras.activations.threshold")
def threshold(x: Any, threshold: float, default_value: float) -> Any:
    """`x` where `x > threshold`, else `default_value`.

    Args:
        x: the input.
        threshold: the cut-off.
        default_value: the value below (or at) the cut-off.
    """
    return nn_ops.threshold(x, threshold, default_value)


@keras_export("keras.activations.sigmoid")
def sigmoid(x: Any) -> Any:
    """Sigmoid: `1 / (1 + exp(-x))`.

    Args:
        x: the input.
    """
    return knn.sigmoid(x)


@keras_export("keras.activations.exponential")
def exponential(x: Any) -> Any:
    """Exponential: `exp(x)`.

    Args:
        x: the input.
    """
    return knp.exp(x)


@keras_export("keras.activations.hard_sigmoid")
def hard_sigmoid(x: Any) -> Any:
    """Hard sigmoid, a piecewise-linear sigmoid: `clip(x / 6 + 0.5, 0, 1)`.

    Args:
        x: the input.
    """
    return knn.hard_sigmoid(x)


@keras_export("keras.activations.log_sigmoid")
def log_sigmoid(x: Any) -> Any:
    """Logarithm of the sigmoid: `-softplus(-x)`.

    Args:
        x: the input.
    """
    return knn.log_sigmoid(x)


@keras_export("keras.activations.sparse_sigmoid")
def sparse_sigmoid(x: Any) -> Any:
    """Sparse sigmoid: 0 for `x <= -1`, `(x + 1) / 2` for `-1 < x < 1`, 1 for
    `x >= 1`.

    Args:
        x: the input.
    """
    return nn_ops.sparse_sigmoid(x)


@keras_export(["keras.activations.hard_silu", "keras.activations.hard_swish"])
def hard_silu(x: Any) -> Any:
    """Hard SiLU (hard swish): `x * hard_sigmoid(x)`.

    Args:
        x: the input.

    Reference:
        Howard et al., 2019, https://arxiv.org/abs/1905.02244
    """
    return knn.hard_silu(x)


@keras_export("keras.activations.linear")
def linear(x: Any) -> Any:
    """The identity: returns `x` unchanged.

    Args:
        x: the input.
    """
    return x


def _mish(x: Any) -> jax.Array:
    x = convert_to_tensor(x)
    return x * jnp.tanh(jax.nn.softplus(x))


@keras_export("keras.src.activations.activations.Mish")
class Mish(Operation):
    """The op `mish` records on symbolic tensors."""

    def call(self, x: Any) -> jax.Array:
        return _mish(x)


@keras_export("keras.activations.mish")
def mish(x: Any) -> Any:
    """Mish: `x * tanh(softplus(x))`.

    Args:
        x: the input.

    Reference:
        Misra, 2019, https://arxiv.org/abs/1908.08681
    """
    if any_symbolic((x,)):
        return Mish()(x)
    return _mish(x)


@keras_export("keras.activations.sparsemax")
def sparsemax(x: Any, axis: int = -1) -> Any:
    """Sparsemax: the projection of `x` onto the probability simplex along
    `axis`; like softmax, but many outputs are exactly 0.

    Args:
        x: the input (logits).
        axis: the axis to normalize over.

    Reference:
        Martins and Astudillo, 2016, https://arxiv.org/abs/1602.02068
    """
    return nn_ops.sparsemax(x, axis=axis)
