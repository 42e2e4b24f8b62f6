"""kiln: the Keras 3 API on JAX."""

__version__ = "0.1.0"
