"""Field checks on a parsed `config.json`, before any object is built.

One iterative walk (no recursion, whatever the nesting) visits every envelope
(``{"class_name", "config", ...}``) and checks, by field name, the fields kiln
reads: a table of field kinds shared across classes (``units`` is a positive
integer wherever it appears; ``kernel_size`` a positive integer or a tuple of
them; ``batch_shape`` a shape; ...). Booleans are never accepted as integers.
Fields the table does not name are left to the class's constructor.

The special markers are checked too: ``__numpy__``/``__tensor__`` (dtype
allowlist, element count, regular shape), ``__keras_tensor__``,
``__bytes__``, ``__slice__`` and ``__ellipsis__``. ``__lambda__`` (Python
bytecode) is refused in safe mode; every other ``__dunder__`` marker always.

Limits (documented in FORMAT.md): a dimension is at most ``MAX_DIM``, a shape
has at most ``MAX_RANK`` dimensions, a ``__numpy__`` value holds at most
``MAX_ARRAY_ELEMENTS`` elements. Every failure is an `InvalidFileError` whose
message names the layer (or object), its class and the field.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

from kiln._src.saving.errors import InvalidFileError

MAX_DIM = 2**31 - 1
MAX_RANK = 16
MAX_ARRAY_ELEMENTS = 1_000_000
MAX_NAME_CHARS = 256
# An RNN with unroll=True traces one step per timestep: a file loaded in safe
# mode may unroll at most this many (Keras's advice: unroll short sequences).
MAX_UNROLL_STEPS = 1_000

ARRAY_DTYPES = frozenset(
    ["bool", "float16", "bfloat16", "float32", "float64"]
    + [f"{sign}int{bits}" for sign in ("", "u") for bits in (8, 16, 32, 64)]
)
_MARKERS = frozenset(
    [
        "__keras_tensor__",
        "__numpy__",
        "__tensor__",
        "__bytes__",
        "__slice__",
        "__ellipsis__",
    ]
)
# Envelopes in these config fields (or in the lists `layers` and `cells`) are
# layers, whose names Keras restricts (no '/').
_LAYER_FIELDS = frozenset(["layer", "forward_layer", "backward_layer", "cell"])
_LAYER_LISTS = frozenset(["layers", "cells"])
_POLICY_CLASSES = frozenset(
    [
        "DTypePolicy",
        "FloatDTypePolicy",
        "QuantizedDTypePolicy",
        "QuantizedFloat8DTypePolicy",
    ]
)
_PADDING_MODES = frozenset(["valid", "same", "causal", "full"])
_DATA_FORMATS = frozenset(["channels_last", "channels_first"])
# A dtype (or a dtype policy) name: a plain numeric dtype, optionally
# "mixed_"-prefixed, or a quantized policy "<dtype>_from_<policy>". Numpy's
# sized flexible types ("U500000000", "S9", "V8", "<U4") never match.
_DTYPE_PART = (
    r"(?:mixed_)?(?:bool|u?int(?:4|8|16|32|64)|float(?:8_e4m3fn|8_e5m2|8|16|32|64)"
    r"|bfloat16|complex(?:64|128)|string|float|int|double|half)"
)
_DTYPE_NAME = re.compile(rf"{_DTYPE_PART}(?:_from_{_DTYPE_PART})?")


class _Bad(Exception):
    """A field's value is wrong: `expected` says what it must be."""

    def __init__(self, expected: str, value: Any = None, shown: bool = True):
        super().__init__(expected)
        self.expected = expected
        self.value = value
        self.shown = shown


def _show(value: Any) -> str:
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


# -- field kinds -----------------------------------------------------------
# Each takes the value and raises `_Bad` when it is wrong.


def _positive_int(value: Any, nullable: bool = False) -> None:
    if value is None and nullable:
        return
    if not _is_int(value) or not 1 <= value <= MAX_DIM:
        raise _Bad(
            f"a positive integer of at most {MAX_DIM} (a JSON number, not a "
            "boolean or string)" + (", or null" if nullable else ""),
            value,
        )


