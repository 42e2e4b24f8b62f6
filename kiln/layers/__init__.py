"""`kiln.layers`: the building blocks of models."""

from kiln._src.layers.activations.activation import Activation
from kiln._src.layers.core.dense import Dense
from kiln._src.layers.core.identity import Identity
from kiln._src.layers.core.input_layer import Input, InputLayer
from kiln._src.layers.input_spec import InputSpec
from kiln._src.layers.layer import Layer
from kiln._src.layers.regularization.dropout import Dropout
from kiln._src.layers.reshaping.flatten import Flatten
from kiln._src.layers.reshaping.reshape import Reshape
from kiln._src.layers.serialization import deserialize, serialize

__all__ = [
    "Activation",
    "Dense",
    "Dropout",
    "Flatten",
    "Identity",
    "Input",
    "InputLayer",
    "InputSpec",
    "Layer",
    "Reshape",
    "deserialize",
    "serialize",
]
