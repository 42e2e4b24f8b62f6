"""kiln: the Keras 3 API on JAX, with a fast, safe, interchangeable saving system.

Use it as you would Keras::

    import kiln as keras
    from kiln import ops

Submodules and top-level names load on first use, so `import kiln` is quick
and tools that only read files (``kiln inspect``) never import JAX.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_SUBMODULES = (
    "activations",
    "callbacks",
    "config",
    "constraints",
    "initializers",
    "layers",
    "losses",
    "metrics",
    "models",
    "ops",
    "optimizers",
    "random",
    "regularizers",
    "saving",
    "utils",
)

_TOP_LEVEL = {
    "DTypePolicy": "kiln._src.dtype_policies.dtype_policy",
    "Functional": "kiln._src.models.functional",
    "Input": "kiln._src.layers.core.input_layer",
    "InputSpec": "kiln._src.layers.input_spec",
    "KerasTensor": "kiln._src.backend.keras_tensor",
    "Layer": "kiln._src.layers.layer",
    "Model": "kiln._src.models.model",
    "Sequential": "kiln._src.models.sequential",
    "Variable": "kiln._src.backend.variable",
}

__all__ = sorted([*_SUBMODULES, *_TOP_LEVEL, "__version__"])


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        module = importlib.import_module(f"kiln.{name}")
    elif name in _TOP_LEVEL:
        # Importing `layers` first registers every layer class, which files
        # and `kiln.layers` rely on.
        importlib.import_module("kiln.layers")
        module = getattr(importlib.import_module(_TOP_LEVEL[name]), name)
    else:
        raise AttributeError(f"module 'kiln' has no attribute {name!r}")
    globals()[name] = module
    return module


def __dir__() -> list[str]:
    return __all__
