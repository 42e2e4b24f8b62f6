"""The one exception family for files kiln cannot or will not load."""

from __future__ import annotations


class InvalidFileError(ValueError):
    """A file is not a valid Keras 3 / kiln file, or breaks a safety rule.

    It subclasses `ValueError`, so code written for Keras (which raises
    ValueError for bad files) keeps working. The message names the member,
    path or field at fault.
    """
