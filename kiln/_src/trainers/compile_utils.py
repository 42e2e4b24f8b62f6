"""The loss and metrics given to `compile`, matched to the model's outputs."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

_ACCURACY_NAMES = ("accuracy", "acc")
_CROSSENTROPY_NAMES = ("crossentropy", "ce")


def flatten_outputs(structure: Any, output_names: list[str] | None) -> list[Any]:
    """Outputs (or targets) as a list in the model's output order."""
    if structure is None:
        return []
    if isinstance(structure, dict):
        names = output_names or sorted(structure)
        missing = [n for n in names if n not in structure]
        if missing:
            raise ValueError(
                f"Expected targets/outputs for {names}, but these keys are missing: "
                f"{missing}. Received keys: {sorted(structure)}"
            )
        return [structure[n] for n in names]
    if isinstance(structure, list | tuple):
        return list(structure)
    return [structure]


def _per_output(spec: Any, output_names: list[str], what: str) -> list[Any]:
    count = len(output_names)
    if isinstance(spec, dict):
        unknown = sorted(set(spec) - set(output_names))
        if unknown:
            raise ValueError(
                f"`{what}` has keys {unknown} that are not output names. "
                f"Output names are: {output_names}"
            )
        return [spec.get(name) for name in output_names]
    # A list gives one entry per output (also `[w]` for a single output).
    if isinstance(spec, list | tuple) and (count > 1 or len(spec) == 1):
        if len(spec) != count:
            raise ValueError(
                f"`{what}` is a list of {len(spec)} entries, but the model has "
                f"{count} outputs {output_names}. Give one entry per output, or a "
                "dict keyed by output name."
            )
        return list(spec)
    return [spec] * count


class CompileLoss:
    """Weighted sum of one loss per output."""

    def __init__(self, loss: Any, loss_weights: Any, output_names: list[str]):
        from kiln._src import losses as losses_module

        self.output_names = output_names
        self._loss_spec = loss
        per_output = _per_output(loss, output_names, "loss")
        weights = (
            [1.0] * len(output_names)
            if loss_weights is None
            else _per_output(loss_weights, output_names, "loss_weights")
        )
        self.losses = []
        for identifier, weight in zip(per_output, weights):
            if identifier is None:
                self.losses.append(None)
                continue
            loss_object = losses_module.get(identifier)
            if not isinstance(loss_object, losses_module.Loss):
                loss_object = losses_module.LossFunctionWrapper(
                    loss_object, name=getattr(loss_object, "__name__", None)
                )
            self.losses.append((loss_object, 1.0 if weight is None else float(weight)))

    def __call__(
        self, y_true: Any, y_pred: Any, sample_weight: Any = None, masks: Any = None
    ) -> Any:
        targets = flatten_outputs(y_true, self.output_names)
        predictions = flatten_outputs(y_pred, self.output_names)
        weights = (
            flatten_outputs(sample_weight, self.output_names)
            if isinstance(sample_weight, dict | list | tuple)
            else [sample_weight] * len(predictions)
        )
        if len(targets) != len(predictions):
            raise ValueError(
                f"The model has {len(predictions)} output(s) but {len(targets)} "
                "target(s) were given. Pass one target array per output."
            )
        output_masks = (
            [None] * len(predictions)
            if masks is None
            else flatten_outputs(masks, self.output_names)
        )
        total = jnp.zeros((), dtype="float32")
        for entry, target, prediction, weight, mask in zip(
            self.losses, targets, predictions, weights, output_masks
        ):
            if entry is None:
                continue
            loss_object, loss_weight = entry
            total = total + loss_weight * _masked_loss(
                loss_object, target, prediction, weight, mask
            )
        return total


def _masked_loss(
    loss_object: Any, y_true: Any, y_pred: Any, sample_weight: Any, mask: Any
) -> Any:
    """``loss_object(y_true, y_pred, sample_weight)``, leaving out the entries
    where the prediction's mask (e.g. padding timesteps) is False, as Keras
    does for a prediction that carries a mask."""
    from kiln._src.losses.loss import Loss, reduce_weighted_values, to_tensor

    if (
        mask is None
        or not isinstance(loss_object, Loss)
        or type(loss_object).__call__ is not Loss.__call__
    ):
        return loss_object(y_true, y_pred, sample_weight=sample_weight)
    y_true = to_tensor(y_true, loss_object.dtype)
    y_pred = to_tensor(y_pred, loss_object.dtype)
    values, own_mask = loss_object._call_with_mask(y_true, y_pred)
    mask = jnp.asarray(mask).astype(bool)
    if own_mask is not None:
        mask = mask & jnp.asarray(own_mask).astype(bool)
    return reduce_weighted_values(
        values,
        sample_weight=sample_weight,
        mask=mask,
        reduction=loss_object.reduction,
        dtype=loss_object.dtype,
    )


