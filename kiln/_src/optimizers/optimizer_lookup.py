"""`kiln.optimizers.get`, `serialize` and `deserialize`."""

from __future__ import annotations

from typing import Any

from kiln._src.api_export import keras_export
from kiln._src.optimizers.adagrad import Adagrad
from kiln._src.optimizers.adam import Adam
from kiln._src.optimizers.adamw import AdamW
from kiln._src.optimizers.base_optimizer import Optimizer
from kiln._src.optimizers.rmsprop import RMSprop
from kiln._src.optimizers.sgd import SGD
from kiln._src.saving import object_registration, serialization_lib

# Keras resolves built-in optimizer names case-insensitively ("adam", "Adam",
# "ADAM", "rmsprop", "RMSprop").
_BY_LOWER_NAME: dict[str, type[Optimizer]] = {
    cls.__name__.lower(): cls for cls in (Optimizer, SGD, Adam, AdamW, RMSprop, Adagrad)
}
_USABLE_NAMES = sorted(name for name in _BY_LOWER_NAME if name != "optimizer")


@keras_export("keras.optimizers.serialize")
def serialize(optimizer: Optimizer) -> dict[str, Any]:
    """Returns the optimizer's envelope (``module``, ``class_name``, ``config``...).

    Example:
        >>> serialize(SGD())["class_name"]
        'SGD'
    """
    return serialization_lib.serialize_keras_object(optimizer)


@keras_export("keras.optimizers.deserialize")
def deserialize(
    config: dict[str, Any], custom_objects: dict[str, Any] | None = None
) -> Optimizer:
    """Rebuilds an optimizer from its envelope (built-in class names match
    case-insensitively).

    Args:
        config: the output of `serialize`.
        custom_objects: extra classes by name.
    """
    config = dict(config)
    class_name = config.get("class_name")
    if isinstance(class_name, str) and class_name.lower() in _BY_LOWER_NAME:
        config["class_name"] = class_name.lower()
    return serialization_lib.deserialize_keras_object(
        config, custom_objects=custom_objects, module_objects=_BY_LOWER_NAME
    )


def _unknown(identifier: Any) -> ValueError:
    return ValueError(
        f"Could not interpret optimizer identifier: {identifier!r}. Expected an "
        f"optimizer name (one of {_USABLE_NAMES}, any letter case), a config "
        "dict, or an `Optimizer` instance; custom optimizers must be registered "
        "with @keras.saving.register_keras_serializable()."
    )


@keras_export("keras.optimizers.get")
def get(identifier: Any) -> Optimizer | None:
    """Returns an optimizer from a name, a config dict or an instance.

    Args:
        identifier: None, a name such as ``"adam"`` (default arguments), a dict
            from `serialize`, or an `Optimizer` (returned as is).

    Returns:
        An `Optimizer`, or None for None.

    Example:
        >>> get("rmsprop").get_config()["rho"]
        0.9
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        known = identifier.lower() in _BY_LOWER_NAME or (
            object_registration.get_registered_object(identifier) is not None
        )
        if not known:
            raise _unknown(identifier)
        obj = deserialize({"class_name": identifier, "config": {}})
    else:
        obj = identifier
    if isinstance(obj, Optimizer):
        return obj
    raise _unknown(identifier)
