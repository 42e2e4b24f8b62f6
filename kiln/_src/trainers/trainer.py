"""`compile` / `fit` / `evaluate` / `predict`, with one jit-compiled step each.

Each step is a pure function of the variable values (trainable, non-trainable,
optimizer, metrics) and a batch; it is traced once per input shape and reused.
The values live outside the variables during a loop and are written back at the
end of each epoch (and of each evaluate/predict/on_batch call).
"""

from __future__ import annotations

import warnings
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kiln._src.backend import tracking
from kiln._src.backend.stateless_scope import StatelessScope
from kiln._src.callbacks.callback_list import pythonify_logs
from kiln._src.trainers import data_adapter
from kiln._src.trainers.compile_utils import (
    CompileLoss,
    CompileMetrics,
    batch_size_of,
)


class Trainer:
    def __init__(self) -> None:
        self.compiled = False
        self.optimizer = None
        self.loss = None
        self.stop_training = False
        self.history = None
        self._compile_loss: CompileLoss | None = None
        self._compile_metrics: CompileMetrics | None = None
        self._loss_tracker = None
        self._compile_config: dict[str, Any] | None = None
        self._step_cache: dict[str, Any] = {}

    # -- compile -----------------------------------------------------------------
    def compile(
        self,
        optimizer: Any = "rmsprop",
        loss: Any = None,
        loss_weights: Any = None,
        metrics: Any = None,
        weighted_metrics: Any = None,
        run_eagerly: bool = False,
        steps_per_execution: int = 1,
        jit_compile: Any = "auto",
        auto_scale_loss: bool = True,
    ) -> None:
        """Configures the model for training.

        Args:
            optimizer: an optimizer name (``"adam"``) or instance.
            loss: a loss name, function or `Loss`; a list or dict for several
                outputs.
            loss_weights: scalars weighting each output's loss.
            metrics: metric names, functions or `Metric` objects (a list, or a
                dict / list of lists for several outputs).
            weighted_metrics: metrics that also take `sample_weight`.
        """
        from kiln._src import metrics as metrics_module
        from kiln._src import optimizers
        from kiln._src.saving.serialization_lib import serialize_keras_object

        self.optimizer = optimizers.get(optimizer)
        output_names = self._output_names()
        self.loss = loss
        self._compile_loss = (
            CompileLoss(loss, loss_weights, output_names) if loss else None
        )
        self._compile_metrics = CompileMetrics(
            metrics, weighted_metrics, output_names, loss
        )
        self._loss_tracker = metrics_module.Mean(name="loss")
        self._run_eagerly = run_eagerly
        self._compile_config = {
            "optimizer": serialize_keras_object(self.optimizer),
            "loss": serialize_keras_object(loss),
            "loss_weights": serialize_keras_object(loss_weights),
            "metrics": serialize_keras_object(metrics),
            "weighted_metrics": serialize_keras_object(weighted_metrics),
            "run_eagerly": bool(run_eagerly),
            "steps_per_execution": steps_per_execution,
            "jit_compile": not run_eagerly,
        }
        self._step_cache = {}
        self.compiled = True

    def get_compile_config(self) -> dict[str, Any]:
        return dict(self._compile_config) if self._compile_config else {}

    def compile_from_config(self, config: dict[str, Any]) -> None:
        from kiln._src.saving.serialization_lib import deserialize_keras_object

        if not config:
            return
        config = deserialize_keras_object(config)
        self.compile(**config)
        if self.built:
            self.optimizer.build(self.trainable_variables)

    def _output_names(self) -> list[str]:
        outputs = getattr(self, "_outputs_struct", None)
        if isinstance(outputs, dict):
            return list(outputs)
        if isinstance(outputs, list):
            return [t._keras_history[0].name for t in outputs]
        if outputs is not None:
            return [outputs._keras_history[0].name]
        return ["output"]

    def _assert_compiled(self, what: str) -> None:
        if not self.compiled:
            raise RuntimeError(
                f"You must call `compile()` before `{what}()`: e.g. "
                "model.compile(optimizer='adam', loss='mse')."
            )

    # -- metrics -------------------------------------------------------------------
    @property
    def metrics(self) -> list[Any]:
        result = []
        if self._loss_tracker is not None:
            result.append(self._loss_tracker)
        if self._compile_metrics is not None:
            result.extend(self._compile_metrics.metrics)
        return result

    @property
    def metrics_names(self) -> list[str]:
        return [m.name for m in self.metrics]

    def reset_metrics(self) -> None:
        for metric in self.metrics:
            metric.reset_state()

    # -- state ---------------------------------------------------------------------
    def _prepare(self, x: Any, y: Any, training: bool) -> None:
        """Builds the model, metrics and optimizer from the first batch."""
        metrics = self._compile_metrics
        build_metrics = (
            (training or y is not None) and metrics is not None and not metrics.built
        )
        if not self.built or build_metrics:
            # One shape-only pass builds the layers and gives the output specs.
            with StatelessScope(symbolic=True):
                y_pred = jax.eval_shape(lambda data: self(data, training=False), x)
            if build_metrics:
                metrics.build(y, y_pred)
        if training and self.optimizer is not None and not self.optimizer.built:
            self.optimizer.build(self._variable_lists()[0])

    def _variable_lists(self) -> tuple[list[Any], list[Any]]:
        """``(trainable, non_trainable)`` variables, cached until the structure
        of any layer changes (see `kiln._src.backend.tracking`)."""
        cached = getattr(self, "_variables_cache", None)
        if cached is None or cached[0] != tracking.version():
            cached = (
                tracking.version(),
                self.trainable_variables,
                self.non_trainable_variables,
            )
            # Set past attribute tracking: these variables are not the model's own.
            object.__setattr__(self, "_variables_cache", cached)
        return cached[1], cached[2]

    def _state(self, with_optimizer: bool, with_metrics: bool) -> dict[str, Any]:
        """The values of the model's (and optimizer's, metrics') variables.

        Train and test steps donate their state to XLA, so the state they get
        is a copy: the variables keep their own buffers until `_write_state`.
        """
        trainable, non_trainable = self._variable_lists()
        state = {
            "trainable": [v.value for v in trainable],
            "non_trainable": [v.value for v in non_trainable],
        }
        if with_optimizer:
            state["optimizer"] = [v.value for v in self.optimizer.variables]
        if with_metrics:
            state["metrics"] = [[v.value for v in m.variables] for m in self.metrics]
        if with_optimizer or with_metrics:
            state = jax.tree_util.tree_map(jnp.copy, state)
        return state

    def _write_state(self, state: dict[str, Any]) -> None:
        trainable, non_trainable = self._variable_lists()
        for variable, value in zip(trainable, state["trainable"]):
            variable.assign(value)
        for variable, value in zip(non_trainable, state["non_trainable"]):
            variable.assign(value)
        if "optimizer" in state:
            for variable, value in zip(self.optimizer.variables, state["optimizer"]):
                variable.assign(value)
        if "metrics" in state:
            for metric, values in zip(self.metrics, state["metrics"]):
                for variable, value in zip(metric.variables, values):
                    variable.assign(value)

    # -- the pure steps ------------------------------------------------------------
    def _compute_loss(
        self,
        y: Any,
        y_pred: Any,
        sample_weight: Any,
        extra: list[Any],
        masks: Any = None,
    ) -> Any:
        loss = jnp.zeros((), dtype="float32")
        if self._compile_loss is not None:
            loss = self._compile_loss(y, y_pred, sample_weight, masks)
        for term in extra:
            loss = loss + jnp.asarray(term, dtype="float32")
        return loss

    def _update_metrics(
        self,
        values: list[Any],
        loss: Any,
        x: Any,
        y: Any,
        y_pred: Any,
        sample_weight: Any,
    ) -> tuple[list[Any], dict[str, Any]]:
        new_values = [
            self._loss_tracker.stateless_update_state(
                values[0], loss, sample_weight=batch_size_of(x)
            )
        ]
        if self._compile_metrics is not None and self._compile_metrics.entries:
            new_values.extend(
                self._compile_metrics.stateless_update(
                    values[1:], y, y_pred, sample_weight
                )
            )
        logs = {
            metric.name: metric.stateless_result(metric_values)
            for metric, metric_values in zip(self.metrics, new_values)
        }
        return new_values, logs

    def _train_step(self, state: dict[str, Any], batch: tuple[Any, Any, Any]) -> Any:
        x, y, sample_weight = batch

        def loss_fn(trainable: list[Any]) -> Any:
            y_pred, non_trainable, extra, masks = self.stateless_call(
                trainable,
                state["non_trainable"],
                x,
                training=True,
                return_losses=True,
                return_masks=True,
            )
            loss = self._compute_loss(y, y_pred, sample_weight, extra, masks)
            # The optimizer unscales the gradients when loss_scale_factor is set.
            return self.optimizer.scale_loss(loss), (loss, y_pred, non_trainable)

        (_, (loss, y_pred, non_trainable)), grads = jax.value_and_grad(
            loss_fn, has_aux=True
        )(state["trainable"])
        # The optimizer also applies each variable's constraint, as Keras's does.
        trainable, optimizer_values = self.optimizer.stateless_apply(
            state["optimizer"], grads, state["trainable"]
        )
        metric_values, logs = self._update_metrics(
            state["metrics"], loss, x, y, y_pred, sample_weight
        )
        new_state = {
            "trainable": trainable,
            "non_trainable": non_trainable,
            "optimizer": optimizer_values,
            "metrics": metric_values,
        }
        return logs, new_state

    def _test_step(self, state: dict[str, Any], batch: tuple[Any, Any, Any]) -> Any:
        x, y, sample_weight = batch
        y_pred, _, extra, masks = self.stateless_call(
            state["trainable"],
            state["non_trainable"],
            x,
            training=False,
            return_losses=True,
            return_masks=True,
        )
        loss = self._compute_loss(y, y_pred, sample_weight, extra, masks)
        metric_values, logs = self._update_metrics(
            state["metrics"], loss, x, y, y_pred, sample_weight
        )
        return logs, {**state, "metrics": metric_values}

    def _predict_step(self, state: dict[str, Any], x: Any) -> Any:
        y_pred, _ = self.stateless_call(
            state["trainable"], state["non_trainable"], x, training=False
        )
        return y_pred

    def _step_function(self, kind: str) -> Any:
        trainable, non_trainable = self._variable_lists()
        key = (kind, tuple(map(id, trainable)), tuple(map(id, non_trainable)))
        function = self._step_cache.get(key)
        if function is None:
            step = {
                "train": self._train_step,
                "test": self._test_step,
                "predict": self._predict_step,
            }[kind]
            if getattr(self, "_run_eagerly", False):
                function = step
            elif kind == "predict":
                function = jax.jit(step)
            else:
                # The state is donated: XLA reuses its buffers for the new state.
                # Callers pass a state whose arrays no variable holds (see
                # `_state(..., private=True)`).
                function = jax.jit(step, donate_argnums=0)
            self._step_cache[key] = function
        return function

    # -- loops -----------------------------------------------------------------------
    def fit(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        epochs: int = 1,
        verbose: Any = "auto",
        callbacks: Any = None,
        validation_split: float = 0.0,
        validation_data: Any = None,
        shuffle: bool = True,
        class_weight: Any = None,
        sample_weight: Any = None,
        initial_epoch: int = 0,
        steps_per_epoch: int | None = None,
        validation_steps: int | None = None,
        validation_batch_size: int | None = None,
        validation_freq: int = 1,
    ) -> Any:
        """Trains the model; returns a `History` whose `.history` holds the
        per-epoch logs."""
        from kiln._src.callbacks.callback_list import CallbackList

        self._assert_compiled("fit")
        if class_weight is not None:
            raise NotImplementedError("kiln does not support `class_weight` yet.")
        if validation_split and validation_data is None:
            if data_adapter.is_generator_like(x):
                raise ValueError(
                    "`validation_split` needs array data; with a generator, pass "
                    "`validation_data` instead."
                )
            arrays = data_adapter.map_arrays((x, y, sample_weight))
            (x, y, sample_weight), validation_data = (
                data_adapter.train_validation_split(tuple(arrays), validation_split)
            )
        adapter = data_adapter.get_adapter(
            x, y, sample_weight, batch_size, shuffle, steps_per_epoch
        )
        verbose = _resolve_verbose(verbose)
        callback_list = CallbackList(
            callbacks,
            add_history=True,
            add_progbar=verbose != 0,
            model=self,
            verbose=verbose,
            epochs=epochs,
            steps=adapter.num_batches,
        )
        self.stop_training = False
        callback_list.on_train_begin()
        epoch_logs: dict[str, Any] = {}
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            callback_list.on_epoch_begin(epoch)
            state = None
            raw_logs: dict[str, Any] = {}
            for step, batch in enumerate(adapter):
                callback_list.on_train_batch_begin(step)
                if state is None:
                    self._prepare(batch[0], batch[1], training=True)
                    state = self._state(with_optimizer=True, with_metrics=True)
                    step_function = self._step_function("train")
                raw_logs, state = step_function(state, batch)
                # Passed on unconverted: converting would wait for the step.
                callback_list.on_train_batch_end(step, raw_logs)
                if self.stop_training:
                    break
            if state is None:
                raise ValueError(
                    "The training data produced no batches (is the data empty, or "
                    "a generator already exhausted?)."
                )
            self._write_state(state)
            epoch_logs = pythonify_logs(raw_logs)
            if validation_data is not None and (epoch + 1) % validation_freq == 0:
                val_x, val_y, val_sw = _unpack_validation(validation_data)
                val_logs = self._evaluate_loop(
                    val_x,
                    val_y,
                    val_sw,
                    validation_batch_size or batch_size,
                    validation_steps,
                    callbacks=None,
                    verbose=0,
                )
                epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            callback_list.on_epoch_end(epoch, epoch_logs)
            if self.stop_training:
                break
        if getattr(self.optimizer, "use_ema", False):
            self.optimizer.finalize_variable_values(self.trainable_variables)
        callback_list.on_train_end(epoch_logs)
        return self.history

    def _evaluate_loop(
        self,
        x: Any,
        y: Any,
        sample_weight: Any,
        batch_size: Any,
        steps: Any,
        callbacks: Any,
        verbose: int,
    ) -> dict[str, float]:
        from kiln._src.callbacks.callback_list import CallbackList

        adapter = data_adapter.get_adapter(
            x, y, sample_weight, batch_size, False, steps
        )
        callback_list = CallbackList(
            callbacks,
            add_progbar=verbose != 0,
            model=self,
            verbose=verbose,
            epochs=1,
            steps=adapter.num_batches,
        )
        self.reset_metrics()
        callback_list.on_test_begin()
        state = None
        raw_logs: dict[str, Any] = {}
        for step, batch in enumerate(adapter):
            callback_list.on_test_batch_begin(step)
            if state is None:
                self._prepare(batch[0], batch[1], training=False)
                state = self._state(with_optimizer=False, with_metrics=True)
                step_function = self._step_function("test")
            raw_logs, state = step_function(state, batch)
            callback_list.on_test_batch_end(step, raw_logs)
        if state is not None:
            for metric, values in zip(self.metrics, state["metrics"]):
                for variable, value in zip(metric.variables, values):
                    variable.assign(value)
        logs = pythonify_logs(raw_logs)
        callback_list.on_test_end(logs)
        return logs

    def evaluate(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        verbose: Any = "auto",
        sample_weight: Any = None,
        steps: int | None = None,
        callbacks: Any = None,
        return_dict: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Returns the loss (and metrics) on the given data."""
        self._assert_compiled("evaluate")
        logs = self._evaluate_loop(
            x, y, sample_weight, batch_size, steps, callbacks, _resolve_verbose(verbose)
        )
        return logs if return_dict else _flatten_logs(logs, self.metrics_names)

    def predict(
        self,
        x: Any,
        batch_size: int | None = None,
        verbose: Any = "auto",
        steps: int | None = None,
        callbacks: Any = None,
    ) -> Any:
        """Returns the model's outputs on `x`, as NumPy arrays, batch by batch."""
        from kiln._src.callbacks.callback_list import CallbackList

        adapter = data_adapter.get_adapter(x, None, None, batch_size, False, steps)
        verbose = _resolve_verbose(verbose)
        callback_list = CallbackList(
            callbacks,
            add_progbar=verbose != 0,
            model=self,
            verbose=verbose,
            epochs=1,
            steps=adapter.num_batches,
        )
        callback_list.on_predict_begin()
        outputs: list[Any] = []
        state = None
        for step, (batch_x, _, _) in enumerate(adapter):
            callback_list.on_predict_batch_begin(step)
            if state is None:
                self._prepare(batch_x, None, training=False)
                state = self._state(with_optimizer=False, with_metrics=False)
                step_function = self._step_function("predict")
            batch_outputs = step_function(state, batch_x)
            outputs.append(batch_outputs)
            callback_list.on_predict_batch_end(step, {"outputs": batch_outputs})
        callback_list.on_predict_end()
        if not outputs:
            raise ValueError("`predict` received no data: the input is empty.")
        return jax.tree_util.tree_map(
            lambda *parts: np.concatenate([np.asarray(p) for p in parts]), *outputs
        )

    # -- single batches --------------------------------------------------------------
    def train_on_batch(
        self,
        x: Any,
        y: Any = None,
        sample_weight: Any = None,
        class_weight: Any = None,
        return_dict: bool = False,
    ) -> Any:
        """Runs one training step on one batch; returns the loss (and metrics)."""
        self._assert_compiled("train_on_batch")
        batch = data_adapter.unpack_batch((x, y, sample_weight))
        self._prepare(batch[0], batch[1], training=True)
        state = self._state(with_optimizer=True, with_metrics=True)
        raw_logs, state = self._step_function("train")(state, batch)
        self._write_state(state)
        logs = pythonify_logs(raw_logs)
        return logs if return_dict else _flatten_logs(logs, self.metrics_names)

    def test_on_batch(
        self,
        x: Any,
        y: Any = None,
        sample_weight: Any = None,
        return_dict: bool = False,
    ) -> Any:
        self._assert_compiled("test_on_batch")
        batch = data_adapter.unpack_batch((x, y, sample_weight))
        self._prepare(batch[0], batch[1], training=False)
        state = self._state(with_optimizer=False, with_metrics=True)
        raw_logs, state = self._step_function("test")(state, batch)
        self._write_state(state)
        logs = pythonify_logs(raw_logs)
        return logs if return_dict else _flatten_logs(logs, self.metrics_names)

    def predict_on_batch(self, x: Any) -> Any:
        batch_x = data_adapter.map_arrays(x)
        self._prepare(batch_x, None, training=False)
        state = self._state(with_optimizer=False, with_metrics=False)
        outputs = self._step_function("predict")(state, batch_x)
        return jax.tree_util.tree_map(np.asarray, outputs)


def _resolve_verbose(verbose: Any) -> int:
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2):
        raise ValueError(
            f"`verbose` must be 'auto', 0, 1 or 2. Received: verbose={verbose!r}"
        )
    return int(verbose)


def _flatten_logs(logs: dict[str, float], names: list[str]) -> Any:
    values = [logs[name] for name in names if name in logs]
    return values[0] if len(values) == 1 else values


def _unpack_validation(validation_data: Any) -> tuple[Any, Any, Any]:
    if isinstance(validation_data, tuple | list):
        if len(validation_data) == 2:
            return validation_data[0], validation_data[1], None
        if len(validation_data) == 3:
            return tuple(validation_data)
        raise ValueError(
            "`validation_data` must be (x, y) or (x, y, sample_weight). Received a "
            f"{type(validation_data).__name__} of length {len(validation_data)}."
        )
    if data_adapter.is_generator_like(validation_data):
        warnings.warn("A generator as validation_data is consumed once.", stacklevel=3)
        return validation_data, None, None
    raise ValueError(
        "`validation_data` must be a tuple (x, y) or (x, y, sample_weight). "
        f"Received: {type(validation_data).__name__}"
    )
