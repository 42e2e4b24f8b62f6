"""`serialize_keras_object` / `deserialize_keras_object`: objects <-> envelopes.

An envelope is ``{"module", "class_name", "config", "registered_name"}`` (plus
``build_config`` / ``compile_config``), exactly as Keras 3 writes it. Resolution
of a name read from a file goes, in order, through: the active custom object
scopes, the global registry, the caller's ``custom_objects``, the family's own
table, and kiln's table of Keras public names. Nothing is ever imported.
"""

from __future__ import annotations

import inspect
import threading
import types
from typing import Any

import jax
import numpy as np

from kiln._src import api_export
from kiln._src.backend.keras_tensor import KerasTensor
from kiln._src.saving import object_registration, object_sharing
from kiln._src.saving.errors import InvalidFileError, UnknownObjectError
from kiln._src.saving.safety import config_checks, name_allowlist

_safe_mode = threading.local()

_THREE_WAYS = (
    "Provide it in one of three ways: decorate the class or function with "
    "@keras.saving.register_keras_serializable() (and import it before loading), "
    "pass custom_objects={'Name': Name} to the loading function, or load inside "
    "`with keras.saving.custom_object_scope({'Name': Name}):`."
)


class SafeModeScope:
    """Sets safe mode for deserialization inside a ``with`` block."""

    def __init__(self, safe_mode: bool | None = True):
        self.safe_mode = safe_mode

    def __enter__(self) -> SafeModeScope:
        self._previous = getattr(_safe_mode, "value", None)
        _safe_mode.value = self.safe_mode
        return self

    def __exit__(self, *exc_info: object) -> None:
        _safe_mode.value = self._previous


def in_safe_mode() -> bool | None:
    return getattr(_safe_mode, "value", None)


# -- serialization ---------------------------------------------------------


def _class_identity(cls: type) -> tuple[str | None, str, str | None]:
    """``(module, class_name, registered_name)`` for an instance of `cls`."""
    if cls not in object_registration.GLOBAL_CUSTOM_NAMES:
        canonical = api_export.get_canonical_name(cls)
        if canonical is not None:
            module, _, class_name = canonical.rpartition(".")
            # Keras writes its internal (non-exported) classes, such as
            # Functional or the ops of a graph, with registered_name=class_name.
            internal = module.startswith("keras.src.")
            return module, class_name, class_name if internal else None
    module = cls.__module__
    if module == "__main__":
        module = None
    return module, cls.__name__, object_registration.get_registered_name(cls)


def serialize_function(fn: Any) -> dict[str, Any]:
    """A named function's envelope; its ``config`` is the registered name."""
    if getattr(fn, "__name__", None) == "<lambda>":
        raise ValueError(
            "Cannot serialize a Python lambda by name: give the function a name "
            "with `def` and register it with "
            "@keras.saving.register_keras_serializable(). Received: a lambda."
        )
    name = object_registration.GLOBAL_CUSTOM_NAMES.get(fn) or fn.__name__
    return {
        "module": "builtins",
        "class_name": "function",
        "config": name,
        "registered_name": "function",
    }


def serialize_dict(config: dict[Any, Any]) -> dict[Any, Any]:
    return {key: serialize_keras_object(value) for key, value in config.items()}


