"""`kiln.models`: model classes and whole-model helpers."""

from kiln._src.models.cloning import clone_model, model_from_json
from kiln._src.models.functional import Functional
from kiln._src.models.model import Model
from kiln._src.models.sequential import Sequential
from kiln._src.saving.saving_api import load_model, save_model

__all__ = [
    "Functional",
    "Model",
    "Sequential",
    "clone_model",
    "load_model",
    "model_from_json",
    "save_model",
]
