"""`Initializer`: the base class of every weight initializer."""

from __future__ import annotations

from typing import Any

from kiln._src.api_export import keras_export


def standardize_shape(shape: Any) -> tuple[int, ...]:
    """A tuple of ints from a shape; raises ValueError on unknown dimensions."""
    if isinstance(shape, int):
        shape = (shape,)
    try:
        dims = tuple(shape)
    except TypeError as error:
        raise ValueError(
            "An initializer needs a shape: a tuple or list of non-negative "
            f"integers, such as (3, 4). Received: shape={shape!r}"
        ) from error
    result = []
    for dim in dims:
        if dim is None or int(dim) != dim or int(dim) < 0:
            raise ValueError(
                "An initializer needs a fully-defined shape of non-negative "
                "integers (no `None` dimension): build the weight once the "
                f"input shape is known. Received: shape={shape!r}"
            )
        result.append(int(dim))
    return tuple(result)


@keras_export(["keras.Initializer", "keras.initializers.Initializer"])
class Initializer:
    """Base class of weight initializers.

    A subclass implements `__call__(shape, dtype=None)`, which returns an array
    of that shape and dtype (`floatx()` when `dtype` is None). To be saved with
    a model it also returns its constructor arguments from `get_config()`; the
    default `from_config()` then rebuilds it with `cls(**config)`.

    Example:

    ```python
    class ScaledOnes(keras.initializers.Initializer):
        def __init__(self, scale=1.0):
            self.scale = scale

        def __call__(self, shape, dtype=None):
            return self.scale * keras.ops.ones(shape, dtype=dtype)

        def get_config(self):
            return {"scale": self.scale}
    ```
    """

    def __call__(self, shape: Any, dtype: Any = None) -> Any:
        """Returns an array of the given `shape` and `dtype`.

        Args:
            shape: the shape of the array, a tuple of integers.
            dtype: the dtype of the array; None means `keras.config.floatx()`.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement `__call__(shape, dtype=None)`, "
            "returning an array of that shape and dtype."
        )

    def get_config(self) -> dict[str, Any]:
        """Returns the constructor arguments as a JSON-ready dict."""
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Initializer:
        """Rebuilds an initializer from the output of `get_config()`.

        Args:
            config: a dict, the output of `get_config()`.

        Returns:
            An initializer instance.
        """
        return cls(**config)

    def clone(self) -> Initializer:
        """A new initializer of the same class and config."""
        return self.__class__.from_config(self.get_config())