def serialize_keras_object(obj: Any) -> Any:
    """Turns `obj` into JSON-ready data: plain values stay, objects become
    envelopes.

    Example:
        >>> serialize_keras_object(keras.regularizers.L1(0.005))
        {'module': 'keras.regularizers', 'class_name': 'L1',
         'config': {'l1': 0.004999999888241291}, 'registered_name': None}
    """
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, bytes):
        return {"class_name": "__bytes__", "config": {"value": obj.decode("utf-8")}}
    if isinstance(obj, KerasTensor):
        raise TypeError(
            "A KerasTensor can only be serialized as part of a Functional model's "
            f"graph. Received: {obj!r}"
        )
    if isinstance(obj, np.ndarray | jax.Array):
        array = np.asarray(obj)
        if array.ndim == 0:
            return array.item()
        class_name = "__numpy__" if isinstance(obj, np.ndarray) else "__tensor__"
        return {
            "class_name": class_name,
            "config": {"value": array.tolist(), "dtype": array.dtype.name},
        }
    if isinstance(obj, list | tuple):
        return [serialize_keras_object(item) for item in obj]
    if isinstance(obj, dict):
        if object_sharing.is_envelope_made_here(obj):
            return obj  # already serialized; may still get its shared id
        return serialize_dict(obj)
    if isinstance(obj, slice):
        return {
            "class_name": "__slice__",
            "config": {
                "start": serialize_keras_object(obj.start),
                "stop": serialize_keras_object(obj.stop),
                "step": serialize_keras_object(obj.step),
            },
        }
    if obj is Ellipsis:
        return {"class_name": "__ellipsis__", "config": {}}
    if isinstance(obj, types.FunctionType | types.BuiltinFunctionType):
        return serialize_function(obj)
    if not hasattr(obj, "get_config"):
        raise TypeError(
            f"Cannot serialize {obj!r}: it is not a plain value, a named function, "
            "or an object with a `get_config()` method. Add `get_config()` to its "
            "class (and register the class) to make it serializable."
        )
    module, class_name, registered_name = _class_identity(type(obj))
    try:
        inner = obj.get_config()
    except NotImplementedError as error:
        raise NotImplementedError(
            f"Cannot serialize the {class_name} object: its `get_config()` is not "
            f"implemented. {error}"
        ) from error
    envelope: dict[str, Any] = {
        "module": module,
        "class_name": class_name,
        "config": serialize_dict(inner),
        "registered_name": registered_name,
    }
    get_build_config = getattr(obj, "get_build_config", None)
    if get_build_config is not None:
        build_config = get_build_config()
        if build_config is not None:
            envelope["build_config"] = serialize_keras_object(build_config)
    get_compile_config = getattr(obj, "get_compile_config", None)
    if get_compile_config is not None:
        compile_config = get_compile_config()
        if compile_config is not None:
            envelope["compile_config"] = serialize_keras_object(compile_config)
    object_sharing.record_serialized(obj, envelope)
    return envelope


# -- deserialization -------------------------------------------------------

_BUILTIN_PACKAGES = (
    "kiln.layers",
    "kiln.activations",
    "kiln.constraints",
    "kiln.initializers",
    "kiln.losses",
    "kiln.metrics",
    "kiln.ops",
    "kiln.optimizers",
    "kiln.regularizers",
    "kiln._src.models.functional",
    "kiln._src.models.sequential",
    "kiln._src.dtype_policies.dtype_policy",
)
_builtins_registered = False


def _ensure_builtins_registered() -> None:
    """Imports kiln's own packages once, so every built-in has registered its
    Keras name before a file's names are resolved (`import kiln` is lazy)."""
    global _builtins_registered
    if not _builtins_registered:
        import importlib

        for name in _BUILTIN_PACKAGES:
            importlib.import_module(name)
        _builtins_registered = True


def _builtin_by_class_name(module: str, class_name: str) -> Any | None:
    """Resolves ``keras.src.*`` module paths (written by older Keras and by
    Keras for its internal classes) to kiln's built-in of that class name."""
    exact = api_export.get_exported_object(f"{module}.{class_name}")
    if exact is not None:
        return exact
    if not (module == "keras" or module.startswith("keras.")):
        return None
    matches = _classes_by_short_name().get(class_name, {})
    return next(iter(matches.values())) if len(matches) == 1 else None


_by_short_name: tuple[int, dict[str, dict[int, type]]] = (-1, {})


def _classes_by_short_name() -> dict[str, dict[int, type]]:
    """Exported classes by their last name component, rebuilt only when the
    table grows (one lookup per envelope, not a scan of the whole table)."""
    global _by_short_name
    size = len(api_export._OBJECTS_BY_NAME)  # cheap: no sort per lookup
    if _by_short_name[0] != size:
        index: dict[str, dict[int, type]] = {}
        for name in api_export.exported_names():
            obj = api_export.get_exported_object(name)
            if inspect.isclass(obj):
                index.setdefault(name.rpartition(".")[2], {})[id(obj)] = obj
        _by_short_name = (size, index)
    return _by_short_name[1]


def _lookup_custom(
    key: str, fallback: str | None, custom_objects: dict[str, Any] | None
) -> Any | None:
    """The caller's own objects: the scopes, the registry, `custom_objects`."""
    found = object_registration.get_registered_object(key, custom_objects)
    if found is None and fallback and fallback != key:
        # kiln is kinder than Keras here: a user who passes
        # custom_objects={"MyLayer": MyLayer} for a file that says
        # registered_name "Pkg>MyLayer" gets their class, not an error. Only
        # the caller's own tables are consulted for this fallback.
        user_tables = {
            **(custom_objects or {}),
            **object_registration.scoped_custom_objects(),
        }
        found = user_tables.get(fallback)
    return found


