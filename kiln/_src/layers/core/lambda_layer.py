"""`Lambda`: wraps a Python function as a layer.

Saving follows Keras: a named function is written by name. A modeling
function (such as `keras.activations.relu`) or one registered with
`register_keras_serializable` loads in safe mode; an op (`keras.ops.square`,
written as the bare name "square") is outside safe mode's allowlist and loads
with ``safe_mode=False`` or ``custom_objects={"square": keras.ops.square}``
(which Keras needs too). A Python
``lambda`` is written as its marshalled bytecode
(``{"class_name": "__lambda__", "config": {"code", "defaults", "closure"}}``),
which can run arbitrary code: loading it is refused in safe mode (the default)
and allowed only when the caller passes ``safe_mode=False``.
"""

from __future__ import annotations

import base64
import binascii
import builtins
import inspect
import marshal
import types
from typing import Any

import jax

from kiln._src.api_export import keras_export
from kiln._src.backend.keras_tensor import KerasTensor
from kiln._src.layers.layer import Layer
from kiln._src.saving import serialization_lib

_LAMBDA = "__lambda__"


def _is_python_lambda(fn: Any) -> bool:
    return isinstance(fn, types.LambdaType) and fn.__name__ == "<lambda>"


def dump_function(fn: types.FunctionType) -> dict[str, Any]:
    """Keras's ``__lambda__`` form of a function: base64 marshalled bytecode
    (76-character lines), its defaults and its closure values."""
    code = base64.encodebytes(marshal.dumps(fn.__code__)).decode("ascii")
    closure = (
        tuple(cell.cell_contents for cell in fn.__closure__) if fn.__closure__ else None
    )
    return {
        "class_name": _LAMBDA,
        "config": {"code": code, "defaults": fn.__defaults__, "closure": closure},
    }


def load_function(config: dict[str, Any], layer_name: str) -> types.FunctionType:
    """Rebuilds a function from its ``__lambda__`` config (unsafe: runs no
    code yet, but the function it returns is arbitrary code)."""
    code = config.get("code")
    if isinstance(code, list | tuple):  # the older (code, defaults, closure) form
        code, defaults, closure = code
    else:
        defaults, closure = config.get("defaults"), config.get("closure")
    try:
        raw = base64.decodebytes(code.encode("ascii"))
    except (UnicodeEncodeError, binascii.Error):
        raw = code.encode("raw_unicode_escape")
    try:
        function_code = marshal.loads(raw)
    except (ValueError, EOFError, TypeError) as error:
        raise ValueError(
            f"Cannot load the Python lambda of Lambda layer '{layer_name}': its "
            "bytecode is unreadable here. Marshalled bytecode only loads in the "
            "CPython version that wrote it; re-save the model with this Python "
            f"version, or use a named, registered function instead. ({error})"
        ) from None
    if not isinstance(function_code, types.CodeType):
        raise ValueError(
            f"The `function` of Lambda layer '{layer_name}' is not Python bytecode."
        )
    cells = None
    if closure is not None:
        cells = tuple(types.CellType(value) for value in closure)
    import kiln

    # Keras evaluates these functions in its own small namespace; kiln adds
    # `keras` (bound to kiln) so that `lambda x: keras.ops.foo(x)` works.
    namespace = {"__builtins__": builtins, "keras": kiln}
    return types.FunctionType(
        function_code,
        namespace,
        name=function_code.co_name,
        argdefs=tuple(defaults) if isinstance(defaults, list) else defaults,
        closure=cells,
    )


