"""`model_from_json` on hostile text: the same bounded parse as a file."""

import pytest

import kiln


@pytest.mark.parametrize(
    "text, match",
    [
        ('{"class_name": "Sequential", "class_name": "Model", "config": {}}', "twice"),
        ("[" * 5000 + "]" * 5000, "deep|depth|nest"),
        ('{"class_name": "Sequential", "config": {"x": NaN}}', "NaN"),
    ],
    ids=["duplicate-key", "deep-nesting", "nan"],
)
def test_model_from_json_parses_with_the_bounded_parser(text, match):
    from kiln._src.saving.errors import InvalidFileError

    with pytest.raises(InvalidFileError, match=f"(?i){match}"):
        kiln.models.model_from_json(text)