def _public_op(name: str) -> Any | None:
    """A public `kiln.ops` function by name (Keras writes e.g. a Lambda layer
    wrapping `keras.ops.square` as the bare name "square")."""
    from kiln import ops

    if name not in getattr(ops, "__all__", ()):
        return None
    found = getattr(ops, name, None)
    return found if callable(found) and not inspect.isclass(found) else None


def resolve_function(
    name: str,
    custom_objects: dict[str, Any] | None = None,
    module_objects: dict[str, Any] | None = None,
    safe_mode: bool = True,
) -> Any:
    """Finds the function a function envelope names: the caller's objects
    first, then kiln's (in safe mode, only those `is_safe_builtin` allows:
    anything else raises `InvalidFileError`). Raises `TypeError` if none."""
    _ensure_builtins_registered()
    short = name.rpartition(">")[2]
    found = _lookup_custom(name, short, custom_objects)
    if found is not None:
        return found
    # kiln's own tables from here on (the registry's suffix match below is
    # the caller's again).
    if module_objects:
        found = module_objects.get(name)
        if found is None:
            found = module_objects.get(short)
    if found is None:
        for family in (
            "activations",
            "losses",
            "metrics",
            "initializers",
            "regularizers",
            "constraints",
            "optimizers",
        ):
            found = api_export.get_exported_object(f"keras.{family}.{short}")
            if found is not None and not inspect.isclass(found):
                break
            found = None
    if found is None and ">" not in name:
        # Files from Keras <= 3.6 saved registered functions without package.
        for key, value in object_registration.GLOBAL_CUSTOM_OBJECTS.items():
            if key.endswith(">" + name):
                return value
    if found is None and ">" not in name and not safe_mode:
        # An op by bare name (Keras writes a Lambda over `keras.ops.square`
        # as "square"): never in safe mode, where ops are not modeling
        # functions a file may pick (see the allowlist above).
        found = _public_op(short)
    if found is None:
        hint = ""
        if ">" not in name and _public_op(short) is not None:
            hint = (
                f" ('{short}' is an op: a file may name ops only when loaded with "
                f"safe_mode=False, or with custom_objects={{'{short}': "
                f"keras.ops.{short}}}.)"
            )
        raise UnknownObjectError(
            f"Could not locate function '{name}'.{hint} "
            f"{_THREE_WAYS.replace('Name', short)}"
        )
    return name_allowlist.require_safe(found, name, safe_mode)


def resolve_class(
    config: dict[str, Any],
    custom_objects: dict[str, Any] | None = None,
    module_objects: dict[str, Any] | None = None,
    safe_mode: bool = True,
) -> Any:
    """Finds the class an envelope names: the caller's objects first, then
    kiln's (in safe mode, only those `is_safe_builtin` allows: anything else
    raises `InvalidFileError`). Raises `TypeError` saying how to provide it if
    none."""
    _ensure_builtins_registered()
    class_name = config["class_name"]
    module = config.get("module")
    registered_name = config.get("registered_name") or class_name
    if not isinstance(registered_name, str):
        registered_name = class_name
    found = _lookup_custom(registered_name, class_name, custom_objects)
    if found is not None:
        return found
    if module_objects:
        found = module_objects.get(registered_name)
    if found is None and isinstance(module, str):
        found = _builtin_by_class_name(module, class_name)
    if found is None and module_objects:
        found = module_objects.get(class_name)
    if found is None:
        shown = (
            class_name
            if registered_name == class_name
            else (f"{class_name}' (registered as '{registered_name}")
        )
        raise UnknownObjectError(
            f"Could not locate class '{shown}'. "
            f"{_THREE_WAYS.replace('Name', class_name)}"
        )
    written = f"{module}.{class_name}" if isinstance(module, str) else class_name
    return name_allowlist.require_safe(found, written, safe_mode)


