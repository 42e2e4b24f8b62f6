"""A bounded run of the `.keras` fuzzer: every mutated file either loads or
raises `InvalidFileError` (no other exception, hang or crash)."""

from __future__ import annotations

import json

import pytest
from fuzz_keras_files import fuzz


@pytest.mark.slow
def test_fuzzed_files_load_or_raise_invalid_file_error(tmp_path):
    report = fuzz(seconds=30, seed=0, out=str(tmp_path / "findings"))
    assert report.tried > 50
    summary = [
        {key: finding[key] for key in ("exception", "message", "mutations", "file")}
        for finding in report.findings[:10]
    ]
    assert report.findings == [], (
        f"{len(report.findings)} of {report.tried} inputs failed the oracle; "
        f"first ones:\n{json.dumps(summary, indent=1)[:6000]}"
    )
