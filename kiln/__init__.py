"""kiln: the Keras 3 API on JAX, with a fast, safe, interchangeable saving system.

Use it as you would Keras::

    import kiln as keras
    from kiln import ops
"""

from kiln import (
    activations,
    callbacks,
    config,
    constraints,
    initializers,
    layers,
    losses,
    metrics,
    models,
    ops,
    optimizers,
    random,
    regularizers,
    saving,
    utils,
)
from kiln._src.backend.keras_tensor import KerasTensor
from kiln._src.backend.variable import Variable
from kiln._src.dtype_policies.dtype_policy import DTypePolicy
from kiln._src.layers.core.input_layer import Input
from kiln._src.layers.input_spec import InputSpec
from kiln._src.layers.layer import Layer
from kiln._src.models.functional import Functional
from kiln._src.models.model import Model
from kiln._src.models.sequential import Sequential

__version__ = "0.1.0"

__all__ = [
    "DTypePolicy",
    "Functional",
    "Input",
    "InputSpec",
    "KerasTensor",
    "Layer",
    "Model",
    "Sequential",
    "Variable",
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
    "__version__",
]
