"""`kiln.utils`: seeds, the progress bar, and serialization helpers."""

from kiln._src.saving.object_registration import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)
from kiln._src.saving.serialization_lib import (
    deserialize_keras_object,
    serialize_keras_object,
)
from kiln._src.utils.naming import reset_names as _reset_names
from kiln._src.utils.progbar import Progbar
from kiln._src.utils.rng_utils import set_random_seed


def clear_session() -> None:
    """Resets kiln's automatic layer names (``dense``, ``dense_1``, ...)."""
    _reset_names()


__all__ = [
    "CustomObjectScope",
    "Progbar",
    "clear_session",
    "custom_object_scope",
    "deserialize_keras_object",
    "get_custom_objects",
    "get_registered_name",
    "get_registered_object",
    "register_keras_serializable",
    "serialize_keras_object",
    "set_random_seed",
]
