"""Activation functions (Keras 3 `keras.activations`)."""

from kiln._src.activations.lookup import deserialize, get, serialize

__all__ = ["deserialize", "get", "serialize"]
