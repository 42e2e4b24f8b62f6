"""Global numeric settings, with Keras 3's defaults and setters."""

from __future__ import annotations

_FLOATX = "float32"
_EPSILON = 1e-7
_IMAGE_DATA_FORMAT = "channels_last"
_ALLOWED_FLOATX = ("float16", "bfloat16", "float32", "float64")


def floatx() -> str:
    """The default float dtype, ``"float32"`` unless changed with `set_floatx`."""
    return _FLOATX


def set_floatx(value: str) -> None:
    global _FLOATX
    if value not in _ALLOWED_FLOATX:
        raise ValueError(
            f"Unknown `floatx` value. Expected one of {_ALLOWED_FLOATX}. "
            f"Received: value={value!r}"
        )
    _FLOATX = str(value)


def epsilon() -> float:
    """The fuzz factor used in numeric expressions (default ``1e-7``)."""
    return _EPSILON


def set_epsilon(value: float) -> None:
    global _EPSILON
    _EPSILON = float(value)


def image_data_format() -> str:
    return _IMAGE_DATA_FORMAT


def set_image_data_format(value: str) -> None:
    global _IMAGE_DATA_FORMAT
    if value not in ("channels_first", "channels_last"):
        raise ValueError(
            "The `data_format` argument must be one of 'channels_first', "
            f"'channels_last'. Received: value={value!r}"
        )
    _IMAGE_DATA_FORMAT = value


def backend() -> str:
    """kiln always computes on JAX."""
    return "jax"
