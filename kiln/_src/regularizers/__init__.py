"""Weight and activity regularizers (Keras 3 `keras.regularizers`)."""

from kiln._src.regularizers.lookup import deserialize, get, serialize

__all__ = ["deserialize", "get", "serialize"]
