"""Hostile `config.json` contents: each attack has a benign twin that loads.

Values are carried by an extra top-level key (`"extra"`), which the loader
ignores, or by a field the model reads (`"seed"` of the kernel initializer).
"""

from __future__ import annotations

import pytest
from security_zip_forge import build_archive, honest_list

from kiln._src.saving.safety import json_checks


def archive_with_config(members: dict[str, bytes], config: bytes) -> bytes:
    return build_archive(honest_list(dict(members, **{"config.json": config})))


def with_extra(members: dict[str, bytes], value: str) -> bytes:
    """The honest config with `"extra": <value>` added at the top level."""
    config = members["config.json"].decode()
    assert config.endswith("}")
    return archive_with_config(
        members, (config[:-1] + f', "extra": {value}}}').encode()
    )


def with_seed(members: dict[str, bytes], value: str) -> bytes:
    config = members["config.json"].decode()
    assert config.count('"seed": null') == 1
    return archive_with_config(
        members, config.replace('"seed": null', f'"seed": {value}').encode()
    )


# -- nesting depth --


@pytest.mark.parametrize("depth", [101, 100_000], ids=["just-over", "deep"])
def test_deep_nesting_rejected(honest_members, write_file, expect_rejected, depth):
    value = "[" * depth + "]" * depth
    expect_rejected(
        write_file(with_extra(honest_members, value)), "nested deeper than 100"
    )


def test_deep_object_nesting_rejected(honest_members, write_file, expect_rejected):
    value = '{"a": ' * 50_000 + "1" + "}" * 50_000
    expect_rejected(
        write_file(with_extra(honest_members, value)), "nested deeper than 100"
    )


def test_nesting_within_limit_loads(honest_members, write_file, expect_loads):
    # The honest config is 6 levels deep; 90 more stays within 100.
    value = "[" * 90 + "]" * 90
    expect_loads(write_file(with_extra(honest_members, value)))


def test_brackets_inside_strings_are_not_nesting(
    honest_members, write_file, expect_loads
):
    value = '"' + "[{" * 500 + '\\" ]]' + '"'
    expect_loads(write_file(with_extra(honest_members, value)))


# -- duplicate keys --


def test_duplicate_key_rejected(honest_members, write_file, expect_rejected):
    config = honest_members["config.json"].decode()
    hostile = config.replace('"units": 2', '"units": 2, "units": 200000000')
    data = archive_with_config(honest_members, hostile.encode())
    expect_rejected(write_file(data), "'units' appears twice.*'dense'")


def test_same_key_in_different_objects_loads(honest_members, write_file, expect_loads):
    # "name" and "config" repeat across objects in every honest config.
    expect_loads(write_file(with_extra(honest_members, '[{"a": 1}, {"a": 2}]')))


# -- NaN / Infinity and overflowing floats ---------------------------------------------


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e999", "-1e400"])
def test_non_finite_number_rejected(honest_members, write_file, expect_rejected, value):
    expect_rejected(
        write_file(with_extra(honest_members, value)), "not valid JSON|infinity"
    )


def test_finite_floats_load(honest_members, write_file, expect_loads):
    expect_loads(write_file(with_extra(honest_members, "[1e-300, -2.5e300, 0.1]")))


# -- absurd integers --


@pytest.mark.parametrize(
    "value, rule",
    [
        ("9" * 5000, "5000 digits"),  # past Python's own int-digit limit
        ("9" * 20, "20 digits"),
        (str(2**63), "outside the signed 64-bit range"),
        (str(-(2**63) - 1), "outside the signed 64-bit range"),
    ],
    ids=["huge", "20-digits", "2**63", "-2**63-1"],
)
def test_absurd_integer_rejected(
    honest_members, write_file, expect_rejected, value, rule
):
    expect_rejected(write_file(with_seed(honest_members, value)), rule)


def test_large_int64_seed_loads(honest_members, write_file, expect_loads):
    expect_loads(write_file(with_seed(honest_members, str(2**62))))


# -- sizes and lengths --


def test_long_string_rejected(honest_members, write_file, expect_rejected):
    value = '"' + "a" * (json_checks.MAX_STRING_CHARS + 1) + '"'
    expect_rejected(write_file(with_extra(honest_members, value)), "characters long")


def test_string_within_limit_loads(honest_members, write_file, expect_loads):
    value = '"' + "a" * 100_000 + '"'
    expect_loads(write_file(with_extra(honest_members, value)))


