"""`kiln.saving`: save and load models and weights; (de)serialize objects."""

from kiln._src.saving.errors import InvalidFileError
from kiln._src.saving.object_registration import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)
from kiln._src.saving.safety.limits import LoadLimits
from kiln._src.saving.saving_api import (
    load_model,
    load_weights,
    save_model,
    save_weights,
)
from kiln._src.saving.serialization_lib import (
    deserialize_keras_object,
    serialize_keras_object,
)
from kiln._src.saving.weights_file import (
    LoadReport,
    WeightInfo,
    WeightsFile,
    load_weights_subset,
    open_weights,
)

__all__ = [
    "CustomObjectScope",
    "InvalidFileError",
    "LoadLimits",
    "LoadReport",
    "WeightInfo",
    "WeightsFile",
    "custom_object_scope",
    "deserialize_keras_object",
    "get_custom_objects",
    "get_registered_name",
    "get_registered_object",
    "load_model",
    "load_weights",
    "load_weights_subset",
    "open_weights",
    "register_keras_serializable",
    "save_model",
    "save_weights",
    "serialize_keras_object",
]
