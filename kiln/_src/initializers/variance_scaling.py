"""`VarianceScaling` and its named presets (Glorot, He, LeCun)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np

from kiln._src.api_export import keras_export
from kiln._src.initializers.initializer import standardize_shape
from kiln._src.initializers.random_initializers import RandomInitializer, float_dtype
from kiln._src.saving import serialization_lib

# The standard deviation of a standard normal truncated to [-2, 2].
TRUNCATED_STDDEV = 0.87962566103423978

_MODES = ("fan_in", "fan_out", "fan_avg")
_DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")


def compute_fans(
    shape: Sequence[int],
    input_axes: Sequence[int] | None = None,
    output_axes: Sequence[int] | None = None,
) -> tuple[int, int]:
    """The numbers of input and output units `(fan_in, fan_out)` of a weight.

    With both `input_axes` and `output_axes`, each fan is the product of the
    sizes of those axes. Otherwise: a scalar has fans (1, 1); a vector of size n
    has (n, n); a matrix `(a, b)` has (a, b); a convolution kernel
    `(*spatial, in, out)` has `(in * r, out * r)` with `r = prod(spatial)`.

    Args:
        shape: the weight's shape.
        input_axes: optional axes holding the input units.
        output_axes: optional axes holding the output units.

    Returns:
        A tuple of two ints, `(fan_in, fan_out)`.
    """
    shape = tuple(shape)
    if input_axes is not None and output_axes is not None:
        fan_in = int(np.prod([shape[axis] for axis in input_axes]))
        fan_out = int(np.prod([shape[axis] for axis in output_axes]))
        return fan_in, fan_out
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return int(shape[0]), int(shape[0])
    if len(shape) == 2:
        return int(shape[0]), int(shape[1])
    receptive_field = int(np.prod(shape[:-2]))
    return int(shape[-2]) * receptive_field, int(shape[-1]) * receptive_field


@keras_export(
    ["keras.initializers.VarianceScaling", "keras.initializers.variance_scaling"]
)
class VarianceScaling(RandomInitializer):
    """Draws values whose variance is `scale / n`, with `n` set by the weight's
    shape.

    `n` is `fan_in`, `fan_out` or their mean, depending on `mode` (see
    `compute_fans`). With `distribution="truncated_normal"` values come from a
    normal truncated at two standard deviations, scaled so that the standard
    deviation *after* truncation is `sqrt(scale / n)`; with
    `"untruncated_normal"` from a plain normal of that standard deviation; with
    `"uniform"` from `[-limit, limit]`, `limit = sqrt(3 * scale / n)`.

    Args:
        scale: a positive factor.
        mode: one of `"fan_in"`, `"fan_out"`, `"fan_avg"`.
        distribution: one of `"truncated_normal"`, `"untruncated_normal"`,
            `"uniform"` (`"normal"` means `"truncated_normal"`).
        seed: an int, a `keras.random.SeedGenerator`, or None.
        input_axes: optional axes of the weight holding the input units.
        output_axes: optional axes of the weight holding the output units (both
            must be given to be used).

    Example:

    >>> init = keras.initializers.VarianceScaling(
    ...     scale=0.1, mode="fan_in", distribution="uniform", seed=1)
    >>> values = init(shape=(2, 2))
    """

    def __init__(
        self,
        scale: float = 1.0,
        mode: str = "fan_in",
        distribution: str = "truncated_normal",
        seed: Any = None,
        input_axes: Sequence[int] | None = None,
        output_axes: Sequence[int] | None = None,
    ):
        if (
            isinstance(scale, bool)
            or not isinstance(scale, numbers.Real)
            or not scale > 0
        ):
            raise ValueError(
                "`scale` must be a positive number (the target variance is "
                f"scale / n). Received: scale={scale!r}"
            )
        if mode not in _MODES:
            raise ValueError(
                f"`mode` must be one of {list(_MODES)}. Received: mode={mode!r}"
            )
        if not isinstance(distribution, str) or distribution.lower() not in (
            *_DISTRIBUTIONS,
            "normal",
        ):
            raise ValueError(
                f"`distribution` must be one of {list(_DISTRIBUTIONS)}. "
                f"Received: distribution={distribution!r}"
            )
        distribution = distribution.lower()
        if distribution == "normal":
            distribution = "truncated_normal"
        self.scale = scale
        self.mode = mode
        self.distribution = distribution
        self.input_axes = input_axes
        self.output_axes = output_axes
        super().__init__(seed=seed)

    def __call__(self, shape: Any, dtype: Any = None) -> jax.Array:
        shape = standardize_shape(shape)
        dtype = float_dtype(dtype, type(self).__name__)
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        scale = self.scale
        if self.mode == "fan_in":
            scale /= max(1.0, fan_in)
        elif self.mode == "fan_out":
            scale /= max(1.0, fan_out)
        else:
            scale /= max(1.0, (fan_in + fan_out) / 2.0)
        key = self._key()
        if self.distribution == "truncated_normal":
            stddev = math.sqrt(scale) / TRUNCATED_STDDEV
            sample = jax.random.truncated_normal(key, -2.0, 2.0, shape, dtype)
            return sample * stddev + 0.0
        if self.distribution == "untruncated_normal":
            stddev = math.sqrt(scale)
            return jax.random.normal(key, shape, dtype) * stddev + 0.0
        limit = math.sqrt(3.0 * scale)
        return jax.random.uniform(key, shape, dtype, minval=-limit, maxval=limit)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "scale": self.scale,
            "mode": self.mode,
            "distribution": self.distribution,
            "input_axes": self.input_axes,
            "output_axes": self.output_axes,
        }


class _Preset(VarianceScaling):
    """A `VarianceScaling` with a fixed scale, mode and distribution."""

    _scale: float
    _mode: str
    _distribution: str

    def __init__(
        self,
        seed: Any = None,
        input_axes: Sequence[int] | None = None,
        output_axes: Sequence[int] | None = None,
    ):
        super().__init__(
            scale=self._scale,
            mode=self._mode,
            distribution=self._distribution,
            seed=seed,
            input_axes=input_axes,
            output_axes=output_axes,
        )

    def get_config(self) -> dict[str, Any]:
        return {
            "seed": serialization_lib.serialize_keras_object(self._init_seed),
            "input_axes": self.input_axes,
            "output_axes": self.output_axes,
        }


_PRESET_ARGS = """
    Args:
        seed: an int, a `keras.random.SeedGenerator`, or None. An int (or None)
            gives the same values on every call.
        input_axes: optional axes of the weight holding the input units.
        output_axes: optional axes of the weight holding the output units.
