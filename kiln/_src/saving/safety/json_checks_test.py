import json
import os
import subprocess
import sys
import textwrap

import pytest

from kiln._src.saving.errors import InvalidFileError
from kiln._src.saving.safety import json_checks

REPO_ROOT = os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
)


def _load(text: str):
    return json_checks.load_json(text.encode(), "'t'", require_object=False)


@pytest.mark.parametrize(
    "text, path",
    [
        ('{"a": {"b": [1, 2, {"c": "\\ud800"}]}}', r"\$\.a\.b\[2\]\.c"),
        ('[0, [1, "\\udfff"]]', r"\$\[1\]\[1\]"),
        ('"\\ud800"', r"the string at \$ "),
    ],
)
def test_a_lone_surrogate_is_named_by_its_path(text, path):
    with pytest.raises(InvalidFileError, match=path + ".*lone surrogate"):
        _load(text)


def test_a_lone_surrogate_in_a_key_names_its_object():
    with pytest.raises(InvalidFileError, match=r"key at \$\.a\[0\] contains"):
        _load('{"a": [{"\\ud800": 1}]}')


def test_an_out_of_range_integer_is_named_by_its_path():
    with pytest.raises(InvalidFileError, match=r"\$\.x\[1\] \(9223372036854775808\)"):
        _load('{"x": [0, 9223372036854775808]}')
    assert _load('{"x": [0, 9223372036854775807, -9223372036854775808]}')


def test_a_long_path_is_shortened_in_messages():
    key = "k" * 5000
    with pytest.raises(InvalidFileError) as info:
        _load(f'{{"{key}": {{"{key}": "\\ud800"}}}}')
    assert len(str(info.value)) < 1000 and "..." in str(info.value)


def test_nested_values_parse_as_json_does():
    text = '{"a": [1, 2.5, "s", null, true, {"b": []}], "c": {}}'
    assert _load(text) == json.loads(text)


def _run_limited(code: str, limit: int) -> subprocess.CompletedProcess:
    script = textwrap.dedent(
        f"""
        import resource
        from kiln._src.saving.safety import json_checks
        resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
        """
    ) + textwrap.dedent(code)
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, PYTHONPATH=REPO_ROOT),
        check=False,
    )


def test_long_nested_keys_parse_in_memory_proportional_to_the_input():
    # 200 KB: 97 nested keys of 1000 characters around 50 000 values. One
    # path string per value would be about 5 GB; the walk holds one key per
    # level. 1 GiB of address space is far more than the parse needs.
    result = _run_limited(
        """
        keys = [chr(97 + level % 26) * 1000 for level in range(97)]
        text = "".join('{"%s": ' % key for key in keys)
        text += "[" + ",".join(["0"] * 50000) + "]" + "}" * 97
        value = json_checks.load_json(text.encode(), "'t'")
        print("parsed", len(text))
        """,
        2**30,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "parsed" in result.stdout


def test_running_out_of_memory_is_a_refused_file():
    # Under a limit just above what the process already uses, parsing two
    # million values fails with MemoryError inside json.loads: it is reported
    # as InvalidFileError, never as MemoryError.
    result = _run_limited(
        """
        import resource
        text = ("[" + ",".join(['"ab"'] * 900000) + "]").encode()
        used = int(open("/proc/self/statm").read().split()[0]) * 4096
        resource.setrlimit(resource.RLIMIT_AS, (used + 20 * 2**20,) * 2)
        try:
            json_checks.load_json(text, "'t'", require_object=False)
            print("parsed")
        except json_checks.InvalidFileError as error:
            print("refused:", error)
        """,
        2**30,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "refused: 't' is rejected: parsing its" in result.stdout, result.stdout
