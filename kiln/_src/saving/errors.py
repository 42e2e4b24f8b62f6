"""The one exception family for files kiln cannot or will not load."""

from __future__ import annotations


class InvalidFileError(ValueError):
    """A file is not a valid Keras 3 / kiln file, or breaks a safety rule.

    It subclasses `ValueError`, so code written for Keras (which raises
    ValueError for bad files) keeps working. The message names the member,
    path or field at fault.
    """


class UnknownObjectError(InvalidFileError, TypeError):
    """A file names a class or function kiln cannot find (a custom object that
    was not provided).

    It is also a `TypeError`, which is what Keras raises here, so
    ``except TypeError`` written for Keras keeps working.
    """


class ConfigTypeError(InvalidFileError, TypeError):
    """A layer's constructor or `from_config` rejected its config from a file
    with a `TypeError`; still a `TypeError`, as in Keras."""
