"""A strict, bounded JSON loader for `config.json` from untrusted files.

Limits are checked in this order, each before the work it protects:

1. size in bytes, then strict UTF-8 (no byte-order mark);
2. a cheap count of containers, strings and separators (C-speed
   `str.count`), which bounds the work of the next step;
3. an iterative scan for nesting depth and string length (no recursion, so
   no `RecursionError` however deep the input);
4. `json.loads` with hooks that reject duplicate keys, `NaN`/`Infinity`,
   integers with too many digits and floats that overflow;
5. an iterative walk that rejects lone surrogates and integers outside the
   signed 64-bit range, naming the JSON path (built only for the message:
   the walk holds one iterator and one key per open container, so a small
   file of long nested keys cannot make it build long strings per value).

Memory stays a small constant times the input's size: the parsed values
take at most about 25 bytes per input byte (measured with `tracemalloc`: a
list of a million empty objects, the worst case), and the value limit caps
them at a few hundred MB whatever the size. A `MemoryError` while parsing is
reported as a refused file.

Every failure is an `InvalidFileError`.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from kiln._src.saving.errors import InvalidFileError

MiB = 1024 * 1024
MAX_JSON_BYTES = 64 * MiB
MAX_DEPTH = 100
MAX_TOKENS = 2_000_000  # containers + strings + separators
MAX_STRING_CHARS = 1 * MiB
MAX_NUMBER_CHARS = 40
MAX_INT_DIGITS = 19
MIN_INT, MAX_INT = -(2**63), 2**63 - 1

_TOKEN = re.compile(r'["\[{\]}]')
# The rest of a string after its opening quote (unrolled, possessive: linear).
_STRING_REST = re.compile(r'[^"\\]*+(?:\\.[^"\\]*+)*+"', re.DOTALL)
_SURROGATE = re.compile("[\ud800-\udfff]")


class _Rejected(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def load_json(
    data: bytes,
    where: str,
    max_bytes: int = MAX_JSON_BYTES,
    require_object: bool = True,
) -> Any:
    """Parses untrusted JSON bytes within the module's limits.

    Args:
        data: the raw bytes.
        where: what the bytes are, for messages (e.g. "'m.keras' member
            'config.json'").
        max_bytes: the size limit.
        require_object: whether the top-level value must be an object.

    Returns:
        The parsed value (dicts, lists, str, int, float, bool, None).

    Raises:
        InvalidFileError: on any malformed input or broken limit; the message
            names the place (JSON path or character offset) and the rule.
    """

    def fail(rule: str) -> InvalidFileError:
        return InvalidFileError(f"{where} is rejected: {rule}")

    if len(data) > max_bytes:
        raise fail(f"it is {len(data)} bytes, over the {max_bytes}-byte limit.")
    try:
        return _load(data, fail, require_object)
    except MemoryError:
        # Within the limits the parsed values take a few times the input's
        # size; a process too small even for that is told so as a refused
        # file rather than crashing the caller.
        raise fail(
            f"parsing its {len(data)} bytes needs more memory than this "
            "process may use."
        ) from None


def _load(data: bytes, fail: Any, require_object: bool) -> Any:
    if data.startswith(b"\xef\xbb\xbf"):
        raise fail("it starts with a UTF-8 byte-order mark, which JSON forbids.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise fail(f"it is not valid UTF-8 ({error}).") from None
    tokens = (
        (text.count('"') - text.count('\\"')) // 2
        + text.count("[")
        + text.count("{")
        + text.count(",")
    )
    if tokens > MAX_TOKENS:
        raise fail(
            f"it holds about {tokens} JSON values, over the limit of {MAX_TOKENS}."
        )
    _scan(text, fail)
    try:
        value = json.loads(
            text,
            object_pairs_hook=_object_without_duplicates,
            parse_constant=_reject_constant,
            parse_int=_parse_int,
            parse_float=_parse_float,
        )
    except _Rejected as error:
        raise fail(error.message) from None
    except (json.JSONDecodeError, RecursionError) as error:
        raise fail(f"it is not valid JSON: {error}") from None
    _walk(value, fail)
    if require_object and not isinstance(value, dict):
        raise fail(f"its top level must be a JSON object, not {type(value).__name__}.")
    return value


def _position(text: str, offset: int) -> str:
    line = text.count("\n", 0, offset) + 1
    return f"character {offset} (line {line})"


def _scan(text: str, fail: Any) -> None:
    """Depth and string-length limits, iteratively."""
    depth = 0
    position = 0
    while True:
        match = _TOKEN.search(text, position)
        if match is None:
            return
        char = match.group()
        if char == '"':
            rest = _STRING_REST.match(text, match.end())
            if rest is None:
                raise fail(f"unterminated string at {_position(text, match.start())}.")
            length = rest.end() - match.end() - 1
            if length > MAX_STRING_CHARS:
                raise fail(
                    f"the string at {_position(text, match.start())} is "
                    f"{length} characters long, over the limit of "
                    f"{MAX_STRING_CHARS}."
                )
            position = rest.end()
            continue
        if char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise fail(
                    f"values are nested deeper than {MAX_DEPTH} levels at "
                    f"{_position(text, match.start())}."
                )
        else:
            depth -= 1
        position = match.end()


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                owner = result.get("class_name") or result.get("name")
                context = f" (in the object for {owner!r})" if owner else ""
                raise _Rejected(
                    f"the key {key!r} appears twice in one object{context}; "
                    "JSON readers disagree on which value wins."
                )
            seen.add(key)
    return result


def _reject_constant(name: str) -> Any:
    raise _Rejected(f"it contains {name}, which is not valid JSON.")


def _parse_int(digits: str) -> int:
    count = len(digits.lstrip("-"))
    if count > MAX_INT_DIGITS:
        raise _Rejected(
            f"an integer has {count} digits (starting {digits[:20]}...), over "
            f"the limit of {MAX_INT_DIGITS}."
        )
    return int(digits)


def _parse_float(digits: str) -> float:
    if len(digits) > MAX_NUMBER_CHARS:
        raise _Rejected(
            f"a number is written with {len(digits)} characters (starting "
            f"{digits[:20]}...), over the limit of {MAX_NUMBER_CHARS}."
        )
    value = float(digits)
    if not math.isfinite(value):
        raise _Rejected(f"the number {digits} overflows to infinity.")
    return value


def _children(item: Any) -> Any:
    """An iterator of ``(key or index, child)`` for a container, else None."""
    if isinstance(item, dict):
        return iter(item.items())
    if isinstance(item, list):
        return enumerate(item)
    return None


def _render(keys: list[Any]) -> str:
    """The JSON path of the keys from the root (built only for a message)."""
    parts = ["$"]
    for key in keys:
        parts.append(f"[{key}]" if isinstance(key, int) else f".{key}")
    path = "".join(parts)
    return path if len(path) <= 400 else path[:200] + "..." + path[-200:]


def _walk(value: Any, fail: Any) -> None:
    """Lone surrogates and out-of-range integers, with the JSON path.

    Depth first, one iterator per open container and the keys leading to it
    (at most `MAX_DEPTH` of each): memory does not grow with the number of
    values or the length of the keys, and a path is rendered only for an
    error (a path string per value would take the sum of all path lengths,
    which a small file of long nested keys makes huge)."""
    _check_leaf(value, [], fail)
    root = _children(value)
    stack = [] if root is None else [root]
    keys: list[Any] = []  # keys[i]: the key of the container at stack[i + 1]
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            if keys:
                keys.pop()
            continue
        key, child = entry
        if isinstance(key, str) and _SURROGATE.search(key):
            raise fail(f"the key at {_render(keys)} contains a lone surrogate.")
        children = _children(child)
        if children is None:
            if isinstance(child, str | int):
                keys.append(key)
                _check_leaf(child, keys, fail)
                keys.pop()
            continue
        stack.append(children)
        keys.append(key)


def _check_leaf(item: Any, keys: list[Any], fail: Any) -> None:
    if isinstance(item, str):
        if _SURROGATE.search(item):
            raise fail(f"the string at {_render(keys)} contains a lone surrogate.")
    elif isinstance(item, int) and not isinstance(item, bool):
        if not MIN_INT <= item <= MAX_INT:
            raise fail(
                f"the integer at {_render(keys)} ({item}) is outside the signed "
                "64-bit range."
            )