def _ints(value: Any, low: int, what: str, nullable: bool, depth: int = 1) -> None:
    """An int >= `low`, or a list (nested up to `depth`) of them."""
    expected = (
        f"{what} (an integer >= {low} and <= {MAX_DIM}, or a list of at most "
        f"{MAX_RANK} of them)" + (", or null" if nullable else "")
    )
    if value is None and nullable:
        return
    level = [value]
    for _ in range(depth + 1):
        items: list[Any] = []
        for item in level:
            if isinstance(item, list):
                if len(item) > MAX_RANK:
                    raise _Bad(expected, value)
                items.extend(item)
            elif not _is_int(item) or not low <= item <= MAX_DIM:
                raise _Bad(expected, value)
        if not items:
            return
        level = items
    raise _Bad(expected, value)


def _int_or_tuple(value: Any) -> None:
    _ints(value, 1, "a positive integer or a tuple of positive integers", True)


def _padding(value: Any) -> None:
    if isinstance(value, str):
        if value.lower() not in _PADDING_MODES:
            raise _Bad(f"one of {sorted(_PADDING_MODES)}", value)
        return
    # ZeroPadding*D and Cropping*D: an int, a tuple, or a tuple of pairs.
    _ints(value, 0, "a padding mode string or non-negative padding amounts", True, 2)


def _cropping(value: Any) -> None:
    _ints(value, 0, "non-negative cropping amounts", False, 2)


def _shape(value: Any, nullable: bool = True, low: int = 0, dim_null: bool = True):
    expected = (
        f"a shape: a list of at most {MAX_RANK} dimensions, each an integer "
        f">= {low} and <= {MAX_DIM}" + (" or null" if dim_null else "")
    ) + (" (or null for the whole shape)" if nullable else "")
    if value is None and nullable:
        return
    if not isinstance(value, list) or len(value) > MAX_RANK:
        raise _Bad(expected, value)
    for dim in value:
        if dim is None and dim_null:
            continue
        if not _is_int(dim) or not low <= dim <= MAX_DIM:
            raise _Bad(expected, value)


