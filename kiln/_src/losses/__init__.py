"""Losses: the `Loss` base class, the built-in losses and their functions."""

from kiln._src.losses.lookup import deserialize, get, serialize
from kiln._src.losses.loss import Loss
from kiln._src.losses.loss_function_wrapper import LossFunctionWrapper

__all__ = ["Loss", "LossFunctionWrapper", "deserialize", "get", "serialize"]
