"""`Layer`: bookkeeping around a pure `call`.

`__init__` stores the configuration, `build` creates variables with `add_weight`,
`call` computes with `kiln.ops`. Sub-layers, variables and seed generators
assigned as attributes (directly or inside lists, tuples and dicts) are tracked
in assignment order, which fixes the order of `weights` and of saved files.
"""

from __future__ import annotations

import functools
import inspect
import json
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kiln._src.api_export import keras_export
from kiln._src.backend import tracking
from kiln._src.backend.keras_tensor import KerasTensor, any_symbolic
from kiln._src.backend.random import SeedGenerator
from kiln._src.backend.stateless_scope import StatelessScope, get_stateless_scope
from kiln._src.backend.variable import Variable
from kiln._src.dtype_policies import dtype_policy
from kiln._src.layers import call_context
from kiln._src.layers.input_spec import assert_input_compatibility
from kiln._src.ops.operation import Operation

_PLAIN = (str, int, float, bool, type(None))
# Keyword arguments every layer accepts and forwards to Sequential/InputLayer.
_SHAPE_KWARGS = ("input_shape", "input_dim", "batch_input_shape", "batch_size")


def _is_plain(value: Any) -> bool:
    if isinstance(value, _PLAIN):
        return True
    if isinstance(value, list | tuple):
        return all(_is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_plain(v) for k, v in value.items())
    return False


def _to_shape(x: Any) -> Any:
    # Symbolic sizes (from shape inference) are unknown: None, as in Keras.
    return tuple(d if isinstance(d, int) else None for d in x.shape)


def _standardize_input(x: Any, compute_dtype: str, autocast: bool) -> Any:
    if isinstance(x, KerasTensor | Variable):
        return x
    if isinstance(x, np.ndarray | jax.Array | list | float | int | np.generic):
        if isinstance(x, list) and not all(isinstance(v, int | float) for v in x):
            return x
        array = jnp.asarray(x)
        if autocast and jnp.issubdtype(array.dtype, jnp.floating):
            if array.dtype != compute_dtype:
                array = array.astype(compute_dtype)
        return array
    return x


@functools.lru_cache(maxsize=4096)
def _signature(function: Any) -> inspect.Signature:
    """`inspect.signature`, computed once per function (it is slow, and every
    layer construction needs its class's)."""
    return inspect.signature(function)


def _bound_signature(layer: Layer, method: str) -> inspect.Signature:
    """The signature of ``layer.<method>`` without ``self``."""
    function = getattr(type(layer), method, None)
    if method in layer.__dict__ or not inspect.isfunction(function):
        return inspect.signature(getattr(layer, method))
    return _signature_without_self(function)


@functools.lru_cache(maxsize=4096)
def _signature_without_self(function: Any) -> inspect.Signature:
    signature = _signature(function)
    return signature.replace(parameters=list(signature.parameters.values())[1:])


def _spec_follows_config(layer: Layer, depth: int = 0) -> bool:
    """Whether `layer` and every layer inside it (an RNN's cell, a wrapper's
    layer) are kiln's exported built-in layers (exactly: not subclasses) whose
    output spec follows from their config."""
    from kiln._src import api_export

    cls = type(layer)
    name = api_export.get_canonical_name(cls)
    if not (
        cls._output_spec_from_config
        and name is not None
        and name.startswith("keras.layers.")
    ):
        return False
    return depth < 8 and all(
        _spec_follows_config(inner, depth + 1) for inner in layer._sublayers()
    )


