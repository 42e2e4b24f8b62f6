"""`LambdaCallback`: a callback built from plain functions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kiln._src.api_export import keras_export
from kiln._src.callbacks.callback import Callback


@keras_export("keras.callbacks.LambdaCallback")
class LambdaCallback(Callback):
    """Callback for creating simple, custom callbacks on-the-fly.

    The functions are called with positional arguments:

    - `on_epoch_begin` and `on_epoch_end`: ``epoch, logs``
    - `on_train_begin` and `on_train_end`: ``logs``
    - `on_train_batch_begin` and `on_train_batch_end`: ``batch`` and the
      keyword argument ``logs``

    Args:
        on_epoch_begin: called at the beginning of every epoch.
        on_epoch_end: called at the end of every epoch.
        on_train_begin: called at the beginning of model training.
        on_train_end: called at the end of model training.
        on_train_batch_begin: called at the beginning of every train batch.
        on_train_batch_end: called at the end of every train batch.
        **kwargs: any other `Callback` method to override, as
            ``method_name=function`` (e.g. ``on_test_end=fn``); the function
            takes the same arguments as the method.

    Example:
        >>> losses = []
        >>> logger = LambdaCallback(
        ...     on_epoch_end=lambda epoch, logs: losses.append(logs["loss"])
        ... )
    """

    def __init__(
        self,
        on_epoch_begin: Callable[..., Any] | None = None,
        on_epoch_end: Callable[..., Any] | None = None,
        on_train_begin: Callable[..., Any] | None = None,
        on_train_end: Callable[..., Any] | None = None,
        on_train_batch_begin: Callable[..., Any] | None = None,
        on_train_batch_end: Callable[..., Any] | None = None,
        **kwargs: Any,
    ):
        super().__init__()
        self.__dict__.update(kwargs)
        named = {
            "on_epoch_begin": on_epoch_begin,
            "on_epoch_end": on_epoch_end,
            "on_train_begin": on_train_begin,
            "on_train_end": on_train_end,
            "on_train_batch_begin": on_train_batch_begin,
            "on_train_batch_end": on_train_batch_end,
        }
        for name, function in named.items():
            if function is not None:
                setattr(self, name, function)
