"""`Dot` and its functional form `dot`: per-sample dot products."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kiln._src.api_export import keras_export
from kiln._src.backend import config as backend_config
from kiln._src.layers.merging.base_merge import Merge

_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _l2_normalize(x: Any, axis: int) -> Any:
    square_sum = jnp.sum(jnp.square(x), axis=axis, keepdims=True)
    inv_norm = jnp.minimum(jax.lax.rsqrt(square_sum), 1.0 / backend_config.epsilon())
    return x * inv_norm


def batch_dot(x: Any, y: Any, axes: tuple[int, int]) -> Any:
    """Contracts axis ``axes[0]`` of `x` with ``axes[1]`` of `y` per sample.

    The result has `x`'s remaining axes, then `y`'s remaining non-batch axes;
    a result with only the batch axis gets a trailing axis of size 1.
    """
    a0, a1 = axes
    x_letters = list(_LETTERS[: x.ndim])
    y_letters = ["a"] + list(_LETTERS[x.ndim : x.ndim + y.ndim - 1])
    y_letters[a1] = x_letters[a0]
    out = [c for i, c in enumerate(x_letters) if i != a0] + [
        c for i, c in enumerate(y_letters) if i not in (0, a1)
    ]
    equation = f"{''.join(x_letters)},{''.join(y_letters)}->{''.join(out)}"
    result = jnp.einsum(equation, x, y)
    if result.ndim == 1:
        result = jnp.expand_dims(result, -1)
    return result


@keras_export("keras.layers.Dot")
class Dot(Merge):
    """Computes the dot product of two inputs, sample by sample.

    For inputs of shapes ``(batch, n)`` and ``(batch, n)`` the output is
    ``(batch, 1)``; in general the contracted axes are removed and the
    remaining axes of the first input are followed by those of the second.

    Args:
        axes: an int, or a pair of ints: the axis of each input to contract
            (axis 0, the batch, cannot be contracted).
        normalize: whether to L2-normalize both inputs along the contracted
            axes first (the dot product is then the cosine similarity).

    Example:
        >>> x1, x2 = np.ones((2, 3)), np.full((2, 3), 2.0)
        >>> keras.layers.Dot(axes=1)([x1, x2])
        [[6.], [6.]]
    """

    def __init__(self, axes: Any, normalize: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(axes, bool) or not isinstance(axes, int | list | tuple):
            raise TypeError(
                "Invalid type for argument `axes`: it should be a list or an int. "
                f"Received: axes={axes!r}"
            )
        if isinstance(axes, list | tuple):
            if len(axes) != 2:
                raise ValueError(
                    "Invalid format for argument `axes`: it should contain two "
                    f"elements. Received: axes={axes}"
                )
            if any(isinstance(a, bool) or not isinstance(a, int) for a in axes):
                raise ValueError(
                    "Invalid format for argument `axes`: list elements should be "
                    f"integers. Received: axes={axes}"
                )
        self.axes = axes
        self.normalize = normalize

    def _resolve_axes(self, rank1: int, rank2: int) -> tuple[int, int]:
        if isinstance(self.axes, int):
            if self.axes < 0:
                return self.axes % rank1, self.axes % rank2
            return self.axes, self.axes
        return (
            self.axes[0] % rank1 if self.axes[0] < 0 else self.axes[0],
            self.axes[1] % rank2 if self.axes[1] < 0 else self.axes[1],
        )

    def _check_pair(self, input_shape: Any) -> tuple[Any, Any]:
        if (
            not isinstance(input_shape, list | tuple)
            or len(input_shape) != 2
            or not all(isinstance(s, list | tuple) for s in input_shape)
        ):
            raise ValueError(
                f"A `Dot` layer ('{self.name}') should be called on a list of 2 "
                f"inputs. Received: input_shape={input_shape}"
            )
        shape1, shape2 = tuple(input_shape[0]), tuple(input_shape[1])
        if len(shape1) < 2 or len(shape2) < 2:
            raise ValueError(
                f"Layer '{self.name}' cannot take a dot product of inputs of rank "
                f"< 2 (a batch axis plus at least one more). Received shapes "
                f"{shape1} and {shape2}."
            )
        a0, a1 = self._resolve_axes(len(shape1), len(shape2))
        if a0 == 0 or a1 == 0 or a0 >= len(shape1) or a1 >= len(shape2):
            raise ValueError(
                f"Layer '{self.name}': invalid `axes`={self.axes} for inputs of "
                f"shapes {shape1} and {shape2}; each axis must be a non-batch axis "
                "of its input (axis 0 is the batch)."
            )
        d1, d2 = shape1[a0], shape2[a1]
        if d1 is not None and d2 is not None and d1 != d2:
            raise ValueError(
                f"Incompatible input shapes for layer '{self.name}': axis values "
                f"{d1} (at axis {a0}) != {d2} (at axis {a1}). Full input shapes: "
                f"{shape1}, {shape2}"
            )
        return shape1, shape2

    def build(self, input_shape: Any) -> None:
        self._check_pair(input_shape)
        self.built = True

    def compute_output_shape(self, input_shape: Any) -> tuple[Any, ...]:
        shape1, shape2 = self._check_pair(input_shape)
        a0, a1 = self._resolve_axes(len(shape1), len(shape2))
        output = [d for i, d in enumerate(shape1) if i != a0] + [
            d for i, d in enumerate(shape2) if i not in (0, a1)
        ]
        if len(output) == 1:
            output.append(1)
        return tuple(output)

    def call(self, inputs: Any, mask: Any = None) -> Any:
        if not isinstance(inputs, list | tuple) or len(inputs) != 2:
            raise ValueError(
                f"A `Dot` layer ('{self.name}') should be called on a list of "
                "exactly 2 inputs."
            )
        x1, x2 = inputs
        self._check_pair([x1.shape, x2.shape])
        axes = self._resolve_axes(x1.ndim, x2.ndim)
        if self.normalize:
            x1 = _l2_normalize(x1, axes[0])
            x2 = _l2_normalize(x2, axes[1])
        return batch_dot(x1, x2, axes)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return None

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"axes": self.axes, "normalize": self.normalize})
        return config


@keras_export("keras.layers.dot")
def dot(inputs: list[Any], axes: Any = -1, **kwargs: Any) -> Any:
    """Functional form of `Dot`: ``Dot(axes, **kwargs)(inputs)``.

    Args:
        inputs: a list of 2 tensors.
        axes: an int or a pair of ints, the axes to contract.
        **kwargs: `normalize` and standard layer keyword arguments.

    Returns:
        The per-sample dot products.
    """
    return Dot(axes=axes, **kwargs)(inputs)
