"""Helpers for the recurrent-layer tests: masked sequences checked against Keras.

(Imported by tests only; Keras is imported inside the functions.)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np


def masked_sequences(
    batch: int = 3, steps: int = 5, features: int = 2, seed: int = 0
) -> np.ndarray:
    """Random sequences whose padding timesteps are all zeros: sample 0 ends
    with two padding steps, sample 1 has padding at steps 0 and 2, sample 2
    (and any later one) has none."""
    data = np.random.default_rng(seed).normal(size=(batch, steps, features))
    data = data.astype("float32")
    data[0, steps - 2 :] = 0.0
    if batch > 1:
        data[1, 0] = 0.0
        data[1, 2] = 0.0
    return data


def masked_pair(factory: Callable[[Any], Any], data: np.ndarray) -> tuple[Any, Any]:
    """``Input -> Masking -> factory(lib)`` in kiln and in Keras, with Keras's
    weights copied into kiln."""
    import keras

    import kiln

    models = []
    for lib in (kiln, keras):
        inputs = lib.Input(shape=data.shape[1:])
        outputs = factory(lib)(lib.layers.Masking()(inputs))
        models.append(lib.Model(inputs, outputs))
    models[0].set_weights(models[1].get_weights())
    return models[0], models[1]


def assert_outputs_close(actual: Any, expected: Any, atol: float = 1e-5) -> None:
    if isinstance(expected, list | tuple):
        assert isinstance(actual, list | tuple) and len(actual) == len(expected)
        for a, e in zip(actual, expected):
            assert_outputs_close(a, e, atol)
        return
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), atol=atol)


def strip_keys(
    config: Any, keys: tuple[str, ...] = ("name", "quantization_config")
) -> Any:
    """A JSON round trip of `config` without `keys` at any depth."""
    config = json.loads(json.dumps(config))

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in keys}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(config)