def _shape_structure(value: Any) -> None:
    """A shape, or lists/dicts of shapes (a multi-input layer's build shape)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if item is None:
            continue
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list) and any(isinstance(v, list | dict) for v in item):
            stack.extend(item)
        else:
            _shape(item)


def _output_shape(value: Any) -> None:
    if _is_int(value):
        _positive_int(value)
    else:
        _shape(value)


def _target_shape(value: Any) -> None:
    # Reshape allows one -1 ("infer this dimension").
    _shape(value, nullable=False, low=-1, dim_null=False)


def _permutation(value: Any) -> None:
    _shape(value, nullable=False, low=1, dim_null=False)


def _number_in(low: float, high: float | None) -> Callable[[Any], None]:
    def check(value: Any) -> None:
        if not _is_number(value) or value < low or (high is not None and value > high):
            bound = f"in [{low}, {high}]" if high is not None else f">= {low}"
            raise _Bad(f"a finite number {bound} (not a boolean or string)", value)

    return check


def _boolean(value: Any) -> None:
    if not isinstance(value, bool):
        raise _Bad("a boolean (true or false)", value)


def _data_format(value: Any) -> None:
    if value is not None and value not in _DATA_FORMATS:
        raise _Bad(f"one of {sorted(_DATA_FORMATS)} or null", value)


def _dtype(value: Any) -> None:
    # A dtype policy envelope is walked (and checked) as an object.
    if value is None or isinstance(value, dict):
        return
    if not isinstance(value, str) or not _DTYPE_NAME.fullmatch(value):
        raise _Bad(
            "a dtype name such as 'float32', 'int32', 'bfloat16' or "
            "'mixed_float16', or a dtype policy",
            value,
        )


def _split_sections(value: Any) -> None:
    """An ops `Split`'s sections (Keras keeps them in the op's config; kiln
    in the node, where `graph_checks` bounds them the same way)."""
    from kiln._src.saving.safety.graph_checks import MAX_SPLIT_SECTIONS

    if isinstance(value, list) and all(_is_int(v) for v in value):
        return
    if not _is_int(value) or not 1 <= value <= MAX_SPLIT_SECTIONS:
        raise _Bad(
            f"a number of sections in [1, {MAX_SPLIT_SECTIONS}] (each section is "
            "traced while the model is rebuilt) or a list of split points",
            value,
        )


FIELD_KINDS: dict[str, Callable[[Any], None]] = {
    **dict.fromkeys(
        [
            "units",
            "filters",
            "input_dim",
            "output_dim",
            "num_heads",
            "key_dim",
            "num_classes",
            "groups",
            "depth_multiplier",
            "n",
        ],
        _positive_int,
    ),
    **dict.fromkeys(
        ["value_dim", "num_tokens"], lambda v: _positive_int(v, nullable=True)
    ),
    **dict.fromkeys(
        ["kernel_size", "strides", "pool_size", "dilation_rate", "size"],
        _int_or_tuple,
    ),
    "padding": _padding,
    "cropping": _cropping,
    "output_padding": lambda v: _ints(v, 0, "non-negative output padding", True),
    **dict.fromkeys(["batch_shape", "shape", "noise_shape"], _shape),
    "input_shape": _shape_structure,
    "output_shape": _output_shape,
    "target_shape": _target_shape,
    "dims": _permutation,
    **dict.fromkeys(["rate", "dropout", "recurrent_dropout"], _number_in(0, 1)),
    **dict.fromkeys(["momentum", "epsilon", "stddev"], _number_in(0, None)),
    **dict.fromkeys(
        [
            "use_bias",
            "return_sequences",
            "return_state",
            "go_backwards",
            "stateful",
            "unroll",
            "trainable",
            "center",
            "use_scale",
            "keepdims",
            "mask_zero",
            "sparse",
            "ragged",
            "reset_after",
            "unit_forget_bias",
            "normalize",
            "zero_output_for_mask",
            "synchronized",
            "renorm",
            "rms_scaling",
            "use_gate",
            "optional",
        ],
        _boolean,
    ),
    "data_format": _data_format,
    "dtype": _dtype,
    "indices_or_sections": _split_sections,
}


def _check_unrolled_steps(input_shape: Any) -> None:
    """An unrolled RNN's sequence length (axis 1 of its build shape) is at
    most `MAX_UNROLL_STEPS`. The RNN layer checks it again when it is built
    from a file (a file may leave out build_config)."""
    if (
        isinstance(input_shape, list)
        and len(input_shape) > 1
        and _is_int(input_shape[1])
        and input_shape[1] > MAX_UNROLL_STEPS
    ):
        raise _Bad(
            f"false for sequences over {MAX_UNROLL_STEPS} timesteps in safe mode "
            f"(build_config.input_shape has {input_shape[1]}): unrolling traces "
            "one step per timestep. Set unroll to false (the same results), or "
            "load with safe_mode=False if you trust the file",
            True,
        )


def _check_name(value: Any, is_layer: bool) -> None:
    if value is None and not is_layer:
        return
    if (
        not isinstance(value, str)
        or not (1 if is_layer else 0) <= len(value) <= MAX_NAME_CHARS
        or "\x00" in value
        or (is_layer and "/" in value)
    ):
        raise _Bad(
            f"a string of 1 to {MAX_NAME_CHARS} characters without NUL"
            + (" or '/' (Keras forbids '/' in layer names)" if is_layer else ""),
            value,
        )


# -- markers ---------------------------------------------------------------


def _check_array_marker(inner: Any) -> None:
    """Checks a ``__numpy__``/``__tensor__`` marker's config (raises `_Bad`)."""
    if not isinstance(inner, dict) or "value" not in inner or "dtype" not in inner:
        raise _Bad("an object with 'value' and 'dtype'", inner)
    dtype = inner["dtype"]
    if dtype not in ARRAY_DTYPES:
        raise _Bad(f"an array dtype, one of {sorted(ARRAY_DTYPES)}", dtype)
    level = [inner["value"]]
    count = 1
    for _ in range(MAX_RANK + 1):
        if not any(isinstance(item, list) for item in level):
            break
        length = len(level[0]) if isinstance(level[0], list) else -1
        if any(not isinstance(item, list) or len(item) != length for item in level):
            raise _Bad("a regular nested list (every row the same length)", None, False)
        count *= length
        if count > MAX_ARRAY_ELEMENTS:
            raise _Bad(
                f"an array of at most {MAX_ARRAY_ELEMENTS} elements", None, False
            )
        level = [value for item in level for value in item]
    else:
        raise _Bad(f"an array of at most {MAX_RANK} dimensions", None, False)
    for item in level:
        if not (_is_number(item) or isinstance(item, bool)):
            raise _Bad("an array of numbers or booleans", item)