def test_too_many_values_rejected(honest_members, write_file, expect_rejected):
    value = "[" + "0," * json_checks.MAX_TOKENS + "0]"
    expect_rejected(write_file(with_extra(honest_members, value)), "JSON values")


def test_many_values_within_limit_load(honest_members, write_file, expect_loads):
    value = "[" + "0," * 100_000 + "0]"
    expect_loads(write_file(with_extra(honest_members, value)))


# -- encoding and shape of the document --


@pytest.mark.parametrize(
    "config, rule",
    [
        (b"\xef\xbb\xbf{}", "byte-order mark"),
        (b'{"a": "\xff"}', "not valid UTF-8"),
        (b'{"a": "\xed\xa0\x80"}', "not valid UTF-8"),  # encoded surrogate
        (b'{"a": "\\ud800"}', r"\$\.a contains a lone surrogate"),
        (b'{"a": 1} trailing', "not valid JSON"),
        (b'{"a": "unterminated', "unterminated string"),
        (b"[]", "must be a JSON object"),
        (b"", "not valid JSON"),
    ],
    ids=[
        "bom",
        "bad-utf8",
        "cesu-surrogate",
        "lone-surrogate",
        "trailing",
        "unterminated",
        "not-object",
        "empty",
    ],
)
def test_malformed_document_rejected(
    honest_members, write_file, expect_rejected, config, rule
):
    data = archive_with_config(honest_members, config)
    expect_rejected(write_file(data), "config.json.*" + rule)


def test_unicode_and_escapes_load(honest_members, write_file, expect_loads):
    value = '"caf\\u00e9 \\ud83d\\ude00 \u00e9\\n\\t\\\\"'  # valid surrogate pair
    expect_loads(write_file(with_extra(honest_members, value)))


def test_pretty_printed_config_loads(honest_members, write_file, expect_loads):
    import json

    config = json.dumps(json.loads(honest_members["config.json"]), indent=4)
    expect_loads(write_file(archive_with_config(honest_members, config.encode())))


# -- memory: long nested keys --


def long_nested_keys(depth: int = 97, key_chars: int = 1000, leaves: int = 50_000):
    """About 200 KB of JSON: objects nested `depth` deep under keys of
    `key_chars` characters, around a list of `leaves` zeros. A walk that
    built each value's path string would hold `leaves` paths of ~100 KB:
    about 5 GB."""
    keys = [chr(ord("a") + level % 26) * key_chars for level in range(depth)]
    opening = "".join(f'{{"{key}": ' for key in keys)
    return opening + "[" + ",".join(["0"] * leaves) + "]" + "}" * depth


@pytest.mark.slow
def test_long_nested_keys_stay_within_memory(honest_members, tmp_path):
    """`load_model` of a config.json and `load_weights` of a sharded index
    holding the bomb, under a 3 GiB address-space limit (JAX needs 1.5):
    both load (the bomb sits in fields the loaders ignore), in bounded
    memory; the same shape with short keys is the benign twin."""
    import json

    from isolated import run_calls

    import kiln

    calls = {}
    for label, bomb in [
        ("bomb", long_nested_keys()),
        ("twin", long_nested_keys(key_chars=1, leaves=50)),
    ]:
        model = tmp_path / f"{label}.keras"
        model.write_bytes(with_extra(honest_members, bomb))
        weights = tmp_path / label / "w.weights.json"
        weights.parent.mkdir()
        honest = kiln.Sequential([kiln.Input((3,)), kiln.layers.Dense(2, name="dense")])
        honest.save_weights(str(weights), max_shard_size=1.0)
        index = json.loads(weights.read_text())
        weights.write_text(
            json.dumps(index)[:-1] + f', "extra": {bomb}}}'  # beside weight_map
        )
        calls[f"{label}-config"] = (
            f"import kiln; result = type(kiln.saving.load_model({str(model)!r}))"
        )
        calls[f"{label}-index"] = (
            "import kiln\n"
            f"m = kiln.saving.load_model({str(model)!r})\n"
            f"m.load_weights({str(weights)!r}); result = 'loaded'"
        )
    outcomes = run_calls(calls, timeout_s=300, memory_limit=3 * 2**30)
    for label, outcome in outcomes.items():
        assert outcome.status == "returned", (label, str(outcome))
    assert "Sequential" in outcomes["bomb-config"].result