@keras_export(["keras.Layer", "keras.layers.Layer"])
class Layer(Operation):
    """The base class of all layers.

    Args:
        trainable: whether the layer's variables are updated by `fit`.
        dtype: a dtype name or `DTypePolicy` (default: floatx()).
        name: a unique name; defaults to the snake_case class name, numbered.
        activity_regularizer: applied to the layer's outputs, added to the loss.

    Example:
        >>> class Scale(keras.layers.Layer):
        ...     def build(self, input_shape):
        ...         shape = (input_shape[-1],)
        ...         self.w = self.add_weight(shape=shape, initializer="ones")
        ...     def call(self, x):
        ...         return x * self.w
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        build = cls.__dict__.get("build")
        if build is not None and not getattr(build, "_kiln_build_wrapper", False):
            cls.build = _wrap_build(build)

    def __new__(cls, *args: Any, **kwargs: Any) -> Layer:
        instance = super().__new__(cls)
        # Capture the constructor arguments: a subclass without get_config()
        # whose arguments are all plain values still serializes (like Keras).
        try:
            signature = _signature(cls.__init__)
            arguments = dict(signature.bind(None, *args, **kwargs).arguments)
            arguments.pop(next(iter(arguments)))  # self
            # Flatten `**kwargs` whatever its name (`**kw`, `**options`, ...).
            for parameter in signature.parameters.values():
                if parameter.kind is parameter.VAR_KEYWORD:
                    arguments.update(arguments.pop(parameter.name, {}))
            instance._auto_config = arguments
        except TypeError:
            instance._auto_config = None
        return instance

    def __init__(
        self,
        *,
        activity_regularizer: Any = None,
        trainable: bool = True,
        dtype: Any = None,
        autocast: bool = True,
        name: str | None = None,
        **kwargs: Any,
    ):
        shape_kwargs = {k: kwargs.pop(k) for k in _SHAPE_KWARGS if k in kwargs}
        kwargs.pop("input_dtype", None)
        if kwargs:
            raise ValueError(
                f"Unrecognized keyword arguments passed to {type(self).__name__}: "
                f"{kwargs}. Check the spelling, or add them to the layer's "
                "__init__ signature. (In a loaded file, an unknown option usually "
                "means the file was written by a newer Keras release.)"
            )
        object.__setattr__(self, "_tracking_enabled", False)
        super().__init__(name=name)
        self._dtype_policy = dtype_policy.get(dtype)
        self.autocast = autocast
        self._trainable = bool(trainable)
        self._trainable_variables: list[Variable] = []
        self._non_trainable_variables: list[Variable] = []
        self._seed_generators: list[SeedGenerator] = []
        self._regularizers: list[tuple[Variable, Any]] = []
        self._losses: list[Any] = []
        self._build_shapes: dict[str, Any] | None = None
        self.input_spec = None
        self.supports_masking = False
        self._call_signature = _bound_signature(self, "call")
        parameters = self._call_signature.parameters
        self._call_has_training_arg = "training" in parameters
        self._call_has_mask_arg = "mask" in parameters
        # A layer that does not override `build` has nothing to create.
        self.built = type(self).build is Layer.build
        from kiln._src import regularizers

        self.activity_regularizer = regularizers.get(activity_regularizer)
        self._shape_kwargs = shape_kwargs
        object.__setattr__(self, "_tracking_enabled", True)

    # -- attribute tracking ---------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        if getattr(self, "_tracking_enabled", False):
            self._track(value)
            if isinstance(value, Layer | Variable | list | tuple | dict):
                tracking.bump()
        super().__setattr__(name, value)

    def _track(self, value: Any) -> None:
        if isinstance(value, Variable):
            tracking.bump()
            owned = self.__dict__.setdefault("_owned_variable_ids", set())
            if id(value) not in owned:  # a set: adding n variables stays linear
                owned.add(id(value))
                target = (
                    self._trainable_variables
                    if value.trainable
                    else self._non_trainable_variables
                )
                target.append(value)
        elif isinstance(value, SeedGenerator):
            if not any(s is value for s in self._seed_generators):
                self._seed_generators.append(value)
        elif isinstance(value, list | tuple):
            for item in value:
                if isinstance(item, Variable | SeedGenerator | list | tuple | dict):
                    self._track(item)
        elif isinstance(value, dict):
            for item in value.values():
                if isinstance(item, Variable | SeedGenerator | list | tuple | dict):
                    self._track(item)

    def _own_variables(self) -> list[Variable]:
        return self._trainable_variables + self._non_trainable_variables

    def _sublayers(self) -> list[Layer]:
        """Direct sub-layers in assignment order (found in attributes,
        lists, tuples and dicts)."""
        found: list[Layer] = []
        seen = {id(self)}

        def visit(value: Any, depth: int) -> None:
            if isinstance(value, Layer):
                if id(value) not in seen:
                    seen.add(id(value))
                    found.append(value)
            elif depth < 8 and isinstance(value, list | tuple):
                for item in value:
                    visit(item, depth + 1)
            elif depth < 8 and isinstance(value, dict):
                for item in value.values():
                    visit(item, depth + 1)

        for key, value in self.__dict__.items():
            if key not in _UNTRACKED_ATTRIBUTES:
                visit(value, 0)
        return found

    def _flatten_layers(self, include_self: bool = True) -> list[Layer]:
        result: list[Layer] = []
        seen: set[int] = set()

        def visit(layer: Layer) -> None:
            if id(layer) in seen:
                return
            seen.add(id(layer))
            result.append(layer)
            for child in layer._sublayers():
                visit(child)

        visit(self)
        return result if include_self else result[1:]

    # -- variables ------------------------------------------------------------
    def add_weight(
        self,
        shape: Any = None,
        initializer: Any = None,
        dtype: Any = None,
        trainable: bool = True,
        autocast: bool = True,
        regularizer: Any = None,
        constraint: Any = None,
        aggregation: str = "none",
        name: str | None = None,
    ) -> Variable:
        """Creates a variable owned by this layer (drawn lazily from
        `initializer`).

        Args:
            shape: the variable's shape (default ``()``).
            initializer: an initializer object, name or callable; default
                ``"glorot_uniform"`` for floats, ``"zeros"`` otherwise.
            dtype: defaults to the layer's variable dtype.
            trainable: whether `fit` updates it.
            regularizer: a regularizer (object or name) whose penalty joins the
                loss.
            constraint: a constraint applied after each optimizer step.
            name: the variable's short name, e.g. ``"kernel"``.
        """
        from kiln._src import constraints, initializers, regularizers

        shape = () if shape is None else shape
        dtype = dtype or self._dtype_policy.variable_dtype
        if initializer is None:
            is_float = jnp.issubdtype(jnp.dtype(dtype), jnp.floating)
            initializer = "glorot_uniform" if is_float else "zeros"
        initializer = initializers.get(initializer)
        name = name or "variable"
        path = "/".join([*call_context.current_name_path(), name])
        if not call_context.current_name_path():
            path = f"{self.name}/{name}"
        variable = Variable(
            initializer,
            shape=shape,
            dtype=dtype,
            trainable=trainable,
            autocast=autocast,
            aggregation=aggregation,
            name=name,
            path=path,
        )
        variable.constraint = constraints.get(constraint)
        regularizer = regularizers.get(regularizer)
        if regularizer is not None:
            self._regularizers.append((variable, regularizer))
        self._track(variable)
        return variable

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        value = bool(value)
        tracking.bump()
        for layer in self._flatten_layers():
            layer._trainable = value
            for variable in layer._trainable_variables:
                variable.trainable = value

    @property
    def weights(self) -> list[Variable]:
        """All weights: own (creation order) then each sub-layer's."""
        result: list[Variable] = []
        seen: set[int] = set()
        for layer in self._flatten_layers():
            for variable in layer._own_variables():
                if id(variable) not in seen:
                    seen.add(id(variable))
                    result.append(variable)
        return result

    @property
    def trainable_weights(self) -> list[Variable]:
        if not self.trainable:
            return []
        return [v for v in self.weights if v.trainable]

    @property
    def non_trainable_weights(self) -> list[Variable]:
        if not self.trainable:
            return self.weights
        return [v for v in self.weights if not v.trainable]

    @property
    def variables(self) -> list[Variable]:
        """Weights plus the state of seed generators (random layers)."""
        result = list(self.weights)
        seen = {id(v) for v in result}
        for layer in self._flatten_layers():
            for generator in layer._seed_generators:
                if id(generator.state) not in seen:
                    seen.add(id(generator.state))
                    result.append(generator.state)
        return result

    @property
    def trainable_variables(self) -> list[Variable]:
        return self.trainable_weights

    @property
    def non_trainable_variables(self) -> list[Variable]:
        trainable = {id(v) for v in self.trainable_variables}
        return [v for v in self.variables if id(v) not in trainable]

    def get_weights(self) -> list[np.ndarray]:
        return [np.asarray(v.value) for v in self.weights]

    def set_weights(self, weights: list[Any]) -> None:
        """Sets every weight from a list of arrays (order of `weights`)."""
        variables = self.weights
        weights = list(weights)
        if len(weights) != len(variables):
            raise ValueError(
                f'Layer "{self.name}" expects {len(variables)} weight arrays, but '
                f"received {len(weights)}. Expected shapes: "
                f"{[v.shape for v in variables]}. Received shapes: "
                f"{[tuple(np.shape(w)) for w in weights]}"
            )
        for variable, value in zip(variables, weights):
            if tuple(np.shape(value)) != variable.shape:
                raise ValueError(
                    f'Layer "{self.name}" weight "{variable.path}" has shape '
                    f"{variable.shape}, but the value given for it has shape "
                    f"{tuple(np.shape(value))}. Pass arrays in the order and "
                    "shapes of `layer.weights`."
                )
        for variable, value in zip(variables, weights):
            variable.assign(value)

    def count_params(self) -> int:
        if not self.built:
            raise ValueError(
                f"You tried to call `count_params` on layer '{self.name}', but "
                "the layer isn't built. Build it first: call it on data, or call "
                "`layer.build(input_shape)`."
            )
        return sum(math.prod(v.shape) for v in self.weights)

    # -- losses ---------------------------------------------------------------
    def add_loss(self, loss: Any) -> None:
        """Adds a scalar to the training loss (e.g. an activity penalty)."""
        context = call_context.get_call_context()
        if context is not None:
            context.losses.append(loss)
        if get_stateless_scope() is None and not isinstance(loss, jax.core.Tracer):
            self._losses.append(loss)

    def _weight_regularization_losses(self) -> list[Any]:
        losses = []
        for layer in self._flatten_layers():
            for variable, regularizer in layer._regularizers:
                losses.append(regularizer(variable.value))
        return losses

    @property
    def losses(self) -> list[Any]:
        """Losses added during the last call, plus weight penalties."""
        added = [loss for layer in self._flatten_layers() for loss in layer._losses]
        return added + self._weight_regularization_losses()

    def _clear_losses(self) -> None:
        for layer in self._flatten_layers():
            layer._losses = []

    # -- dtype ----------------------------------------------------------------
    @property
    def dtype_policy(self) -> dtype_policy.DTypePolicy:
        return self._dtype_policy

    @property
    def dtype(self) -> str:
        return self._dtype_policy.variable_dtype

    @property
    def compute_dtype(self) -> str:
        return self._dtype_policy.compute_dtype

    @property
    def variable_dtype(self) -> str:
        return self._dtype_policy.variable_dtype

    # -- building ---------------------------------------------------------------
    def build(self, input_shape: Any = None) -> None:
        """Creates the layer's variables; override in subclasses."""
        self.built = True

    def _maybe_build(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if self.built:
            return
        build_parameters = [
            p
            for p in _bound_signature(self, "build").parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        names = [p.name for p in build_parameters]
        if len(names) > 1 and all(n.endswith("_shape") for n in names):
            bound = self._call_signature.bind_partial(*args, **kwargs).arguments
            shapes = {
                f"{arg}_shape": jax.tree_util.tree_map(
                    _to_shape, bound[arg], is_leaf=_is_tensor_like
                )
                for arg in (n[: -len("_shape")] for n in names)
                if arg in bound
            }
            self._build_with_shapes(shapes_dict=shapes)
        else:
            shape = jax.tree_util.tree_map(_to_shape, args[0], is_leaf=_is_tensor_like)
            self._build_with_shapes(input_shape=shape)

    def _build_with_shapes(
        self, input_shape: Any = None, shapes_dict: Any = None
    ) -> None:
        names = call_context.current_name_path()
        names.append(self.name)
        try:
            if shapes_dict is not None:
                self.build(**shapes_dict)
            else:
                self.build(input_shape)
        finally:
            names.pop()
        self.built = True

    def get_build_config(self) -> dict[str, Any] | None:
        if self._build_shapes is None:
            return None
        return _shapes_to_lists(self._build_shapes)

    def build_from_config(self, config: dict[str, Any]) -> None:
        if not config:
            return
        if "input_shape" in config:
            shape = _lists_to_shapes(config["input_shape"])
            self._build_with_shapes(input_shape=shape)
        elif "shapes_dict" in config:
            shapes = {k: _lists_to_shapes(v) for k, v in config["shapes_dict"].items()}
            self._build_with_shapes(shapes_dict=shapes)

    # -- calling ----------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not args:
            raise ValueError(
                f"Layer '{self.name}' was called without inputs. Call it on a "
                "tensor, e.g. `layer(x)`."
            )
        args = (
            jax.tree_util.tree_map(
                lambda x: _standardize_input(x, self.compute_dtype, self.autocast),
                args[0],
                is_leaf=_is_tensor_like,
            ),
            *args[1:],
        )
        outer = call_context.get_call_context()
        training = kwargs.pop("training", None)
        if training is None and outer is not None:
            training = outer.training
        symbolic = any_symbolic((args, kwargs))
        # Checked before building, as Keras does, so a wrong input never
        # reaches `build`.
        assert_input_compatibility(self.input_spec, args[0], self.name)
        if not symbolic:
            self._maybe_build(args, kwargs)
        if symbolic:
            return self._symbolic_call(args, kwargs, training)
        if outer is None:
            self._clear_losses()
        context = outer or call_context.CallContext(training)
        if self._call_has_training_arg and training is not None:
            kwargs["training"] = training
        with call_context.call_context_scope(context):
            outputs = self.call(*args, **kwargs)
            if self.activity_regularizer is not None:
                for output in jax.tree_util.tree_leaves(outputs):
                    penalty = self.activity_regularizer(output)
                    if jnp.ndim(output) > 0:
                        # Keras averages the penalty over the batch.
                        penalty = penalty / jnp.asarray(
                            jnp.shape(output)[0], dtype=jnp.result_type(penalty)
                        )
                    self.add_loss(penalty)
        return outputs

    # Whether a symbolic call's output spec is a function of the layer's
    # class, config and inputs alone (true of kiln's built-in layers, which
    # only these flags turn off); other layers are always traced.
    _output_spec_from_config = True

    def _output_spec_key(self, training: Any) -> Any:
        if not _spec_follows_config(self):
            return None
        cls = type(self)
        try:
            config = dict(self.get_config())
            config.pop("name", None)
            frozen = json.dumps(config, sort_keys=True)
        except (TypeError, ValueError, NotImplementedError):
            return None  # a config that is not plain JSON: not keyed
        return cls, frozen, training

    def _symbolic_call(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], training: Any
    ) -> Any:
        from kiln._src.ops.node import Node
        from kiln._src.ops.operation import compute_output_spec, memoized_output_spec

        if not self.built:
            self._maybe_build(args, kwargs)
        input_masks = input_mask_structure(args[0])
        has_mask = input_masks is not None
        pass_mask = has_mask and self._call_has_mask_arg and "mask" not in kwargs

        def run(*call_args: Any, **call_kwargs: Any) -> Any:
            if self._call_has_training_arg and training is not None:
                call_kwargs["training"] = training
            with call_context.call_context_scope(call_context.CallContext(training)):
                return self.call(*call_args, **call_kwargs)

        call_kwargs = dict(kwargs)
        if pass_mask:
            call_kwargs["mask"] = input_masks
        outputs = memoized_output_spec(
            self._output_spec_key(training), run, *args, **call_kwargs
        )
        Node(self, call_args=args, call_kwargs=kwargs, outputs=outputs)
        if self._propagates_masks() and (
            has_mask or type(self).compute_mask is not Layer.compute_mask
        ):
            output_mask = compute_output_spec(self.compute_mask, args[0], input_masks)
            attach_masks(outputs, output_mask)
        return outputs

    def call(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f"Layer {type(self).__name__} does not implement `call()`. Define "
            "`call(self, inputs)` to compute the layer's output."
        )

    def stateless_call(
        self,
        trainable_variables: list[Any],
        non_trainable_variables: list[Any],
        *args: Any,
        return_losses: bool = False,
        return_masks: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Calls the layer as a pure function of the given variable values.

        Returns ``(outputs, non_trainable_values)``, then the losses added
        during the call when `return_losses`, then the outputs' masks (None
        when there are none) when `return_masks`.
        """
        trainable = self.trainable_variables
        non_trainable = self.non_trainable_variables
        mapping = list(zip(trainable, trainable_variables)) + list(
            zip(non_trainable, non_trainable_variables)
        )
        context = call_context.CallContext(kwargs.get("training"))
        with StatelessScope(mapping) as scope, call_context.call_context_scope(context):
            outputs = self(*args, **kwargs)
            losses = context.losses + self._weight_regularization_losses()
            new_non_trainable = [scope.get_current_value(v) for v in non_trainable]
        result = (outputs, new_non_trainable)
        if return_losses:
            result += (losses,)
        if return_masks:
            result += (context.output_masks,)
        return result

    def compute_output_spec(self, *args: Any, **kwargs: Any) -> Any:
        from kiln._src.ops.operation import compute_output_spec

        return compute_output_spec(self.call, *args, **kwargs)

    def compute_mask(self, inputs: Any, previous_mask: Any = None) -> Any:
        """The mask of this layer's output (which timesteps are real).

        By default a layer that `supports_masking` passes its input's mask on
        unchanged, and any other layer drops it.
        """
        return previous_mask if self.supports_masking else None

    def _propagates_masks(self) -> bool:
        return (
            self.supports_masking or type(self).compute_mask is not Layer.compute_mask
        )

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The output shape for `input_shape` (building the layer if needed)."""
        symbolic_input = KerasTensor(input_shape)
        if not self.built:
            self._maybe_build((symbolic_input,), {})
        spec = self.compute_output_spec(symbolic_input)
        return jax.tree_util.tree_map(lambda t: t.shape, spec, is_leaf=_is_tensor_like)

    # -- graph views ------------------------------------------------------------
    @property
    def input(self) -> Any:
        return self._node_attribute("arguments_args", "input")[0]

    @property
    def output(self) -> Any:
        return self._node_attribute("outputs", "output")

    def _node_attribute(self, attribute: str, what: str) -> Any:
        if not self._inbound_nodes:
            raise AttributeError(
                f"Layer '{self.name}' has never been called on a symbolic input, "
                f"so it has no defined {what}."
            )
        return getattr(self._inbound_nodes[0], attribute)

    @property
    def output_shape_for_summary(self) -> Any:
        if not self._inbound_nodes:
            return None
        return jax.tree_util.tree_map(
            lambda t: t.shape, self._inbound_nodes[-1].outputs, is_leaf=_is_tensor_like
        )

    # -- config -------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        from kiln._src.saving.serialization_lib import serialize_keras_object

        config: dict[str, Any] = {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": serialize_keras_object(self._dtype_policy),
        }
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = serialize_keras_object(
                self.activity_regularizer
            )
        if type(self).get_config is Layer.get_config and type(self) is not Layer:
            auto = self._auto_config
            if auto is None or not _is_plain(
                {
                    k: v
                    for k, v in auto.items()
                    if k not in ("name", "trainable", "dtype")
                }
            ):
                raise NotImplementedError(
                    f"Layer {type(self).__name__} cannot be serialized: its "
                    "__init__ takes arguments that are not plain values "
                    "(str/int/float/bool/None), so kiln cannot record them "
                    "automatically. Write a `get_config()` method that returns "
                    "every __init__ argument (and a `from_config()` classmethod "
                    "that deserializes any object among them)."
                )
            # The base keys stay as serialized above (a reloaded layer got its
            # dtype as a policy object), as in Keras.
            config.update({k: v for k, v in auto.items() if k not in config})
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        config = dict(config)
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = dtype_policy.get(config["dtype"])
        try:
            return cls(**config)
        except TypeError as error:
            raise TypeError(
                f"Error when deserializing class '{cls.__name__}' using config="
                f"{config}.\n\nException encountered: {error}"
            ) from error

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def input_mask_structure(inputs: Any) -> Any:
    """The symbolic masks of `inputs` (same structure), or None if none has one."""
    leaves = jax.tree_util.tree_leaves(inputs, is_leaf=_is_tensor_like)
    if not any(getattr(x, "_keras_mask", None) is not None for x in leaves):
        return None
    return jax.tree_util.tree_map(
        lambda x: getattr(x, "_keras_mask", None), inputs, is_leaf=_is_tensor_like
    )


def attach_masks(outputs: Any, masks: Any) -> None:
    """Sets ``_keras_mask`` on symbolic outputs (one mask for all, or one each)."""
    flat_outputs = jax.tree_util.tree_leaves(outputs, is_leaf=_is_tensor_like)
    # None entries count: `[mask, None]` gives the first of two outputs a mask.
    flat_masks = jax.tree_util.tree_leaves(
        masks, is_leaf=lambda x: x is None or _is_tensor_like(x)
    )
    if len(flat_masks) == len(flat_outputs):
        pairs = zip(flat_outputs, flat_masks)
    elif len(flat_masks) == 1:
        pairs = ((output, flat_masks[0]) for output in flat_outputs)
    else:
        return
    for output, mask in pairs:
        if isinstance(output, KerasTensor):
            output._keras_mask = mask


def _wrap_build(build: Any) -> Any:
    """Makes a subclass's `build` mark the layer built and record the shapes it
    was built for (its `build_config`), also when users call it directly."""
    import functools

    @functools.wraps(build)
    def wrapper(self: Layer, *args: Any, **kwargs: Any) -> Any:
        result = build(self, *args, **kwargs)
        if self._build_shapes is None:
            if kwargs and not args:
                self._build_shapes = {"shapes_dict": dict(kwargs)}
            elif args:
                self._build_shapes = {"input_shape": args[0]}
        self.built = True
        return result

    wrapper._kiln_build_wrapper = True  # type: ignore[attr-defined]
    return wrapper


_UNTRACKED_ATTRIBUTES = frozenset(
    {"_inbound_nodes", "_outbound_nodes", "_auto_config", "_shape_kwargs", "_losses"}
)


def _is_tensor_like(x: Any) -> bool:
    return hasattr(x, "shape") and hasattr(x, "dtype")


def _shapes_to_lists(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_shapes_to_lists(v) for v in value]
    if isinstance(value, list):
        return [_shapes_to_lists(v) for v in value]
    if isinstance(value, dict):
        return {k: _shapes_to_lists(v) for k, v in value.items()}
    return value


def _lists_to_shapes(value: Any) -> Any:
    """``[None, 4]`` -> ``(None, 4)``; a list of such lists -> list of tuples."""
    if isinstance(value, list | tuple):
        if all(v is None or isinstance(v, int) for v in value):
            return tuple(value)
        return [_lists_to_shapes(v) for v in value]
    if isinstance(value, dict):
        return {k: _lists_to_shapes(v) for k, v in value.items()}
    return value