def deserialize_keras_object(
    config: Any,
    custom_objects: dict[str, Any] | None = None,
    safe_mode: bool = True,
    **kwargs: Any,
) -> Any:
    """Rebuilds an object from the output of `serialize_keras_object`.

    In safe mode (the default) the config is treated as untrusted: it may
    name only modeling objects (see `is_safe_builtin`) and the caller's own
    objects, Python bytecode is refused, and whatever goes wrong raises
    `InvalidFileError` or a subclass (`UnknownObjectError` for a name that
    cannot be found, `ConfigTypeError` for a constructor's `TypeError`; both
    are still `TypeError`s, as in Keras), naming the object at fault.

    Args:
        config: an envelope, or plain data containing envelopes.
        custom_objects: a dict of extra classes and functions by name.
        safe_mode: treat the config as untrusted (see above); only the
            caller's explicit False allows bytecode and kiln's other public
            functions (ops by bare name). A file cannot change it.
    """
    module_objects = kwargs.pop("module_objects", None)
    if kwargs:
        raise TypeError(f"Unexpected keyword arguments: {sorted(kwargs)}")
    scoped_safe_mode = in_safe_mode()
    if scoped_safe_mode is not None:
        # Inside a rebuild: the outermost call's mode, and its error handling.
        return _deserialize(config, custom_objects, scoped_safe_mode, module_objects)
    if not safe_mode:
        return _deserialize(config, custom_objects, False, module_objects)
    return deserialize_untrusted(
        config,
        custom_objects,
        True,
        "deserialize_keras_object()",
        module_objects=module_objects,
    )


def deserialize_untrusted(
    config: Any,
    custom_objects: dict[str, Any] | None,
    safe_mode: bool,
    where: str,
    module_objects: dict[str, Any] | None = None,
) -> Any:
    """`deserialize_keras_object` for a config read from a file (`where`, for
    messages): any failure becomes an `InvalidFileError` (or subclass) that
    names the innermost object whose rebuild failed."""
    try:
        return _deserialize(config, custom_objects, safe_mode, module_objects)
    except InvalidFileError:
        raise
    except Exception as error:
        raise config_checks.build_error(error, where) from error


def _deserialize(
    config: Any,
    custom_objects: dict[str, Any] | None,
    safe_mode: bool,
    module_objects: dict[str, Any] | None,
) -> Any:
    def recurse(value: Any) -> Any:
        return _deserialize(value, custom_objects, safe_mode, module_objects)

    if config is None or isinstance(config, bool | int | float):
        return config
    if isinstance(config, str):
        if custom_objects and config in custom_objects:
            return custom_objects[config]
        return config
    if isinstance(config, list | tuple):
        return [recurse(item) for item in config]
    if not isinstance(config, dict):
        raise TypeError(f"Cannot deserialize a value of type {type(config).__name__}")
    if "class_name" not in config or "config" not in config:
        return {key: recurse(value) for key, value in config.items()}

    class_name = config["class_name"]
    inner = config["config"]
    special = _deserialize_special(class_name, inner, safe_mode)
    if special is not _NOT_SPECIAL:
        return special
    if class_name == "function":
        if not isinstance(inner, str):
            raise TypeError(
                "A function envelope's 'config' must be the function's name (a "
                f"string). Received: config={inner!r}"
            )
        return resolve_function(inner, custom_objects, module_objects, safe_mode)
    if not isinstance(class_name, str):
        raise TypeError(f"'class_name' must be a string. Received: {class_name!r}")
    shared = object_sharing.shared_object(config)
    if shared is not None:
        return shared
    cls = resolve_class(config, custom_objects, module_objects, safe_mode)
    if not inspect.isclass(cls):
        # A function named as a class (Keras allows it); safe mode has
        # already checked it is a modeling function or the caller's own.
        return cls
    if not isinstance(inner, dict):
        raise TypeError(
            f"Expected 'config' to be a dict for {class_name}. Received: {inner!r}"
        )
    if not callable(getattr(cls, "from_config", None)):
        raise TypeError(
            f"Class {cls.__name__} has no `from_config` classmethod, so it cannot "
            "be rebuilt from a config. Add `from_config(cls, config)` (the usual "
            "body is `return cls(**config)`)."
        )
    try:
        with (
            object_registration.CustomObjectScope(custom_objects),
            SafeModeScope(safe_mode),
        ):
            try:
                instance = cls.from_config(dict(inner))
            except TypeError as error:
                if isinstance(error, InvalidFileError):
                    raise  # already says what is wrong (an unknown name)
                raise TypeError(
                    f"{cls.__name__} could not be deserialized from its config: "
                    f"{error}\nIf its __init__ takes objects (layers, models, ...) as "
                    "arguments, deserialize them explicitly in a `from_config` "
                    "classmethod, and make `get_config()` return every __init__ "
                    f"argument.\n\nconfig={inner}"
                ) from error
            build_config = config.get("build_config")
            if build_config and not getattr(instance, "built", True):
                instance.build_from_config(build_config)
            compile_config = config.get("compile_config")
            if compile_config and hasattr(instance, "compile_from_config"):
                instance.compile_from_config(compile_config)
    except Exception as error:
        _note_failed_object(error, class_name, inner)
        raise
    object_sharing.record_deserialized(config, instance)
    return instance


