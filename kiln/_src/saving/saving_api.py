"""Public entry points: paths, extensions and overwrite rules, then
`saving_lib` does the work."""

from __future__ import annotations

from typing import Any

from kiln._src.api_export import keras_export
from kiln._src.saving import file_io, saving_lib
from kiln._src.saving.errors import InvalidFileError
from kiln._src.saving.safety.limits import LoadLimits, check_limits

_LEGACY_H5 = (".h5", ".hdf5")


def _refuse_overwrite(path: str, overwrite: bool) -> None:
    if not overwrite and file_io.exists(path):
        raise FileExistsError(
            f"'{path}' already exists and overwrite=False. Pass overwrite=True to "
            "replace it, or choose another path."
        )


@keras_export(["keras.saving.save_model", "keras.models.save_model"])
def save_model(
    model: Any,
    filepath: Any,
    overwrite: bool = True,
    zipped: bool | None = None,
    **kwargs: Any,
) -> None:
    """Saves a model (architecture, weights, compile state and optimizer) as a
    `.keras` zip, or as a directory with ``zipped=False``.

    The write is atomic: the file appears complete or not at all, and an
    interrupted save leaves any previous file intact.

    Args:
        model: the model to save.
        filepath: a path ending in ``.keras`` (or a directory when
            ``zipped=False``).
        overwrite: whether to replace an existing file.
        zipped: False writes an unzipped directory.
    """
    from kiln._src.models.model import Model

    kwargs.pop("save_format", None)  # deprecated in Keras 3; ignored
    if kwargs:
        raise ValueError(
            "save_model() got unexpected keyword arguments "
            f"{sorted(kwargs)}. Received: kwargs={kwargs}"
        )
    if not isinstance(model, Model):
        raise TypeError(
            "save_model() expects a kiln Model (Sequential, Functional or "
            f"subclassed). Received: model of type {type(model).__name__}"
        )
    path = file_io.fspath(filepath)
    if zipped is None:
        zipped = True
    if path.endswith(_LEGACY_H5):
        raise ValueError(
            "kiln does not write the legacy Keras 2 HDF5 model format. Save to a "
            f"'.keras' file instead. Received: filepath={path}"
        )
    if zipped and not path.endswith(".keras"):
        raise ValueError(
            "Invalid filepath extension for saving. Please add the `.keras` "
            "extension (or pass zipped=False to save an unzipped directory). "
            f"Received: filepath={path}"
        )
    if not zipped and path.endswith(".keras"):
        raise ValueError(
            "When zipped=False the path names a directory and must not end in "
            f"'.keras'. Received: filepath={path}"
        )
    _refuse_overwrite(path, overwrite)
    if zipped:
        saving_lib.save_model_to_archive(model, path)
    else:
        saving_lib.save_model_to_directory(model, path)


def check_model_path(path: str) -> None:
    """`load_model`'s rules for the path itself, before anything is opened
    (`kiln verify` applies them too): a directory must hold config.json, a
    `.keras` file must exist, other extensions are refused."""
    if file_io.isdir(path):
        if not file_io.exists(f"{path}/config.json"):
            # The directory's contents are the file here: an InvalidFileError
            # (still a ValueError, as before).
            raise InvalidFileError(
                f"'{path}' is a directory without config.json, so it is not a "
                "model saved with zipped=False."
            )
    elif path.endswith(".keras"):
        if not file_io.exists(path):
            raise FileNotFoundError(
                f"File not found: filepath={path}. Please ensure the file is an "
                "accessible `.keras` zip file."
            )
    elif path.endswith(_LEGACY_H5):
        raise ValueError(
            "kiln does not load legacy Keras 2 HDF5 model files (.h5). Load it in "
            f"Keras and re-save it as '.keras'. Received: filepath={path}"
        )
    else:
        raise ValueError(
            f"File format not supported: filepath={path}. kiln loads '.keras' "
            "files and directories saved with zipped=False."
        )


