"""`Model`: a `Layer` that can be trained (`compile`/`fit`), summarized and saved.

``keras.Model(inputs, outputs)`` returns a `Functional`; subclasses define
their layers in ``__init__`` and their computation in ``call``.
"""

from __future__ import annotations

import json
from typing import Any

from kiln._src.api_export import keras_export
from kiln._src.backend.keras_tensor import KerasTensor
from kiln._src.backend.stateless_scope import StatelessScope
from kiln._src.layers.layer import Layer
from kiln._src.trainers.trainer import Trainer


def _is_functional_call(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    return (
        (len(args) == 2)
        or (len(args) == 1 and "outputs" in kwargs)
        or ("inputs" in kwargs and "outputs" in kwargs)
    )


@keras_export(["keras.Model", "keras.models.Model"])
class Model(Trainer, Layer):
    """A trainable graph of layers.

    Use it in one of two ways: ``keras.Model(inputs, outputs)`` for a Functional
    model, or subclass it and define ``call``.

    Example:
        >>> inputs = keras.Input(shape=(32,))
        >>> outputs = keras.layers.Dense(1)(inputs)
        >>> model = keras.Model(inputs, outputs)
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Model:
        if cls is Model and _is_functional_call(args, kwargs):
            from kiln._src.models.functional import Functional

            return Functional.__new__(Functional, *args, **kwargs)
        return super().__new__(cls, *args, **kwargs)

    def __init__(self, *args: Any, **kwargs: Any):
        if args or "inputs" in kwargs or "outputs" in kwargs:
            raise TypeError(
                f"{type(self).__name__} got positional or inputs/outputs arguments, "
                "which only `keras.Model(inputs, outputs)` takes. Subclasses define "
                "their layers in __init__ and call `super().__init__(name=...)`."
            )
        Trainer.__init__(self)
        Layer.__init__(self, **kwargs)
        # A subclassed model builds lazily, on its first call.
        self.built = False

    @property
    def layers(self) -> list[Layer]:
        return self._sublayers()

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """Returns a layer by `name` or by position `index` in `model.layers`."""
        if (name is None) == (index is None):
            raise ValueError(
                "Provide exactly one of `name` or `index` to get_layer(). "
                f"Received: name={name!r}, index={index!r}"
            )
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(
                    f"Was asked to retrieve layer at index {index} but model only "
                    f"has {len(layers)} layers."
                )
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(
            f"No such layer: {name}. Existing layers are: "
            f"{[layer.name for layer in layers]}."
        )

    def build(self, input_shape: Any = None) -> None:
        """Creates the variables by running the model on a symbolic input of
        `input_shape` (a shape, or a list/dict of shapes)."""
        if input_shape is None:
            raise ValueError(
                f"Model '{self.name}' cannot build without an input shape. Pass "
                "`input_shape`, e.g. model.build((None, 32)), or call the model on "
                "data."
            )
        if type(self).call is Model.call:
            raise ValueError(f"Model '{self.name}' has no `call` to build with.")
        import jax

        specs = _shapes_to_specs(input_shape)
        with StatelessScope(symbolic=True):
            jax.eval_shape(lambda x: self.call(x), specs)
        self._build_shapes = {"input_shape": input_shape}
        self.built = True

    def _maybe_build(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if self.built:
            return
        if type(self).build is not Model.build:
            super()._maybe_build(args, kwargs)
            return
        # Sub-layers build themselves during this first call; record the shape
        # for build_config like Keras does.
        import jax

        shape = jax.tree_util.tree_map(lambda x: tuple(x.shape), args[0])
        self._build_shapes = {"input_shape": shape}
        self.built = True

    def summary(
        self,
        line_length: int | None = None,
        positions: Any = None,
        print_fn: Any = None,
        expand_nested: bool = False,
        show_trainable: bool = False,
        layer_range: Any = None,
    ) -> None:
        """Prints a table of the layers, their output shapes and parameters."""
        from kiln._src.utils.summary_utils import print_summary

        print_summary(
            self,
            line_length=line_length,
            positions=positions,
            print_fn=print_fn,
            expand_nested=expand_nested,
            show_trainable=show_trainable,
            layer_range=layer_range,
        )

    def save(
        self,
        filepath: Any,
        overwrite: bool = True,
        zipped: bool | None = None,
        **kwargs: Any,
    ) -> None:
        """Saves the model to a `.keras` file; see `keras.saving.save_model`."""
        from kiln._src.saving.saving_api import save_model

        save_model(self, filepath, overwrite=overwrite, zipped=zipped, **kwargs)

    def save_weights(
        self, filepath: Any, overwrite: bool = True, max_shard_size: Any = None
    ) -> None:
        """Saves the weights to a `.weights.h5` file."""
        from kiln._src.saving.saving_api import save_weights

        save_weights(self, filepath, overwrite=overwrite, max_shard_size=max_shard_size)

    def load_weights(
        self,
        filepath: Any,
        skip_mismatch: bool = False,
        limits: Any = None,
        **kwargs: Any,
    ) -> None:
        """Loads weights saved by `save_weights` (or a `.keras` file's);
        ``limits``: a `kiln.saving.LoadLimits` raising the size caps."""
        from kiln._src.saving.saving_api import load_weights

        load_weights(
            self, filepath, skip_mismatch=skip_mismatch, limits=limits, **kwargs
        )

    def to_json(self, **kwargs: Any) -> str:
        """The model's architecture as a JSON string (no weights)."""
        from kiln._src.saving.serialization_lib import serialize_keras_object

        return json.dumps(serialize_keras_object(self), **kwargs)

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> Model:
        from kiln._src.models.functional import Functional
        from kiln._src.models.functional_config import functional_from_config

        functional_keys = {"name", "layers", "input_layers", "output_layers"}
        if (cls is Model or issubclass(cls, Functional)) and functional_keys <= set(
            config
        ):
            return functional_from_config(Functional, config, custom_objects)
        return super().from_config(config)


def _shapes_to_specs(shape: Any) -> Any:
    if isinstance(shape, dict):
        return {k: _shapes_to_specs(v) for k, v in shape.items()}
    if isinstance(shape, list) and shape and isinstance(shape[0], list | tuple):
        return [_shapes_to_specs(s) for s in shape]
    import jax
    import numpy as np

    concrete = tuple(1 if d is None else d for d in shape)
    return jax.ShapeDtypeStruct(concrete, np.float32)


_ = KerasTensor  # re-exported for type checkers
