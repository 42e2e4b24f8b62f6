"""`Optimizer`: the base class of kiln's optimizers.

An optimizer owns its state as `Variable`s, created in Keras's order so a saved
file lists them exactly as Keras does (``iteration``, ``learning_rate``, then
the per-variable slots; see FORMAT.md). Updates are written imperatively with
``assign``; `stateless_apply` runs the same code inside a `StatelessScope`, which
makes it a pure function of the variable values for the jitted train step.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import jax.numpy as jnp
import numpy as np

from kiln._src.api_export import keras_export
from kiln._src.backend.config import floatx
from kiln._src.backend.stateless_scope import StatelessScope
from kiln._src.backend.variable import Variable, convert_to_tensor
from kiln._src.optimizers import gradient_clipping, multi_step
from kiln._src.optimizers.schedules.learning_rate_schedule import (
    LearningRateSchedule,
)
from kiln._src.saving import serialization_lib
from kiln._src.utils.naming import auto_name


def _resolve_initializer(initializer: Any) -> Callable[[Any, Any], Any]:
    if initializer == "zeros":
        return lambda shape, dtype: jnp.zeros(shape, dtype)
    if initializer == "ones":
        return lambda shape, dtype: jnp.ones(shape, dtype)
    if isinstance(initializer, str | dict):
        # Imported here: the initializers family is only needed for the rare
        # optimizer that creates a slot from a named initializer.
        from kiln import initializers

        return initializers.get(initializer)
    if callable(initializer):
        return initializer
    raise TypeError(
        "An optimizer variable's initializer must be a name such as 'zeros' or a "
        f"callable `(shape, dtype) -> array`. Received: initializer={initializer!r}"
    )


def _cast(value: Any, dtype: Any) -> Any:
    return convert_to_tensor(value, dtype)


@keras_export(["keras.Optimizer", "keras.optimizers.Optimizer"])
class Optimizer:
    """The base class of optimizers.

    To write an optimizer, override `build(var_list)` (call
    ``super().build(var_list)``, then create slots with
    `add_optimizer_variables`), `update_step(gradient, variable,
    learning_rate)` (update with `assign`) and `get_config()`.

    Args:
        learning_rate: a float, a `LearningRateSchedule`, or a callable taking
            no argument and returning the rate.
        weight_decay: if set, each step first shrinks every variable by
            ``variable * weight_decay * learning_rate`` (decoupled decay).
        clipnorm: if set, each gradient is rescaled to an L2 norm of at most
            this value.
        clipvalue: if set, each gradient element is clipped to
            ``[-clipvalue, clipvalue]``.
        global_clipnorm: if set, all gradients are rescaled together so their
            global L2 norm is at most this value.
        use_ema: keep an exponential moving average of the variables.
        ema_momentum: the EMA's momentum, in ``[0, 1]``.
        ema_overwrite_frequency: if set, overwrite the variables with their
            average every this many steps.
        loss_scale_factor: if set, gradients are divided by it first (the loss
            is expected to be multiplied by it, see `scale_loss`).
        gradient_accumulation_steps: if set (``>= 2``), variables are updated
            every this many steps with the mean of the accumulated gradients.
        name: the optimizer's name; defaults to the snake-cased class name.

    Example:
        >>> v = kiln.Variable(np.ones((2,), "float32"))
        >>> opt = kiln.optimizers.SGD(learning_rate=0.1)
        >>> opt.apply([np.ones((2,), "float32")], [v])
        >>> v.numpy()
        array([0.9, 0.9], dtype=float32)
    """

    def __init__(
        self,
        learning_rate: Any,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        use_ema: bool = False,
        ema_momentum: float = 0.99,
        ema_overwrite_frequency: int | None = None,
        loss_scale_factor: float | None = None,
        gradient_accumulation_steps: int | None = None,
        name: str | None = None,
        **kwargs: Any,
    ):
        if kwargs.pop("decay", None) is not None:
            warnings.warn(
                "The argument `decay` was removed in Keras 3 and is ignored; use "
                "a learning rate schedule instead.",
                stacklevel=2,
            )
        if kwargs:
            raise ValueError(
                f"Unknown argument(s) for {type(self).__name__}. Received: {kwargs}"
            )
        self._check_arguments(
            clipnorm,
            clipvalue,
            global_clipnorm,
            use_ema,
            ema_momentum,
            ema_overwrite_frequency,
            gradient_accumulation_steps,
        )
        self.name = name if name is not None else auto_name(type(self).__name__)
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.global_clipnorm = global_clipnorm
        self.clipvalue = clipvalue
        self.use_ema = use_ema
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self.built = False
        self._variables: list[Variable] = []
        self._trainable_variables: list[Variable] = []
        self._trainable_variables_indices: dict[int, int] = {}
        self._exclude_ids: set[int] = set()
        self._exclude_pattern: re.Pattern[str] | None = None
        self._weight_decay_cache: dict[int, bool] = {}

        # "int" is int32 on JAX, as in Keras's JAX backend.
        self._iterations = self._make_variable(0, "int", "iteration")
        if isinstance(learning_rate, LearningRateSchedule) or callable(learning_rate):
            self._learning_rate = learning_rate
        elif isinstance(learning_rate, float):
            self._learning_rate = self._make_variable(
                learning_rate, floatx(), "learning_rate"
            )
        else:
            # Keras refuses ints too (`learning_rate=1`), so configs stay floats.
            raise ValueError(
                "`learning_rate` must be a float (e.g. 0.001, not 1), a "
                "`LearningRateSchedule`, or a callable taking no argument that "
                f"returns the rate. Received: learning_rate={learning_rate!r}"
            )

    @staticmethod
    def _check_arguments(
        clipnorm: Any,
        clipvalue: Any,
        global_clipnorm: Any,
        use_ema: bool,
        ema_momentum: float,
        ema_overwrite_frequency: Any,
        gradient_accumulation_steps: Any,
    ) -> None:
        if gradient_accumulation_steps and not gradient_accumulation_steps >= 2:
            raise ValueError(
                "`gradient_accumulation_steps` must be an integer >= 2 (or None "
                "for no accumulation). Received: "
                f"gradient_accumulation_steps={gradient_accumulation_steps}"
            )
        if use_ema:
            if not 0 <= ema_momentum <= 1:
                raise ValueError(
                    "`ema_momentum` must be in the range [0, 1]. "
                    f"Received: ema_momentum={ema_momentum}"
                )
            if ema_overwrite_frequency and (
                not isinstance(ema_overwrite_frequency, int)
                or ema_overwrite_frequency < 1
            ):
                raise ValueError(
                    "`ema_overwrite_frequency` must be an integer >= 1 or None. "
                    f"Received: ema_overwrite_frequency={ema_overwrite_frequency}"
                )
        if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(
                "Set at most one of `clipnorm`, `clipvalue` and `global_clipnorm`. "
                f"Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
                f"global_clipnorm={global_clipnorm}"
            )

    # -- variables -----------------------------------------------------------
    def _make_variable(self, value: Any, dtype: Any, name: str) -> Variable:
        variable = Variable(
            value,
            dtype=dtype,
            trainable=False,
            aggregation="only_first_replica",
            name=name,
            path=f"{self.name}/{name}",
        )
        self._variables.append(variable)
        return variable

    @property
    def variables(self) -> list[Variable]:
        """Every optimizer variable, in creation (and file) order."""
        return self._variables[:]

    @property
    def iterations(self) -> Any:
        """The step counter; with gradient accumulation, counts real updates."""
        if self.gradient_accumulation_steps:
            return self._iterations.value // self.gradient_accumulation_steps
        return self._iterations

    def _iterations_value(self) -> Any:
        return convert_to_tensor(self.iterations)

    def add_variable(
        self,
        shape: Sequence[int],
        initializer: Any = "zeros",
        dtype: Any = None,
        aggregation: str = "none",
        layout: Any = None,
        name: str | None = None,
    ) -> Variable:
        """Creates and tracks a non-trainable optimizer variable.

        Args:
            shape: the variable's shape.
            initializer: ``"zeros"``, ``"ones"``, an initializer name, or a
                callable ``(shape, dtype) -> array``.
            dtype: the dtype; defaults to floatx().
            aggregation: kept for API compatibility (single device).
            layout: kept for API compatibility.
            name: the variable's name; its path is ``"<optimizer>/<name>"``.

        Returns:
            The new `Variable`.
        """
        del layout  # Sharding layouts are not supported yet.
        init = _resolve_initializer(initializer)
        shape = tuple(shape)
        dtype = dtype or floatx()
        # Lazy, as a layer's variables are: a slot about to be filled from a
        # file is never allocated twice (and never before the load's budget
        # check).
        variable = Variable(
            init,
            shape=shape,
            dtype=dtype,
            trainable=False,
            aggregation=aggregation,
            name=name,
            path=f"{self.name}/{name}" if name else None,
        )
        self._variables.append(variable)
        return variable

    def add_variable_from_reference(
        self,
        reference_variable: Any,
        name: str | None = None,
        initializer: Any = "zeros",
    ) -> Variable:
        """Creates a variable shaped like `reference_variable`, named
        ``"<reference path with '/' as '_'>_<name>"`` (e.g.
        ``dense_kernel_momentum``)."""
        name = name or "var"
        if hasattr(reference_variable, "path"):
            prefix = reference_variable.path.replace("/", "_")
        else:
            prefix = str(reference_variable.name).replace("/", "_").replace(":", "_")
        return self.add_variable(
            shape=reference_variable.shape,
            initializer=initializer,
            dtype=reference_variable.dtype,
            name=f"{prefix}_{name}",
        )

    def add_optimizer_variables(
        self,
        trainable_variables: Iterable[Any],
        name: str | Sequence[str],
        initializer: Any = "zeros",
    ) -> Any:
        """Creates one slot per name for each variable, interleaved per variable.

        With ``name=["momentum", "velocity"]`` the order is ``m0, v0, m1, v1, ...``
        (Keras's order, which fixes the order in saved files). A variable with
        ``overwrite_with_gradient`` gets ``None`` instead of slots.

        Args:
            trainable_variables: the model variables.
            name: one slot name, or a list of names.
            initializer: one initializer, or one per name.

        Returns:
            A list of slots for one name; a tuple of lists for several.
        """
        names = [name] if isinstance(name, str) else list(name)
        if isinstance(name, str) or not isinstance(initializer, list | tuple):
            initializers = [initializer] * len(names)
        else:
            initializers = list(initializer)
        if len(names) != len(initializers):
            raise ValueError(
                "Give one initializer, or one initializer per name. Received: "
                f"name={name!r}, initializer={initializer!r}"
            )
        slots: tuple[list[Any], ...] = tuple([] for _ in names)
        for variable in trainable_variables:
            skip = getattr(variable, "overwrite_with_gradient", False)
            for i, (slot_name, init) in enumerate(zip(names, initializers)):
                slots[i].append(
                    None
                    if skip
                    else self.add_variable_from_reference(variable, slot_name, init)
                )
        return slots[0] if isinstance(name, str) else slots

    def build(self, var_list: Sequence[Any]) -> None:
        """Creates the optimizer's state for `var_list` (EMA averages and
        gradient accumulators here; subclasses add their slots after)."""
        var_list = list(var_list)
        if self.use_ema:
            self._model_variables_moving_average = self.add_optimizer_variables(
                var_list, "average"
            )
        if self.gradient_accumulation_steps:
            self._accumulated_gradients = [
                self.add_variable_from_reference(v, "gradient_accumulator")
                for v in var_list
            ]
        self._trainable_variables_indices = {id(v): i for i, v in enumerate(var_list)}
        self._trainable_variables = var_list
        self.built = True

    def _get_variable_index(self, variable: Any) -> int:
        return self._trainable_variables_indices[id(variable)]

    def _check_variables_are_known(self, variables: Iterable[Any]) -> None:
        for variable in variables:
            if id(variable) not in self._trainable_variables_indices:
                raise ValueError(
                    f"Unknown variable: {variable}. This optimizer was built for "
                    "another list of variables; create a new optimizer for new "
                    "variables."
                )

    # -- learning rate -------------------------------------------------------
    @property
    def learning_rate(self) -> Any:
        """The current rate: the variable, or the schedule's value at the
        current iteration, or the callable's result."""
        if isinstance(self._learning_rate, LearningRateSchedule):
            return self._learning_rate(self._iterations)
        if isinstance(self._learning_rate, Variable):
            return self._learning_rate
        return self._learning_rate()

    @learning_rate.setter
    def learning_rate(self, learning_rate: Any) -> None:
        previous = self._learning_rate
        if isinstance(learning_rate, LearningRateSchedule) or callable(learning_rate):
            self._learning_rate = learning_rate
            if isinstance(previous, Variable):
                self._variables.remove(previous)
            return
        if not isinstance(previous, Variable):
            raise TypeError(
                "This optimizer was created with a `LearningRateSchedule` or a "
                "callable as its `learning_rate`, so the rate cannot be set to a "
                "number. Create the optimizer with a float `learning_rate` to "
                f"make it settable. Received: learning_rate={learning_rate!r}"
            )
        previous.assign(learning_rate)

    # -- updates -------------------------------------------------------------
    def assign(self, variable: Any, value: Any) -> None:
        """Sets `variable` to `value` (use this in `update_step`)."""
        variable.assign(value)

    def assign_add(self, variable: Any, value: Any) -> None:
        variable.assign_add(value)

    def assign_sub(self, variable: Any, value: Any) -> None:
        variable.assign_sub(value)

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        """Updates one variable from its (processed) gradient."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement "
            "`update_step(gradient, variable, learning_rate)`."
        )

    def apply_gradients(self, grads_and_vars: Iterable[tuple[Any, Any]]) -> Variable:
        """Applies ``(gradient, variable)`` pairs; returns the iteration counter."""
        grads, trainable_variables = zip(*grads_and_vars)
        self.apply(grads, trainable_variables)
        return self._iterations

    def apply(self, grads: Sequence[Any], trainable_variables: Any = None) -> None:
        """Updates the variables from `grads`, building the optimizer first if
        needed.

        Args:
            grads: one gradient (or None) per variable.
            trainable_variables: the variables; may be omitted once built, then
                `grads` must match the variables the optimizer was built with.
        """
        grads = list(grads)
        if not grads:
            return
        if trainable_variables is None:
            if not self.built:
                raise ValueError(
                    "The optimizer is not built, so it does not know which "
                    "variables `grads` belong to. Pass `trainable_variables`, or "
                    "call `optimizer.build(trainable_variables)` first."
                )
            if len(grads) != len(self._trainable_variables):
                raise ValueError(
                    "Expected one gradient per variable the optimizer was built "
                    f"with ({len(self._trainable_variables)}). "
                    f"Received: {len(grads)} gradients."
                )
            trainable_variables = self._trainable_variables
        else:
            trainable_variables = list(trainable_variables)
            if len(grads) != len(trainable_variables):
                raise ValueError(
                    "Expected one gradient per variable. Received: "
                    f"{len(grads)} gradients for {len(trainable_variables)} "
                    "variables."
                )
            if not self.built:
                self.build(trainable_variables)
                self.built = True
            self._check_variables_are_known(trainable_variables)

        grads, trainable_variables = self._filter_empty_gradients(
            grads, trainable_variables
        )
        grads, trainable_variables = multi_step.overwrite_variables_with_gradients(
            self, grads, trainable_variables
        )
        if grads:
            if self.loss_scale_factor is not None:
                grads = [g / self.loss_scale_factor for g in grads]
            self._apply_processed_gradients(grads, trainable_variables)
            for variable in trainable_variables:
                constraint = getattr(variable, "constraint", None)
                if constraint is not None:
                    variable.assign(constraint(variable))
        self._iterations.assign_add(1)

    def _filter_empty_gradients(
        self, grads: list[Any], variables: list[Any]
    ) -> tuple[list[Any], list[Any]]:
        kept = [
            (convert_to_tensor(g), v) for g, v in zip(grads, variables) if g is not None
        ]
        if not kept:
            raise ValueError(
                "No gradients provided for any variable: every gradient is None. "
                "Check that the loss depends on the variables."
            )
        if len(kept) < len(grads):
            missing = [v.path for g, v in zip(grads, variables) if g is None]
            warnings.warn(
                f"Gradients do not exist for variables {missing} when minimizing "
                "the loss. If using `model.compile()`, did you forget to provide "
                "a `loss` argument?",
                stacklevel=3,
            )
        return [g for g, _ in kept], [v for _, v in kept]

    def _apply_processed_gradients(
        self, grads: list[Any], variables: list[Any]
    ) -> None:
        if self.gradient_accumulation_steps:
            multi_step.accumulate_then_update(self, grads, variables)
        else:
            self._clip_decay_and_update(grads, variables)
        if self.use_ema:
            multi_step.update_moving_averages(self)

    def _clip_decay_and_update(self, grads: list[Any], variables: list[Any]) -> None:
        grads = self._clip_gradients(grads)
        self._apply_weight_decay(variables)
        learning_rate = self.learning_rate
        for grad, variable in zip(grads, variables):
            self.update_step(grad, variable, learning_rate)

    def _clip_gradients(self, grads: list[Any]) -> list[Any]:
        if self.clipnorm and self.clipnorm > 0:
            return [gradient_clipping.clip_by_norm(g, self.clipnorm) for g in grads]
        if self.global_clipnorm and self.global_clipnorm > 0:
            return gradient_clipping.clip_by_global_norm(grads, self.global_clipnorm)
        if self.clipvalue and self.clipvalue > 0:
            return [gradient_clipping.clip_by_value(g, self.clipvalue) for g in grads]
        return grads

    # -- weight decay --------------------------------------------------------
    def exclude_from_weight_decay(
        self,
        var_list: Iterable[Any] | None = None,
        var_names: Iterable[str] | None = None,
    ) -> None:
        """Excludes variables from weight decay.

        Args:
            var_list: variables to exclude.
            var_names: substrings (regular expressions); a variable whose
                `name` contains one is excluded, e.g. ``["bias"]``.
        """
        self._exclude_ids = {id(v) for v in var_list} if var_list else set()
        names = set(var_names) if var_names else set()
        self._exclude_pattern = re.compile("|".join(names)) if names else None
        self._weight_decay_cache = {}

    def _use_weight_decay(self, variable: Any) -> bool:
        key = id(variable)
        if key not in self._weight_decay_cache:
            excluded = key in self._exclude_ids or (
                self._exclude_pattern is not None
                and self._exclude_pattern.search(variable.name) is not None
            )
            self._weight_decay_cache[key] = not excluded
        return self._weight_decay_cache[key]

    def _apply_weight_decay(self, variables: list[Any]) -> None:
        if self.weight_decay is None:
            return
        for variable in variables:
            if self._use_weight_decay(variable):
                lr = _cast(self.learning_rate, variable.dtype)
                wd = _cast(self.weight_decay, variable.dtype)
                variable.assign(variable.value - variable.value * wd * lr)

    # -- pure step -----------------------------------------------------------
    def stateless_apply(
        self,
        optimizer_variables: Sequence[Any],
        grads: Sequence[Any],
        trainable_variables: Sequence[Any],
    ) -> tuple[list[Any], list[Any]]:
        """The pure form of `apply`, for use inside `jax.jit`.

        Args:
            optimizer_variables: values of `self.variables`, in order.
            grads: one gradient per trainable variable.
            trainable_variables: values of the variables the optimizer was
                built with, in order.

        Returns:
            ``(new_trainable_values, new_optimizer_values)``; nothing is mutated.
        """
        if not self.built:
            raise ValueError(
                f"{type(self).__name__} must be built before `stateless_apply`, so "
                "its variables exist. Call `optimizer.build(trainable_variables)`."
            )
        if len(optimizer_variables) != len(self._variables):
            raise ValueError(
                "`optimizer_variables` must hold one value per entry of "
                f"`optimizer.variables` ({len(self._variables)}). "
                f"Received: {len(optimizer_variables)} values."
            )
        if len(trainable_variables) != len(self._trainable_variables):
            raise ValueError(
                "`trainable_variables` must hold one value per variable the "
                f"optimizer was built with ({len(self._trainable_variables)}). "
                f"Received: {len(trainable_variables)} values."
            )
        mapping = list(zip(self._trainable_variables, trainable_variables))
        mapping += list(zip(self._variables, optimizer_variables))
        with StatelessScope(mapping) as scope:
            self.apply(grads)
        return (
            [scope.get_current_value(v) for v in self._trainable_variables],
            [scope.get_current_value(v) for v in self._variables],
        )

    # -- misc API ------------------------------------------------------------
    def scale_loss(self, loss: Any) -> Any:
        """Multiplies the loss by `loss_scale_factor` when it is set."""
        if self.loss_scale_factor is not None:
            return loss * self.loss_scale_factor
        return loss

    def finalize_variable_values(self, var_list: Sequence[Any]) -> None:
        """With EMA, overwrites the variables with their moving averages."""
        if not self.use_ema:
            return
        if len(var_list) != len(self._model_variables_moving_average):
            raise ValueError(
                f"Expected the {len(self._model_variables_moving_average)} "
                "variables the optimizer was built with. "
                f"Received: {len(var_list)} variables."
            )
        for variable, average in zip(var_list, self._model_variables_moving_average):
            if average is not None:
                variable.assign(average)

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Assigns values to `self.variables`, in order."""
        if not self.built:
            raise ValueError(
                "The optimizer is not built, so it has no variables to set. Call "
                "`optimizer.build(trainable_variables)` first."
            )
        for variable, weight in zip(self._variables, weights):
            if tuple(variable.shape) != tuple(np.shape(weight)):
                raise ValueError(
                    f"Optimizer variable '{variable.path}' has shape "
                    f"{variable.shape}, which does not match the weight. "
                    f"Received: shape={np.shape(weight)}"
                )
            variable.assign(weight)

    def save_own_variables(self, store: Any) -> None:
        """Writes ``store["0"], store["1"], ...`` in `variables` order."""
        for i, variable in enumerate(self._variables):
            store[str(i)] = variable.numpy()

    def load_own_variables(self, store: Any) -> None:
        """Reads the variables back; on a count mismatch warns and skips, as
        Keras does (e.g. a file saved before the optimizer was built)."""
        if len(store.keys()) != len(self._variables):
            message = (
                f"Skipping variable loading for optimizer '{self.name}', because "
                f"it has {len(self._variables)} variables whereas the saved "
                f"optimizer has {len(store.keys())} variables. "
            )
            if not self.built:
                message += (
                    "This is likely because the optimizer has not been "
                    "called/built yet."
                )
            warnings.warn(message, stacklevel=2)
            return
        for i, variable in enumerate(self._variables):
            variable.assign(store[str(i)])

    def _obj_type(self) -> str:
        return "Optimizer"

    # -- config --------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, with Keras's keys and order."""
        if isinstance(self._learning_rate, LearningRateSchedule):
            learning_rate = serialization_lib.serialize_keras_object(
                self._learning_rate
            )
        elif isinstance(self._learning_rate, Variable):
            learning_rate = float(self._learning_rate.numpy())
        else:
            learning_rate = serialization_lib.serialize_keras_object(
                self._learning_rate
            )
        return {
            "name": self.name,
            "learning_rate": learning_rate,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
            "use_ema": self.use_ema,
            "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency,
            "loss_scale_factor": self.loss_scale_factor,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
        }

    @classmethod
    def from_config(
        cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None
    ) -> Optimizer:
        """Creates an optimizer from `get_config()`'s output (a schedule
        envelope under ``learning_rate`` is deserialized)."""
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = serialization_lib.deserialize_keras_object(
                config["learning_rate"], custom_objects=custom_objects
            )
        return cls(**config)
