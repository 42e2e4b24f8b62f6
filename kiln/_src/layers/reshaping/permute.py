"""`Permute`: reorders the non-batch axes of each sample."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from kiln._src.api_export import keras_export
from kiln._src.layers.input_spec import InputSpec
from kiln._src.layers.layer import Layer


@keras_export("keras.layers.Permute")
class Permute(Layer):
    """Permutes the axes of each sample (the batch axis stays first).

    Args:
        dims: a permutation of ``1..rank`` (axis 0, the batch, is never
            listed); e.g. ``(2, 1)`` swaps the two axes of a 2D sample.

    Example:
        >>> keras.layers.Permute((2, 1))(np.zeros((4, 10, 64))).shape
        (4, 64, 10)
    """

    def __init__(self, dims: Any, **kwargs: Any):
        super().__init__(**kwargs)
        try:
            dims = tuple(dims)
        except TypeError:
            raise ValueError(
                "Invalid permutation argument `dims` for Permute Layer: it must "
                f"be a tuple of ints. Received: dims={dims!r}"
            ) from None
        if any(isinstance(d, bool) or not isinstance(d, int) for d in dims) or sorted(
            dims
        ) != list(range(1, len(dims) + 1)):
            raise ValueError(
                "Invalid permutation argument `dims` for Permute Layer. The set "
                "of indices in `dims` must be consecutive and start from 1 (the "
                f"batch axis 0 is not listed), e.g. (2, 1). Received: dims={dims}"
            )
        self.dims = dims
        self.input_spec = InputSpec(ndim=len(dims) + 1)

    def build(self, input_shape: Any) -> None:
        self.built = True

    def compute_output_shape(self, input_shape: Any) -> tuple[Any, ...]:
        return (input_shape[0], *(input_shape[d] for d in self.dims))

    def call(self, inputs: Any) -> Any:
        return jnp.transpose(inputs, (0, *self.dims))

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["dims"] = self.dims
        return config
