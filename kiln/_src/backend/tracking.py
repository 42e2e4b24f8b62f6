"""A process-wide counter of structural changes to layers and variables.

Anything that can change which variables a model has, or which of them are
trainable, bumps it; a model caches its variable lists against it, so the
train and predict loops do not walk the layer tree on every call.
"""

from __future__ import annotations

_version = 0


def bump() -> None:
    global _version
    _version += 1


def version() -> int:
    return _version
