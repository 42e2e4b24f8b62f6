"""`Sequential`: a plain stack of layers, each feeding the next."""

from __future__ import annotations

from typing import Any

from kiln._src.api_export import keras_export
from kiln._src.backend import tracking
from kiln._src.backend.keras_tensor import KerasTensor
from kiln._src.layers.core.input_layer import InputLayer
from kiln._src.layers.layer import Layer
from kiln._src.models.model import Model


@keras_export(["keras.Sequential", "keras.models.Sequential"])
class Sequential(Model):
    """A model made of a list of single-input, single-output layers.

    Give it an `Input` first (or `input_shape=` on the first layer) to build it
    at once; otherwise it builds on its first call or `build(input_shape)`.

    Args:
        layers: the layers, in order (a `keras.Input(...)` may come first).
        trainable: whether its weights are trained.
        name: the model's name.

    Example:
        >>> model = keras.Sequential([keras.Input((32,)), keras.layers.Dense(1)])
    """

    def __init__(
        self,
        layers: list[Any] | None = None,
        trainable: bool = True,
        name: str | None = None,
    ):
        super().__init__(trainable=trainable, name=name)
        self._layers_list: list[Layer] = []
        # The names in _layers_list, kept with it, so each add is O(1) and
        # a stack of n layers is built in O(n) (a file chooses n).
        self._layer_names: set[str] = set()
        self._functional = None
        for layer in layers or []:
            self.add(layer, rebuild=False)
        if layers:
            self._maybe_rebuild()

    # -- structure ---------------------------------------------------------------
    def add(self, layer: Any, rebuild: bool = True) -> None:
        """Appends a layer (or a `keras.Input` tensor) to the stack."""
        if isinstance(layer, KerasTensor):
            origin = layer._keras_history[0] if layer._keras_history else None
            if not isinstance(origin, InputLayer):
                raise ValueError(
                    "Only the output of `keras.Input` may be added to a Sequential "
                    f"model as a tensor. Received: {layer}"
                )
            layer = origin
        if not isinstance(layer, Layer):
            raise ValueError(
                "Only instances of `keras.layers.Layer` can be added to a "
                f"Sequential model. Received: {layer!r} (of type {type(layer)})"
            )
        if isinstance(layer, InputLayer) and self._layers_list:
            if isinstance(self._layers_list[0], InputLayer):
                raise ValueError(
                    f"Sequential model '{self.name}' already has an Input; it cannot "
                    "take a second one."
                )
            raise ValueError(
                "An Input can only be the first entry of a Sequential model. "
                f"Received it after {len(self._layers_list)} layer(s)."
            )
        if not self._layers_list and not isinstance(layer, InputLayer):
            shape_kwargs = getattr(layer, "_shape_kwargs", {})
            batch_shape = _batch_shape_from_kwargs(shape_kwargs)
            if batch_shape is not None:
                self._append(InputLayer(batch_shape=batch_shape))
        if layer.name in self._layer_names:
            raise ValueError(
                f"All layers added to a Sequential model should have unique names. "
                f'Name "{layer.name}" is already the name of a layer in this model. '
                "Update the `name` argument to pass a unique name."
            )
        self._append(layer)
        tracking.bump()
        self._functional = None
        if rebuild:
            self._maybe_rebuild()
        else:
            self.built = False

    def _append(self, layer: Layer) -> None:
        self._layers_list.append(layer)
        self._layer_names.add(layer.name)

    def pop(self, rebuild: bool = True) -> Layer:
        """Removes and returns the last layer."""
        if not self.layers:
            raise TypeError("There are no layers in the model to pop.")
        layer = self._layers_list.pop()
        self._layer_names.discard(layer.name)
        tracking.bump()
        self._functional = None
        self.built = False
        if rebuild:
            self._maybe_rebuild()
        return layer

    def _maybe_rebuild(self) -> None:
        self.built = False
        self._functional = None
        if self._layers_list and isinstance(self._layers_list[0], InputLayer):
            batch_shape = self._layers_list[0].batch_shape
            self._build_graph(self._layers_list[0].output, batch_shape)

    def _build_graph(self, inputs: KerasTensor, batch_shape: tuple[Any, ...]) -> None:
        from kiln._src.models.functional import Functional

        x = inputs
        for layer in self._layers_list[1:]:
            x = layer(x)
        self._functional = Functional(
            inputs=inputs, outputs=x, name=self.name + "_graph"
        )
        self._build_shapes = {"input_shape": batch_shape}
        self.built = True

    def build(self, input_shape: Any = None) -> None:
        if input_shape is None:
            raise ValueError(
                f"Sequential model '{self.name}' cannot build without an input "
                "shape: add a keras.Input first, call model.build((None, ...)), or "
                "call the model on data."
            )
        if not self._layers_list:
            raise ValueError(
                f"Sequential model '{self.name}' has no layers to build. Add layers "
                "first."
            )
        if isinstance(self._layers_list[0], InputLayer):
            if self._layers_list[0].batch_shape != tuple(input_shape):
                raise ValueError(
                    f"Sequential model '{self.name}' already has an Input of shape "
                    f"{self._layers_list[0].batch_shape}; cannot build it for "
                    f"{tuple(input_shape)}."
                )
        else:
            input_layer = InputLayer(batch_shape=tuple(input_shape))
            self._layers_list.insert(0, input_layer)
            self._layer_names.add(input_layer.name)
            tracking.bump()
        self._maybe_rebuild()

    def _maybe_build(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if self.built:
            return
        shape = tuple(args[0].shape)
        self.build((None, *shape[1:]))

    @property
    def layers(self) -> list[Layer]:
        # Only the first entry can be an InputLayer (`add` makes sure).
        if self._layers_list and isinstance(self._layers_list[0], InputLayer):
            return self._layers_list[1:]
        return list(self._layers_list)

    def _sublayers(self) -> list[Layer]:
        return self.layers

    @property
    def inputs(self) -> Any:
        return [self._functional.inputs] if self._functional else None

    @property
    def outputs(self) -> Any:
        return [self._functional.outputs] if self._functional else None

    @property
    def input_shape(self) -> Any:
        return self._functional.input_shape if self._functional else None

    @property
    def output_shape(self) -> Any:
        return self._functional.output_shape if self._functional else None

    @property
    def _outputs_struct(self) -> Any:
        return self._functional._outputs_struct if self._functional else None

    def get_config(self) -> dict[str, Any]:
        return _sequential_config(self)

    @classmethod
    def from_config(
        cls, config: dict[str, Any], custom_objects: Any = None
    ) -> Sequential:
        from kiln._src.saving.serialization_lib import deserialize_keras_object

        layer_configs = config.get("layers")
        if not isinstance(layer_configs, list):
            raise ValueError(
                "A Sequential config needs a 'layers' list. Received keys: "
                f"{sorted(config)}"
            )
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for layer_config in layer_configs:
            layer = deserialize_keras_object(
                layer_config, custom_objects=custom_objects
            )
            model.add(layer, rebuild=False)
        model._maybe_rebuild()
        build_input_shape = config.get("build_input_shape")
        if not model.built and isinstance(build_input_shape, list | tuple):
            model.build(tuple(build_input_shape))
        return model

    def call(self, inputs: Any, training: Any = None, mask: Any = None) -> Any:
        if self._functional is not None:
            return self._functional.call(inputs, training=training)
        x = inputs
        for layer in self.layers:
            x = (
                layer(x, training=training)
                if layer._call_has_training_arg
                else layer(x)
            )
        return x


def _sequential_config(model: Sequential) -> dict[str, Any]:
    from kiln._src.saving.serialization_lib import serialize_keras_object

    config: dict[str, Any] = {
        "name": model.name,
        "trainable": model.trainable,
        "dtype": serialize_keras_object(model.dtype_policy),
        "layers": [serialize_keras_object(layer) for layer in model._layers_list],
    }
    if model.built and model._build_shapes:
        config["build_input_shape"] = list(model._build_shapes["input_shape"])
    return config


def _batch_shape_from_kwargs(shape_kwargs: dict[str, Any]) -> tuple[Any, ...] | None:
    if "batch_input_shape" in shape_kwargs:
        return tuple(shape_kwargs["batch_input_shape"])
    if "input_shape" in shape_kwargs:
        shape = shape_kwargs["input_shape"]
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        return (shape_kwargs.get("batch_size"), *shape)
    if "input_dim" in shape_kwargs:
        return (shape_kwargs.get("batch_size"), shape_kwargs["input_dim"])
    return None
