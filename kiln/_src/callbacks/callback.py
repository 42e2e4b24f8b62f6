"""`Callback`: the base class of objects that hook into fit/evaluate/predict."""

from __future__ import annotations

from typing import Any

from kiln._src.api_export import keras_export


@keras_export("keras.callbacks.Callback")
class Callback:
    """Base class used to build new callbacks.

    Callbacks can be passed to `fit()`, `evaluate()` and `predict()` to hook
    into the stages of training, evaluation and inference. Subclass
    `Callback` and override the methods of the stages you care about; the
    defaults do nothing (except the batch-level training hooks, which forward
    to the backward-compatible `on_batch_begin` / `on_batch_end`).

    In a custom loop, wrap the callbacks in a `CallbackList` and call its
    `on_*` methods at the matching points of the loop.

    Attributes:
        params: Dict. Training parameters (e.g. ``verbose``, ``epochs``,
            ``steps``).
        model: The `Model` being trained, evaluated or used for prediction.

    The `logs` dict passed to the hooks holds the quantities of the current
    batch or epoch (e.g. ``{"loss": 0.2, "accuracy": 0.7}``; validation
    results are prefixed with ``val_``).

    Example:
        >>> class MyCallback(Callback):
        ...     def on_train_end(self, logs=None):
        ...         print("training finished")
    """

    def __init__(self):
        self.params: dict[str, Any] | None = None
        self._model: Any = None

    def set_params(self, params: dict[str, Any] | None) -> None:
        self.params = params

    def set_model(self, model: Any) -> None:
        self._model = model

    @property
    def model(self) -> Any:
        model = self._model
        # A model that keeps its training state outside its variables (in a
        # jitted loop) writes it back before a callback looks at it.
        if hasattr(model, "jax_state_sync"):
            model.jax_state_sync()
        return model

    # -- training (backward-compatible aliases) ---------------------------------
    def on_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """A backwards compatibility alias for `on_train_batch_begin`."""

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """A backwards compatibility alias for `on_train_batch_end`."""

    # -- epochs ------------------------------------------------------------------
    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Called at the start of an epoch (training only).

        Args:
            epoch: Integer, index of the epoch.
            logs: Dict. Currently no data is passed to this argument.
        """

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Called at the end of an epoch (training only).

        Args:
            epoch: Integer, index of the epoch.
            logs: Dict, the metric results of this epoch, and of the
                validation epoch (keys prefixed with ``val_``) if validation
                ran, e.g. ``{"loss": 0.2, "accuracy": 0.7}``.
        """

    # -- batches -------------------------------------------------------------------
    def on_train_batch_begin(
        self, batch: int, logs: dict[str, Any] | None = None
    ) -> None:
        """Called at the beginning of a training batch in `fit`.

        Args:
            batch: Integer, index of the batch within the current epoch.
            logs: Dict. Currently no data is passed to this argument.
        """
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(
        self, batch: int, logs: dict[str, Any] | None = None
    ) -> None:
        """Called at the end of a training batch in `fit`.

        Args:
            batch: Integer, index of the batch within the current epoch.
            logs: Dict. Aggregated metric results up until this batch.
        """
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(
        self, batch: int, logs: dict[str, Any] | None = None
    ) -> None:
        """Called at the beginning of a batch in `evaluate` (and validation).

        Args:
            batch: Integer, index of the batch within the current epoch.
            logs: Dict. Currently no data is passed to this argument.
        """

    def on_test_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Called at the end of a batch in `evaluate` (and validation).

        Args:
            batch: Integer, index of the batch within the current epoch.
            logs: Dict. Aggregated metric results up until this batch.
        """

    def on_predict_batch_begin(
        self, batch: int, logs: dict[str, Any] | None = None
    ) -> None:
        """Called at the beginning of a batch in `predict`.

        Args:
            batch: Integer, index of the batch within the current epoch.
            logs: Dict. Currently no data is passed to this argument.
        """

    def on_predict_batch_end(
        self, batch: int, logs: dict[str, Any] | None = None
    ) -> None:
        """Called at the end of a batch in `predict`.

        Args:
            batch: Integer, index of the batch within the current epoch.
            logs: Dict. Aggregated metric results up until this batch.
        """

    # -- whole runs --------------------------------------------------------------
    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        """Called at the beginning of training.

        Args:
            logs: Dict. Currently no data is passed to this argument.
        """

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        """Called at the end of training.

        Args:
            logs: Dict. Currently the logs of the last `on_epoch_end()` call.
        """

    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        """Called at the beginning of evaluation or validation.

        Args:
            logs: Dict. Currently no data is passed to this argument.
        """

    def on_test_end(self, logs: dict[str, Any] | None = None) -> None:
        """Called at the end of evaluation or validation.

        Args:
            logs: Dict. Currently the logs of the last `on_test_batch_end()`
                call.
        """

    def on_predict_begin(self, logs: dict[str, Any] | None = None) -> None:
        """Called at the beginning of prediction.

        Args:
            logs: Dict. Currently no data is passed to this argument.
        """

    def on_predict_end(self, logs: dict[str, Any] | None = None) -> None:
        """Called at the end of prediction.

        Args:
            logs: Dict. Currently no data is passed to this argument.
        """
