"""Weight initializers (Keras 3 `keras.initializers`)."""

from kiln._src.initializers.lookup import deserialize, get, serialize

__all__ = ["deserialize", "get", "serialize"]
