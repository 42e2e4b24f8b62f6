"""Test-wide setup: real Keras (the oracle) must run on its JAX backend."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
