"""Weight constraints (Keras 3 `keras.constraints`)."""

from kiln._src.constraints.lookup import deserialize, get, serialize

__all__ = ["deserialize", "get", "serialize"]
