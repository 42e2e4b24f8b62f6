"""`LoadLimits`: its defaults are the caps the checks enforce and the values
FORMAT.md documents."""

import dataclasses
import pathlib
import re

import pytest

import kiln
from kiln._src.saving.safety import archive_checks, budget, limits
from kiln._src.saving.safety.limits import DEFAULT_LIMITS, LoadLimits

_FORMAT = pathlib.Path(__file__).parents[1] / "FORMAT.md"
_UNITS = {"bytes": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}


def _size(text: str) -> int:
    number, unit = text.split()
    return int(number.replace("\u202f", "").replace(" ", "")) * _UNITS[unit]


def _documented_limits() -> dict[str, int]:
    """The rows ``| `field` | N unit | ... |`` of FORMAT.md's "Raising the
    limits" table."""
    text = _FORMAT.read_text(encoding="utf-8")
    section = text[text.index("**Raising the limits**") :]
    section = section[: section.index("\n\n**", 1)]
    rows = re.findall(
        r"^\| `(\w+)` \| ([0-9 ]+ (?:bytes|KiB|MiB|GiB)) \|", section, re.M
    )
    return {field: _size(value) for field, value in rows}


def test_format_md_table_equals_the_defaults():
    defaults = {f.name: f.default for f in dataclasses.fields(LoadLimits)}
    assert _documented_limits() == defaults


def test_format_md_rule_rows_state_the_same_caps():
    # The per-stage tables name the same values as the LoadLimits table.
    text = _FORMAT.read_text(encoding="utf-8")
    assert "| total variable bytes | ≤ 8 GiB (`LoadLimits.max_variable_bytes`)" in text
    row = re.search(r"^\| declared sizes \| (.*) \|$", text, re.M).group(1)
    found = dict(
        re.findall(
            r"(`config\.json`|`model\.weights\.h5`|all assets together)"
            r" ≤ ([0-9]+ [KMG]iB)",
            row,
        )
    )
    assert _size(found["`config.json`"]) == DEFAULT_LIMITS.max_config_bytes
    assert _size(found["`model.weights.h5`"]) == DEFAULT_LIMITS.max_weights_bytes
    assert _size(found["all assets together"]) == DEFAULT_LIMITS.max_assets_bytes


def test_module_constants_are_the_defaults():
    assert budget.MAX_TOTAL_VARIABLE_BYTES == DEFAULT_LIMITS.max_variable_bytes
    assert budget.MAX_TOTAL_VARIABLE_BYTES == 8 * 1024**3
    assert archive_checks.MAX_WEIGHTS_BYTES == DEFAULT_LIMITS.max_weights_bytes
    assert archive_checks.MAX_CONFIG_BYTES == DEFAULT_LIMITS.max_config_bytes
    assert archive_checks.MAX_ASSETS_BYTES == DEFAULT_LIMITS.max_assets_bytes


def test_public_and_frozen():
    assert kiln.saving.LoadLimits is LoadLimits
    raised = LoadLimits(max_variable_bytes=32 * 1024**3)
    assert raised.max_weights_bytes == DEFAULT_LIMITS.max_weights_bytes
    with pytest.raises(dataclasses.FrozenInstanceError):
        raised.max_variable_bytes = 1  # type: ignore[misc]


@pytest.mark.parametrize("value", [-1, 1.5, "8", True, None])
def test_a_limit_is_a_non_negative_int(value):
    with pytest.raises(ValueError, match="max_variable_bytes must be a non-negative"):
        LoadLimits(max_variable_bytes=value)


def test_check_limits():
    assert limits.check_limits(None) is DEFAULT_LIMITS
    mine = LoadLimits(max_config_bytes=1)
    assert limits.check_limits(mine) is mine
    with pytest.raises(TypeError, match="must be a kiln.saving.LoadLimits"):
        limits.check_limits({"max_variable_bytes": 1})
