"""`LoadLimits`: the caps of a load that a user may knowingly raise, as one
object (a kiln extension; Keras has no such caps).

Every default here is the single definition of its limit: the modules that
check it (`budget`, `archive_checks`, `directory_checks`, `sharded_weights`)
read it from `DEFAULT_LIMITS`, and FORMAT.md ("Limits", "Raising the
limits") documents the same values (held equal by `limits_test.py`). The
structural limits (zip records, JSON depth, graph size, HDF5 paths) stay
fixed: no honest file comes near them.
"""

from __future__ import annotations

import dataclasses

MiB = 1024 * 1024
GiB = 1024 * MiB


@dataclasses.dataclass(frozen=True)
class LoadLimits:
    """The size caps `load_model`, `load_weights` and `kiln verify` enforce.

    The defaults refuse files that would make a load allocate more than a
    typical machine holds. To load a file you trust that is bigger, pass a
    raised copy: ``load_model(path, limits=kiln.saving.LoadLimits(
    max_variable_bytes=32 * 2**30))`` (or ``kiln verify --max-bytes N``).
    Every other check (the config, the graph, each dataset's shape and
    stored bytes, the checksum) still runs.

    Args:
        max_variable_bytes: the most bytes all of a loaded model's variables
            may take together, summed from the config before anything is
            allocated (8 GiB).
        max_weights_bytes: the largest weights member of a `.keras` file or
            directory, and the largest shard of a `.weights.json` index
            (16 GiB).
        max_config_bytes: the largest `config.json` (64 MiB).
        max_assets_bytes: all `assets/...` members together (1 GiB).

    Example:

    >>> limits = LoadLimits(max_variable_bytes=32 * 2**30)
    >>> limits.max_weights_bytes == 16 * 2**30
    True
    """

    max_variable_bytes: int = 8 * GiB
    max_weights_bytes: int = 16 * GiB
    max_config_bytes: int = 64 * MiB
    max_assets_bytes: int = 1 * GiB

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(
                    f"LoadLimits.{field.name} must be a non-negative integer "
                    f"(bytes). Received: {field.name}={value!r}"
                )


DEFAULT_LIMITS = LoadLimits()


def check_limits(limits: object) -> LoadLimits:
    """``limits`` as given to a load: None means the defaults."""
    if limits is None:
        return DEFAULT_LIMITS
    if not isinstance(limits, LoadLimits):
        raise TypeError(
            f"`limits` must be a kiln.saving.LoadLimits. Received: limits={limits!r}"
        )
    return limits


def raise_hint(field: str, needed: int) -> str:
    """The sentence a refusal over a raisable cap ends with: how to raise it
    (the variable budget applies to `load_model` and `kiln verify` only)."""
    where = (
        f"load_model, or run `kiln verify --max-bytes {needed} FILE`"
        if field == "max_variable_bytes"
        else "load_model or load_weights"
    )
    return (
        "If you trust the file and have the memory, raise the cap: pass "
        f"limits=kiln.saving.LoadLimits({field}={needed}) to {where}."
    )