_NOT_SPECIAL = object()


def _note_failed_object(error: Exception, class_name: str, inner: Any) -> None:
    """Records on `error` the innermost object whose rebuild failed, as
    ``(class_name, name)`` in ``error.kiln_failed_object``, so the loader can
    name the layer at fault."""
    if hasattr(error, "kiln_failed_object"):
        return
    cause = getattr(error.__cause__, "kiln_failed_object", None)
    if cause is None:
        name = inner.get("name") if isinstance(inner, dict) else None
        cause = (class_name, name if isinstance(name, str) else None)
    try:
        error.kiln_failed_object = cause  # type: ignore[attr-defined]
    except AttributeError:  # an exception type with __slots__
        pass


def _deserialize_special(class_name: Any, inner: Any, safe_mode: bool) -> Any:
    if class_name == "__numpy__" or class_name == "__tensor__":
        # The dtype and size are checked before numpy sees them: a dtype
        # string such as "U500000000" would allocate gigabytes.
        config_checks.check_array_marker_or_raise(inner, class_name)
        return np.array(inner["value"], dtype=inner["dtype"])
    if class_name == "__bytes__":
        return inner["value"].encode("utf-8")
    if class_name == "__slice__":
        return slice(inner["start"], inner["stop"], inner["step"])
    if class_name == "__ellipsis__":
        return Ellipsis
    if class_name == "__lambda__":
        raise ValueError(
            "The config contains a Python lambda (bytecode). kiln never runs "
            "bytecode from a config: rewrite the lambda as a named function "
            "registered with @keras.saving.register_keras_serializable()."
        )
    if (
        isinstance(class_name, str)
        and class_name.startswith("__")
        and class_name.endswith("__")
        and class_name != "__keras_tensor__"
    ):
        raise ValueError(
            f"The config contains the marker '{class_name}', which kiln does not "
            "read (known markers: __numpy__, __tensor__, __bytes__, __slice__, "
            "__ellipsis__, __keras_tensor__). The config is corrupt or was not "
            "written by Keras or kiln."
        )
    return _NOT_SPECIAL


def check_all_classes_resolvable(
    config: Any, custom_objects: dict[str, Any] | None = None, safe_mode: bool = True
) -> None:
    """Raises one TypeError naming *every* class or function in `config` that
    cannot be found, with the three ways to provide them; in safe mode, an
    `InvalidFileError` for the first name that resolves to a kiln object safe
    mode does not allow (see `is_safe_builtin`)."""
    missing: list[str] = []
    users: set[str] = set()  # the objects whose configs name them

    def visit(value: Any, owner: str | None = None) -> None:
        if isinstance(value, list):
            for item in value:
                visit(item, owner)
            return
        if not isinstance(value, dict):
            return
        class_name = value.get("class_name")
        if isinstance(class_name, str) and "config" in value:
            inner = value["config"]
            if class_name == "function" and isinstance(inner, str):
                try:
                    resolve_function(inner, custom_objects, safe_mode=safe_mode)
                except TypeError:
                    missing.append(inner)
                    users.add(owner or "the model")
            elif not class_name.startswith("__"):
                try:
                    resolve_class(value, custom_objects, safe_mode=safe_mode)
                except TypeError:
                    registered = value.get("registered_name")
                    missing.append(
                        class_name
                        if not registered or registered == class_name
                        else f"{class_name} (registered as '{registered}')"
                    )
                name = inner.get("name") if isinstance(inner, dict) else None
                if isinstance(name, str):
                    owner = f"'{name}' ({class_name})"
        # An envelope's config, and its other entries too: a model's
        # compile_config names its loss, metrics and optimizer.
        for item in value.values():
            visit(item, owner)

    visit(config)
    if missing:
        names = sorted(set(missing))
        example = names[0].split(" ")[0].rpartition(">")[2]
        ops = [name for name in names if _public_op(name) is not None]
        op_hint = (
            f" {ops[:5]} are ops ('{ops[0]}' is an op): in safe mode a file may "
            "not name ops; load it with safe_mode=False if you trust it, or pass "
            f"custom_objects={{'{ops[0]}': keras.ops.{ops[0]}}}."
            if ops
            else ""
        )
        raise UnknownObjectError(
            f"Cannot load the model: {len(names)} custom class(es) or function(s) "
            f"are unknown: {names}"
            + (f" (functions named by {sorted(users)[:5]})" if users else "")
            + f".{op_hint} kiln never imports code named in a file. "
            f"{_THREE_WAYS.replace('Name', example)}"
        )