@keras_export(["keras.saving.load_model", "keras.models.load_model"])
def load_model(
    filepath: Any,
    custom_objects: dict[str, Any] | None = None,
    compile: bool = True,
    safe_mode: bool = True,
    limits: LoadLimits | None = None,
) -> Any:
    """Loads a model saved with `save_model` (by kiln or by Keras 3).

    Args:
        filepath: a `.keras` file, or a directory saved with ``zipped=False``.
        custom_objects: ``{name: class_or_function}`` for custom objects.
        compile: whether to compile the model as it was when saved.
        safe_mode: refuse Python bytecode (lambdas) in the file. kiln never
            imports modules named by a file, in either mode.
        limits: a `kiln.saving.LoadLimits` to raise the size caps (a kiln
            extension), e.g. ``LoadLimits(max_variable_bytes=32 * 2**30)``
            to load a model whose variables take over the default 8 GiB.
            None: the defaults.
    """
    path = file_io.fspath(filepath)
    if custom_objects is not None and not isinstance(custom_objects, dict):
        raise TypeError(
            "`custom_objects` must be a dict {name: class_or_function}. "
            f"Received: custom_objects={custom_objects!r}"
        )
    limits = check_limits(limits)
    check_model_path(path)
    return saving_lib.load_model_from_path(
        path, custom_objects, compile, safe_mode, limits
    )


@keras_export("keras.saving.save_weights")
def save_weights(
    model: Any,
    filepath: Any,
    overwrite: bool = True,
    max_shard_size: Any = None,
    **kwargs: Any,
) -> None:
    """Saves only the weights (and optimizer state) to a `.weights.h5` file,
    or, with ``max_shard_size`` (GiB), to a `.weights.json` index plus
    ``<name>_00000.weights.h5``, ... shards beside it (Keras 3's layout)."""
    path = file_io.fspath(filepath)
    if kwargs:
        raise ValueError(f"Unexpected keyword arguments: {sorted(kwargs)}")
    if max_shard_size is None and not path.endswith(".weights.h5"):
        raise ValueError(
            f"The filename must end in `.weights.h5`. Received: filepath={path}"
        )
    if max_shard_size is not None:
        if not path.endswith(("weights.h5", "weights.json")):
            raise ValueError(
                "The filename must end in `.weights.json` when `max_shard_size` "
                f"is specified. Received: filepath={path}"
            )
        if not path.endswith(".json"):
            import warnings

            index_path = path[: -len(".h5")] + ".json"
            warnings.warn(
                "Saving sharded weights requires `*.json` as the extension. The "
                f"original path: {path} will be renamed to {index_path}.",
                stacklevel=2,
            )
            path = index_path
    if not model.built:
        raise ValueError(
            f"You are calling save_weights() on model '{model.name}', which has "
            "not been built yet: it has no weights to save. Call the model on "
            "data, or call `model.build(input_shape)` first."
        )
    _refuse_overwrite(path, overwrite)
    if max_shard_size is not None:
        from kiln._src.saving import sharded_weights

        sharded_weights.save_sharded_weights(model, path, max_shard_size)
        return
    saving_lib.save_weights_file(model, path)


@keras_export("keras.saving.load_weights")
def load_weights(
    model: Any,
    filepath: Any,
    skip_mismatch: bool = False,
    limits: LoadLimits | None = None,
    **kwargs: Any,
) -> None:
    """Loads weights from a `.weights.h5`, `.weights.json` (sharded) or
    `.keras` file into a built model.

    Args:
        skip_mismatch: warn and skip objects whose variable count or shapes
            differ, instead of raising.
        limits: a `kiln.saving.LoadLimits` to raise the size caps (a kiln
            extension): a `.keras` file's weights member or a shard over
            16 GiB needs ``max_weights_bytes``. None: the defaults.
    """
    path = file_io.fspath(filepath)
    limits = check_limits(limits)
    if kwargs:
        raise ValueError(f"Unexpected keyword arguments: {sorted(kwargs)}")
    if not (
        path.endswith((".weights.h5", ".weights.json", ".keras")) or file_io.isdir(path)
    ):
        raise ValueError(
            "File format not supported: load_weights() reads '.weights.h5', "
            f"'.weights.json' and '.keras' files. Received: filepath={path}"
        )
    if not file_io.exists(path):
        raise FileNotFoundError(f"File not found: filepath={path}")
    if not model.built:
        raise ValueError(
            f"Model '{model.name}' must be built before loading weights into it. "
            "Call it on data or `model.build(input_shape)` first."
        )
    if path.endswith(".weights.json"):
        from kiln._src.saving import sharded_weights

        sharded_weights.load_sharded_weights(model, path, skip_mismatch, limits)
        return
    saving_lib.load_weights_from_path(model, path, skip_mismatch, limits)


__all__ = [
    "InvalidFileError",
    "load_model",
    "load_weights",
    "save_model",
    "save_weights",
]
