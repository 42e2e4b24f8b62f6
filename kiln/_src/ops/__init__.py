"""kiln's math: thin wrappers over jax.numpy, jax.nn and lax."""
