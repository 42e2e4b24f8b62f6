"""`DTypePolicy`: a layer's variable dtype and compute dtype."""

from __future__ import annotations

from typing import Any

from kiln._src.api_export import keras_export
from kiln._src.backend import config
from kiln._src.backend.dtypes import standardize_dtype


@keras_export(["keras.DTypePolicy", "keras.dtype_policies.DTypePolicy"])
class DTypePolicy:
    """Which dtype a layer stores its variables in and computes in.

    Args:
        name: ``"float32"``, ``"bfloat16"``, ``"mixed_float16"``,
            ``"mixed_bfloat16"``, ...; None means `floatx()`.
    """

    def __init__(self, name: str | None = None):
        if name is None:
            name = config.floatx()
        if not isinstance(name, str):
            raise TypeError(
                f"A dtype policy name must be a string. Received: name={name!r}"
            )
        if name.startswith("mixed_"):
            self._compute = standardize_dtype(name[len("mixed_") :])
            self._variable = "float32"
        else:
            self._compute = self._variable = standardize_dtype(name)
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    @property
    def compute_dtype(self) -> str:
        return self._compute

    @property
    def variable_dtype(self) -> str:
        return self._variable

    def get_config(self) -> dict[str, Any]:
        return {"name": self._name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> DTypePolicy:
        return cls(**config)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DTypePolicy) and other._name == self._name

    def __hash__(self) -> int:
        return hash(self._name)

    def __repr__(self) -> str:
        return f'<DTypePolicy "{self._name}">'


def get(identifier: Any) -> DTypePolicy:
    """A policy from None, a name, a policy, or its config dict."""
    if identifier is None or isinstance(identifier, str):
        return DTypePolicy(identifier)
    if isinstance(identifier, DTypePolicy):
        return identifier
    if isinstance(identifier, dict):
        inner = identifier.get("config", identifier)
        if isinstance(inner, dict) and isinstance(inner.get("name"), str):
            return DTypePolicy(inner["name"])
    try:
        return DTypePolicy(standardize_dtype(identifier))
    except (TypeError, ValueError) as error:
        raise ValueError(
            "Invalid dtype: expected a dtype name such as 'float32', a "
            f"DTypePolicy, or its config. Received: dtype={identifier!r}"
        ) from error