def check_array_marker_or_raise(inner: Any, class_name: str = "__numpy__") -> None:
    """Raises `InvalidFileError` unless `inner` is a valid ``__numpy__`` /
    ``__tensor__`` config (for `deserialize_keras_object`)."""
    try:
        _check_array_marker(inner)
    except _Bad as bad:
        got = f"; got {_show(bad.value)}" if bad.shown else ""
        raise InvalidFileError(
            f"A '{class_name}' value must be {bad.expected}{got}."
        ) from None


def _check_keras_tensor(inner: Any) -> None:
    if not isinstance(inner, dict):
        raise _Bad("a __keras_tensor__ object with 'shape', 'dtype', 'keras_history'")
    _shape(inner.get("shape"), nullable=False)
    _dtype(inner.get("dtype"))
    history = inner.get("keras_history")
    if not (
        isinstance(history, list)
        and len(history) == 3
        and isinstance(history[0], str)
        and _is_int(history[1])
        and _is_int(history[2])
        and history[1] >= 0
        and history[2] >= 0
    ):
        raise _Bad(
            "a keras_history [layer_name, node_index, tensor_index] (a string "
            "and two non-negative integers)",
            history,
        )


def _check_marker(class_name: str, inner: Any) -> None:
    if class_name == "__lambda__":
        if not (isinstance(inner, dict) and isinstance(inner.get("code"), str)):
            raise _Bad("a '__lambda__' config with a base64 'code' string", inner)
        return
    if class_name not in _MARKERS:
        raise _Bad(
            f"no unknown marker: '{class_name}' is not one kiln reads (known: "
            f"{sorted(_MARKERS)})",
            None,
            False,
        )
    if class_name in ("__numpy__", "__tensor__"):
        _check_array_marker(inner)
    elif class_name == "__keras_tensor__":
        _check_keras_tensor(inner)
    elif class_name == "__bytes__":
        if not isinstance(inner, dict) or not isinstance(inner.get("value"), str):
            raise _Bad("a __bytes__ object with a string 'value'", inner)
    elif class_name == "__slice__":
        if not isinstance(inner, dict) or any(
            inner.get(key) is not None and not _is_int(inner.get(key))
            for key in ("start", "stop", "step")
        ):
            raise _Bad("a __slice__ whose start, stop and step are ints or null", inner)


# -- the walk --------------------------------------------------------------


def _field_text(field: Any) -> str:
    """A field path kept as nested ``(parent, key)`` pairs (so the walk holds
    no string per value, which a small file of long nested keys would make
    huge), rendered only for a message."""
    parts = []
    while isinstance(field, tuple):
        field, key = field
        parts.append(f"[{key}]" if isinstance(key, int) else f".{key}")
    text = str(field) + "".join(reversed(parts))
    return text if len(text) <= 400 else text[:200] + "..." + text[-200:]


def _fail(where: str, owner: tuple[str, Any, Any], field: Any, bad: _Bad) -> None:
    field = _field_text(field)
    kind, name, class_name = owner
    who = (
        f"{kind} '{name}' ({class_name})"
        if name is not None
        else f"{kind} ({class_name})"
    )
    got = f"; got {_show(bad.value)}" if bad.shown else ""
    raise InvalidFileError(
        f"{where}: {who} field '{field}' must be {bad.expected}{got}. The file "
        "is corrupt or was edited by hand; Keras and kiln never write this value."
    ) from None


def _is_envelope(value: dict[str, Any]) -> bool:
    return "class_name" in value and "config" in value


def _refuse_bytecode(where: str, owner: tuple[str, Any, Any], field: Any) -> None:
    field = _field_text(field)
    kind, name, class_name = owner
    who = f"{kind} '{name}' ({class_name})" if name is not None else kind
    raise InvalidFileError(
        f"{where}: {who} field '{field}' holds Python bytecode (a lambda, "
        "'__lambda__'), which can run arbitrary code, so it is refused in safe "
        "mode. If you trust this file, load it with safe_mode=False; better, "
        "rewrite the lambda as a named function registered with "
        "@keras.saving.register_keras_serializable()."
    )


