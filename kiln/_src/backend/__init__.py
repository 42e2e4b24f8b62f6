"""The JAX-facing core: variables, symbolic tensors, dtypes, seeds, scopes."""

from kiln._src.backend.config import epsilon, floatx, image_data_format
from kiln._src.backend.dtypes import standardize_dtype
from kiln._src.backend.keras_tensor import KerasTensor, any_symbolic, is_keras_tensor
from kiln._src.backend.stateless_scope import StatelessScope, get_stateless_scope
from kiln._src.backend.variable import Variable, convert_to_tensor, is_variable

__all__ = [
    "KerasTensor",
    "StatelessScope",
    "Variable",
    "any_symbolic",
    "convert_to_tensor",
    "epsilon",
    "floatx",
    "get_stateless_scope",
    "image_data_format",
    "is_keras_tensor",
    "is_variable",
    "standardize_dtype",
]
