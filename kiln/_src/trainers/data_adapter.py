"""Turns what users pass to `fit` / `evaluate` / `predict` into batches.

Accepted: NumPy arrays (or anything `np.asarray` takes, e.g. JAX arrays), lists,
tuples or dicts of them, and Python generators / iterables yielding
``x``, ``(x, y)`` or ``(x, y, sample_weight)`` batches.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterator
from typing import Any

import jax
import numpy as np

Batch = tuple[Any, Any, Any]


def _to_array(x: Any) -> Any:
    if x is None:
        return None
    array = np.asarray(x)
    if array.dtype == np.float64:
        array = array.astype(np.float32)
    if array.dtype == object:
        raise ValueError(
            "Training data must be numeric arrays (or lists/dicts of arrays). "
            f"Received an array of Python objects with shape {array.shape}."
        )
    return array


def _leaves(structure: Any) -> list[Any]:
    return jax.tree_util.tree_leaves(
        structure, is_leaf=lambda v: isinstance(v, np.ndarray)
    )


def map_arrays(structure: Any) -> Any:
    """`_to_array` on every leaf, keeping lists/tuples/dicts."""
    if structure is None:
        return None
    if isinstance(structure, dict):
        return {k: map_arrays(v) for k, v in structure.items()}
    if (
        isinstance(structure, list | tuple)
        and structure
        and not isinstance(structure[0], int | float)
    ):
        return [map_arrays(v) for v in structure]
    return _to_array(structure)


def is_generator_like(x: Any) -> bool:
    return inspect.isgenerator(x) or (
        hasattr(x, "__next__") and not isinstance(x, np.ndarray | list | tuple | dict)
    )


def _slice(structure: Any, index: Any) -> Any:
    return jax.tree_util.tree_map(
        lambda a: a[index], structure, is_leaf=lambda v: isinstance(v, np.ndarray)
    )


class ArrayDataAdapter:
    """Batches of in-memory arrays, reshuffled each epoch when asked."""

    def __init__(
        self,
        x: Any,
        y: Any = None,
        sample_weight: Any = None,
        batch_size: int | None = None,
        shuffle: bool | str = False,
        steps: int | None = None,
    ):
        self.x, self.y, self.sample_weight = x, y, sample_weight
        sizes = {a.shape[0] if a.ndim else None for a in _leaves((x, y, sample_weight))}
        if None in sizes:
            raise ValueError("Data arrays need a batch axis; received a scalar.")
        if len(sizes) > 1:
            raise ValueError(
                "All arrays (x, y and sample_weight) must have the same number of "
                f"samples (first dimension). Received sizes: {sorted(sizes)}. "
                "Check that x and y line up."
            )
        self.num_samples = sizes.pop() if sizes else 0
        if batch_size is not None and (
            isinstance(batch_size, bool)
            or not isinstance(batch_size, int)
            or batch_size < 1
        ):
            raise ValueError(
                "`batch_size` must be a positive integer. "
                f"Received: batch_size={batch_size!r}"
            )
        self.batch_size = batch_size or 32
        self.shuffle = shuffle
        batches = math.ceil(self.num_samples / self.batch_size)
        self.num_batches = min(batches, steps) if steps else batches

    def __iter__(self) -> Iterator[Batch]:
        order = np.arange(self.num_samples)
        if self.shuffle == "batch":
            starts = np.random.permutation(
                math.ceil(self.num_samples / self.batch_size)
            )
            order = (
                np.concatenate(
                    [
                        order[s * self.batch_size : (s + 1) * self.batch_size]
                        for s in starts
                    ]
                )
                if len(starts)
                else order
            )
        elif self.shuffle:
            order = np.random.permutation(self.num_samples)
        for step in range(self.num_batches):
            index = order[step * self.batch_size : (step + 1) * self.batch_size]
            if not self.shuffle:
                index = slice(step * self.batch_size, (step + 1) * self.batch_size)
            yield (
                _slice(self.x, index),
                _slice(self.y, index),
                _slice(self.sample_weight, index),
            )


class GeneratorDataAdapter:
    """Batches from a Python generator or iterator (consumed across epochs)."""

    def __init__(self, generator: Any, steps: int | None = None):
        self.generator = generator
        self.num_batches = steps
        self._exhausted = False

    def __iter__(self) -> Iterator[Batch]:
        count = 0
        while self.num_batches is None or count < self.num_batches:
            try:
                item = next(self.generator)
            except StopIteration:
                self._exhausted = True
                if self.num_batches is not None and count < self.num_batches:
                    # Keras warns and ends the epoch early in this case.
                    self.num_batches = count
                return
            yield unpack_batch(item)
            count += 1


def unpack_batch(item: Any) -> Batch:
    if isinstance(item, tuple):
        if len(item) == 1:
            return map_arrays(item[0]), None, None
        if len(item) == 2:
            return map_arrays(item[0]), map_arrays(item[1]), None
        if len(item) == 3:
            return map_arrays(item[0]), map_arrays(item[1]), map_arrays(item[2])
        raise ValueError(
            "A data generator must yield x, (x,), (x, y) or (x, y, sample_weight). "
            f"Received a tuple of length {len(item)}."
        )
    return map_arrays(item), None, None


def get_adapter(
    x: Any,
    y: Any = None,
    sample_weight: Any = None,
    batch_size: int | None = None,
    shuffle: bool | str = False,
    steps: int | None = None,
) -> ArrayDataAdapter | GeneratorDataAdapter:
    if x is None:
        raise ValueError("No data given: pass `x` (and `y` for training).")
    if is_generator_like(x):
        if y is not None or sample_weight is not None:
            raise ValueError(
                "When `x` is a generator it must yield the targets too; do not pass "
                "`y` or `sample_weight`. Received: y is not None"
            )
        return GeneratorDataAdapter(x, steps)
    return ArrayDataAdapter(
        map_arrays(x),
        map_arrays(y),
        map_arrays(sample_weight),
        batch_size,
        shuffle,
        steps,
    )


def train_validation_split(
    arrays: tuple[Any, ...], validation_split: float
) -> tuple[Any, Any]:
    """Splits the last `validation_split` fraction off (before any shuffling),
    as Keras does."""
    if not 0 < validation_split < 1:
        raise ValueError(
            "`validation_split` must be between 0 and 1. "
            f"Received: validation_split={validation_split}"
        )
    leaves = _leaves(arrays)
    num_samples = leaves[0].shape[0]
    split_at = int(math.floor(num_samples * (1.0 - validation_split)))
    if split_at == 0 or split_at == num_samples:
        raise ValueError(
            f"validation_split={validation_split} leaves no samples on one side: "
            f"{num_samples} samples split at {split_at}. Use more data or another "
            "fraction."
        )
    train = _slice(arrays, slice(0, split_at))
    validation = _slice(arrays, slice(split_at, None))
    return train, validation