def _parameters(fn: Any) -> set[str]:
    try:
        return set(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return set()


@keras_export("keras.layers.Lambda")
class Lambda(Layer):
    """Wraps an arbitrary expression as a layer: ``output = function(inputs)``.

    Prefer a `Layer` subclass for anything beyond quick experiments: a model
    holding a Python lambda is saved as bytecode, which only loads with
    ``safe_mode=False`` in the same Python version. A named function (a
    built-in, or one registered with
    `keras.saving.register_keras_serializable`) is saved by name and loads
    normally.

    Args:
        function: the function to apply; it takes the inputs first, and may
            declare `mask` and `training` arguments to receive them.
        output_shape: the output shape without the batch axis (a tuple, or a
            list of tuples), or a function of the full input shape; inferred
            when None.
        mask: None, a function ``(inputs, mask) -> output mask``, or a fixed
            mask tensor.
        arguments: keyword arguments passed to `function`.

    Example:
        >>> layer = keras.layers.Lambda(lambda x: x ** 2)
        >>> layer(np.array([[1.0, 2.0]]))
        [[1., 4.]]
    """

    # The wrapped function, not the config, decides the output's shape.
    _output_spec_from_config = False

    def __init__(
        self,
        function: Any,
        output_shape: Any = None,
        mask: Any = None,
        arguments: dict[str, Any] | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(
                "The `function` of a Lambda layer must be callable (a function "
                f"or lambda). Received: function={function!r}"
            )
        if arguments is not None and not isinstance(arguments, dict):
            raise TypeError(
                "`arguments` must be a dict of keyword arguments for `function`. "
                f"Received: arguments={arguments!r}"
            )
        self.arguments = arguments or {}
        self.function = function
        self.supports_masking = mask is not None
        self.mask = mask
        self._output_shape = output_shape
        parameters = _parameters(function)
        self._fn_expects_training_arg = "training" in parameters
        self._fn_expects_mask_arg = "mask" in parameters

    def build(self, input_shape: Any) -> None:
        # Nothing to create; Keras records a build_config for Lambda.
        self.built = True

    def call(self, inputs: Any, mask: Any = None, training: Any = None) -> Any:
        kwargs = dict(self.arguments)
        if self._fn_expects_mask_arg:
            kwargs["mask"] = mask
        if self._fn_expects_training_arg:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if callable(self.mask):
            return self.mask(inputs, mask)
        return self.mask

    def compute_output_shape(self, input_shape: Any) -> Any:
        if callable(self._output_shape):
            return self._output_shape(input_shape)
        if self._output_shape is not None:
            batch = _first_dim(input_shape)
            return _map_shapes(lambda shape: (batch, *shape), self._output_shape)
        from kiln._src.ops.operation import compute_output_spec

        inputs = _map_shapes(
            lambda shape: KerasTensor(shape, dtype=self.compute_dtype), input_shape
        )
        try:
            spec = compute_output_spec(self.call, inputs)
        except Exception as error:  # noqa: BLE001 - re-raised with advice
            raise NotImplementedError(
                f"Could not infer the output shape of Lambda layer '{self.name}' "
                f"({error}). Pass the `output_shape` argument to this layer."
            ) from error
        return jax.tree_util.tree_map(
            lambda t: t.shape, spec, is_leaf=lambda t: isinstance(t, KerasTensor)
        )

    # -- saving ---------------------------------------------------------------
    @staticmethod
    def _serialize_function(fn: Any) -> Any:
        if _is_python_lambda(fn):
            return dump_function(fn)
        if callable(fn):
            return serialization_lib.serialize_keras_object(fn)
        raise ValueError(
            "Invalid input type for serialization: expected a function. "
            f"Received: {fn!r} of type {type(fn).__name__}."
        )

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["function"] = self._serialize_function(self.function)
        if self._output_shape is not None:
            config["output_shape"] = (
                self._serialize_function(self._output_shape)
                if callable(self._output_shape)
                else self._output_shape
            )
        if self.mask is not None:
            config["mask"] = (
                self._serialize_function(self.mask)
                if callable(self.mask)
                else serialization_lib.serialize_keras_object(self.mask)
            )
        config["arguments"] = serialization_lib.serialize_keras_object(self.arguments)
        return config

    @classmethod
    def from_config(
        cls,
        config: dict[str, Any],
        custom_objects: dict[str, Any] | None = None,
        safe_mode: bool | None = None,
    ) -> Lambda:
        """Rebuilds the layer; a Python lambda in `config` loads only when
        `safe_mode` (or, when None, the caller's deserialization scope, such
        as ``load_model(..., safe_mode=False)``) is explicitly False."""
        config = dict(config)
        if safe_mode is None:
            safe_mode = serialization_lib.in_safe_mode()
        safe = safe_mode is not False
        name = config.get("name", "lambda")

        def revive(value: Any, argument: str) -> Any:
            if isinstance(value, dict) and value.get("class_name") == _LAMBDA:
                if safe:
                    raise ValueError(
                        f"Requested the deserialization of Lambda layer '{name}', "
                        f"whose `{argument}` is a Python lambda (marshalled "
                        "bytecode). Running bytecode from a file can execute "
                        "arbitrary code, so it is refused in safe mode (the "
                        "default). If you trust the source of this file, load it "
                        "with `keras.models.load_model(path, safe_mode=False)` (or "
                        "pass safe_mode=False to `deserialize_keras_object`). "
                        "Better: rewrite the lambda as a named function registered "
                        "with @keras.saving.register_keras_serializable()."
                    )
                return load_function(value.get("config", {}), name)
            return serialization_lib.deserialize_keras_object(
                value, custom_objects=custom_objects, safe_mode=safe
            )

        config["function"] = revive(config["function"], "function")
        if "output_shape" in config:
            output_shape = revive(config["output_shape"], "output_shape")
            config["output_shape"] = _lists_to_tuples(output_shape)
        if "mask" in config:
            config["mask"] = revive(config["mask"], "mask")
        if "arguments" in config:
            config["arguments"] = serialization_lib.deserialize_keras_object(
                config["arguments"], custom_objects=custom_objects, safe_mode=safe
            )
        return super().from_config(config)


def _is_shape(value: Any) -> bool:
    return isinstance(value, list | tuple) and all(
        v is None or isinstance(v, int) for v in value
    )


def _map_shapes(fn: Any, shapes: Any) -> Any:
    """Applies `fn` to each shape of a shape or a nested list of shapes."""
    if _is_shape(shapes):
        return fn(tuple(shapes))
    if isinstance(shapes, dict):
        return {k: _map_shapes(fn, v) for k, v in shapes.items()}
    return [_map_shapes(fn, s) for s in shapes]


def _first_dim(shapes: Any) -> Any:
    if _is_shape(shapes):
        return shapes[0] if shapes else None
    if isinstance(shapes, dict):
        shapes = list(shapes.values())
    return _first_dim(shapes[0])


def _lists_to_tuples(value: Any) -> Any:
    if callable(value) or value is None:
        return value
    if _is_shape(value):
        return tuple(value)
    if isinstance(value, list | tuple):
        return [_lists_to_tuples(v) for v in value]
    return value
