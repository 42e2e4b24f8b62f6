"""Interchange tests run real Keras 3 (JAX backend) beside kiln."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")