class CompileMetrics:
    """The metrics given to `compile`, created once the data shapes are known."""

    def __init__(
        self, metrics: Any, weighted_metrics: Any, output_names: list[str], loss: Any
    ):
        self._metrics_spec = metrics
        self._weighted_spec = weighted_metrics
        self.output_names = output_names
        self._loss_spec = loss
        self.built = False
        self.entries: list[tuple[int, Any, bool]] = []  # (output, metric, weighted)

    def build(self, y_true: Any, y_pred: Any) -> None:
        targets = flatten_outputs(y_true, self.output_names)
        predictions = flatten_outputs(y_pred, self.output_names)
        losses = _per_output(self._loss_spec, self.output_names, "loss")
        for spec, weighted in (
            (self._metrics_spec, False),
            (self._weighted_spec, True),
        ):
            if not spec:
                continue
            if isinstance(spec, dict) or len(self.output_names) > 1:
                if isinstance(spec, list | tuple) and not all(
                    isinstance(s, list | tuple | type(None)) for s in spec
                ):
                    raise ValueError(
                        "Invalid `metrics`: for a model with several outputs "
                        f"{self.output_names}, give a dict keyed by output name or "
                        "a list with one list of metrics per output, e.g. "
                        "[['mae'], ['accuracy']]. Received: metrics="
                        f"{spec}"
                    )
                per_output = _per_output(spec, self.output_names, "metrics")
            else:
                per_output = [spec]
            for index, identifiers in enumerate(per_output):
                if identifiers is None:
                    continue
                if not isinstance(identifiers, list | tuple):
                    identifiers = [identifiers]
                for identifier in identifiers:
                    metric = _make_metric(
                        identifier, targets[index], predictions[index], losses[index]
                    )
                    if len(self.output_names) > 1:
                        metric.name = f"{self.output_names[index]}_{metric.name}"
                    self.entries.append((index, metric, weighted))
        self.built = True

    @property
    def metrics(self) -> list[Any]:
        return [metric for _, metric, _ in self.entries]

    def stateless_update(
        self, values: list[list[Any]], y_true: Any, y_pred: Any, sample_weight: Any
    ) -> list[list[Any]]:
        targets = flatten_outputs(y_true, self.output_names)
        predictions = flatten_outputs(y_pred, self.output_names)
        new_values = []
        for (index, metric, weighted), metric_values in zip(self.entries, values):
            weight = sample_weight if weighted else None
            new_values.append(
                metric.stateless_update_state(
                    metric_values,
                    targets[index],
                    predictions[index],
                    sample_weight=weight,
                )
            )
        return new_values


def _make_metric(identifier: Any, y_true: Any, y_pred: Any, loss: Any) -> Any:
    from kiln._src import metrics as metrics_module

    if isinstance(identifier, metrics_module.Metric):
        return identifier
    if isinstance(identifier, str) and identifier in _ACCURACY_NAMES:
        true_shape, pred_shape = jnp.shape(y_true), jnp.shape(y_pred)
        loss_name = loss if isinstance(loss, str) else getattr(loss, "name", "") or ""
        if pred_shape and pred_shape[-1] == 1 or "binary" in str(loss_name):
            return metrics_module.BinaryAccuracy(name=identifier)
        if (
            len(true_shape) < len(pred_shape)
            or (true_shape and true_shape[-1] == 1 and pred_shape[-1] != 1)
            or "sparse" in str(loss_name)
        ):
            return metrics_module.SparseCategoricalAccuracy(name=identifier)
        return metrics_module.CategoricalAccuracy(name=identifier)
    found = metrics_module.get(identifier)
    if not isinstance(found, metrics_module.Metric):
        found = metrics_module.MeanMetricWrapper(
            found, name=getattr(found, "__name__", None)
        )
    if isinstance(identifier, str):
        # Keras logs a metric given by name under that name ("mae", "mse").
        found.name = identifier
    return found


def batch_size_of(x: Any) -> int:
    leaves = jax.tree_util.tree_leaves(x)
    return int(leaves[0].shape[0]) if leaves else 0
