"""Imports every layer module, so each registers its Keras public name.

`kiln.layers` is then built from the `keras.layers.*` entries of the export
table: adding a layer is adding a file with an ``@keras_export`` class.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from kiln._src import api_export


def import_all_layer_modules() -> None:
    import kiln._src.layers as package

    for module in pkgutil.walk_packages(
        package.__path__, prefix=package.__name__ + "."
    ):
        if not module.name.endswith("_test"):
            importlib.import_module(module.name)


def public_layer_objects() -> dict[str, Any]:
    """``{"Dense": Dense, ...}``: every object exported as ``keras.layers.X``."""
    import_all_layer_modules()
    objects = {}
    for name in api_export.exported_names():
        prefix, _, short = name.rpartition(".")
        if prefix == "keras.layers":
            objects[short] = api_export.get_exported_object(name)
    return objects