def check_config(
    config: Any, where: str = "config.json", safe_mode: bool = True
) -> None:
    """Raises `InvalidFileError` if any field kiln reads in `config` (a parsed
    `config.json`, or `model.to_json()`) has the wrong type or range.

    Args:
        config: the parsed JSON.
        where: what the config is, for messages.
        safe_mode: refuse Python bytecode (``__lambda__``); only an explicit
            ``False`` from the caller of `load_model` allows it.
    """
    root_owner = ("object", None, "config")
    # (value, owner (kind, name, class_name), field path, is a layer slot)
    stack: list[tuple[Any, tuple[str, Any, Any], Any, bool]] = [
        (config, root_owner, "", True)
    ]
    while stack:
        value, owner, path, layer_slot = stack.pop()
        if isinstance(value, list):
            stack.extend(
                (item, owner, (path, index), layer_slot)
                for index, item in enumerate(value)
            )
            continue
        if not isinstance(value, dict):
            continue
        if not _is_envelope(value):
            stack.extend(
                (item, owner, (path, key) if path else str(key), False)
                for key, item in value.items()
            )
            continue
        class_name, inner = value["class_name"], value["config"]
        if not isinstance(class_name, str):
            _fail(where, owner, path, _Bad("an envelope with a string 'class_name'"))
        if class_name.startswith("__") and class_name.endswith("__"):
            if class_name == "__lambda__" and safe_mode:
                _refuse_bytecode(where, owner, path or "config")
            try:
                _check_marker(class_name, inner)
            except _Bad as bad:
                _fail(where, owner, path or "config", bad)
            continue
        if class_name == "function":
            if not isinstance(inner, str):
                _fail(where, owner, path, _Bad("a function name (a string)", inner))
            continue
        name = value.get("name")
        if name is None and isinstance(inner, dict):
            name = inner.get("name")
        kind = "layer" if layer_slot else "object"
        this = (kind, name if isinstance(name, str) else None, class_name)
        for key in ("module", "registered_name"):
            if value.get(key) is not None and not isinstance(value[key], str):
                _fail(where, this, key, _Bad("a string or null", value[key]))
        if "name" in value:
            try:
                _check_name(value["name"], layer_slot)
            except _Bad as bad:
                _fail(where, this, "name", bad)
        # Field rules are Keras's: a custom class (its module is the user's,
        # so it can only resolve to a user-provided class, never to a
        # built-in) may give the same field names other meanings.
        module = value.get("module")
        builtin = isinstance(module, str) and (
            module == "keras" or module.startswith("keras.")
        )
        if isinstance(inner, dict):
            for key, item in inner.items():
                try:
                    if key == "name" and class_name in _POLICY_CLASSES:
                        _dtype(item)  # a dtype policy's name is a dtype name
                    elif key == "name":
                        _check_name(item, layer_slot)
                    elif key in FIELD_KINDS and builtin:
                        FIELD_KINDS[key](item)
                except _Bad as bad:
                    _fail(where, this, key, bad)
                is_layer = key in _LAYER_FIELDS or (
                    key in _LAYER_LISTS and isinstance(item, list)
                )
                stack.append((item, this, key, is_layer))
        build_config = value.get("build_config")
        if isinstance(build_config, dict):
            for key in ("input_shape", "shapes_dict"):
                try:
                    _shape_structure(build_config.get(key))
                except _Bad as bad:
                    _fail(where, this, f"build_config.{key}", bad)
            if safe_mode and isinstance(inner, dict) and inner.get("unroll") is True:
                try:
                    _check_unrolled_steps(build_config.get("input_shape"))
                except _Bad as bad:
                    _fail(where, this, "unroll", bad)
        for key, item in value.items():
            if key not in ("class_name", "config", "module", "registered_name"):
                stack.append((item, this, key, False))


def build_error(error: Exception, where: str = "config.json") -> InvalidFileError:
    """The `InvalidFileError` for an exception raised while rebuilding a model
    from a checked config: it names the innermost layer (or object) whose
    rebuild failed and keeps the original message. A `TypeError` becomes a
    `ConfigTypeError`, which is still a `TypeError`, as in Keras."""
    from kiln._src.saving.errors import ConfigTypeError

    class_name, name = getattr(error, "kiln_failed_object", (None, None))
    if class_name is None:
        who = "the model"
    elif name is None:
        who = f"an object of class {class_name}"
    else:
        who = f"layer '{name}' ({class_name})"
    kind = ConfigTypeError if isinstance(error, TypeError) else InvalidFileError
    return kind(
        f"{where}: {who} could not be rebuilt from its config: "
        f"{type(error).__name__}: {error}"
    )