"""


@keras_export(["keras.initializers.GlorotUniform", "keras.initializers.glorot_uniform"])
class GlorotUniform(_Preset):
    __doc__ = (
        """Glorot (Xavier) uniform: uniform in `[-limit, limit]` with
    `limit = sqrt(6 / (fan_in + fan_out))`.
"""
        + _PRESET_ARGS
        + """
    Example:

    >>> values = keras.initializers.GlorotUniform(seed=1)(shape=(2, 2))

    Reference:
        Glorot et al., 2010, http://proceedings.mlr.press/v9/glorot10a.html
    """
    )
    _scale, _mode, _distribution = 1.0, "fan_avg", "uniform"


@keras_export(["keras.initializers.GlorotNormal", "keras.initializers.glorot_normal"])
class GlorotNormal(_Preset):
    __doc__ = (
        """Glorot (Xavier) normal: truncated normal with standard deviation
    `sqrt(2 / (fan_in + fan_out))` after truncation.
"""
        + _PRESET_ARGS
        + """
    Example:

    >>> values = keras.initializers.GlorotNormal(seed=1)(shape=(2, 2))

    Reference:
        Glorot et al., 2010, http://proceedings.mlr.press/v9/glorot10a.html
    """
    )
    _scale, _mode, _distribution = 1.0, "fan_avg", "truncated_normal"


@keras_export(["keras.initializers.LecunNormal", "keras.initializers.lecun_normal"])
class LecunNormal(_Preset):
    __doc__ = (
        """LeCun normal: truncated normal with standard deviation
    `sqrt(1 / fan_in)` after truncation.
"""
        + _PRESET_ARGS
        + """
    Example:

    >>> values = keras.initializers.LecunNormal(seed=1)(shape=(2, 2))

    Reference:
        Klambauer et al., 2017, https://arxiv.org/abs/1706.02515
    """
    )
    _scale, _mode, _distribution = 1.0, "fan_in", "truncated_normal"


@keras_export(["keras.initializers.LecunUniform", "keras.initializers.lecun_uniform"])
class LecunUniform(_Preset):
    __doc__ = (
        """LeCun uniform: uniform in `[-limit, limit]` with
    `limit = sqrt(3 / fan_in)`.
"""
        + _PRESET_ARGS
        + """
    Example:

    >>> values = keras.initializers.LecunUniform(seed=1)(shape=(2, 2))

    Reference:
        Klambauer et al., 2017, https://arxiv.org/abs/1706.02515
    """
    )
    _scale, _mode, _distribution = 1.0, "fan_in", "uniform"


@keras_export(["keras.initializers.HeNormal", "keras.initializers.he_normal"])
class HeNormal(_Preset):
    __doc__ = (
        """He normal: truncated normal with standard deviation `sqrt(2 / fan_in)`
    after truncation.
"""
        + _PRESET_ARGS
        + """
    Example:

    >>> values = keras.initializers.HeNormal(seed=1)(shape=(2, 2))

    Reference:
        He et al., 2015, https://arxiv.org/abs/1502.01852
    """
    )
    _scale, _mode, _distribution = 2.0, "fan_in", "truncated_normal"


@keras_export(["keras.initializers.HeUniform", "keras.initializers.he_uniform"])
class HeUniform(_Preset):
    __doc__ = (
        """He uniform: uniform in `[-limit, limit]` with
    `limit = sqrt(6 / fan_in)`.
"""
        + _PRESET_ARGS
        + """
    Example:

    >>> values = keras.initializers.HeUniform(seed=1)(shape=(2, 2))

    Reference:
        He et al., 2015, https://arxiv.org/abs/1502.01852
    """
    )
    _scale, _mode, _distribution = 2.0, "fan_in", "uniform"
