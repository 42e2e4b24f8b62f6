"""`Embedding`: maps integer indices to dense vectors."""

from __future__ import annotations

import warnings
from typing import Any

import jax.numpy as jnp

from kiln._src import constraints, initializers, regularizers
from kiln._src.api_export import keras_export
from kiln._src.layers.layer import Layer
from kiln._src.saving.serialization_lib import serialize_keras_object


def _check_positive_int(value: Any, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(
            f"`{name}` must be a positive integer. Received: {name}={value!r} "
            f"(of type {type(value).__name__})."
        )


@keras_export("keras.layers.Embedding")
class Embedding(Layer):
    """Turns non-negative integer indices into vectors: row ``i`` of the
    ``(input_dim, output_dim)`` matrix `embeddings` for index ``i``.

    Args:
        input_dim: the vocabulary size (largest index + 1).
        output_dim: the size of each vector.
        embeddings_initializer: initializer of the matrix (default ``"uniform"``,
            uniform in [-0.05, 0.05]).
        embeddings_regularizer: penalty on the matrix, added to the loss.
        embeddings_constraint: constraint applied to the matrix after updates.
        mask_zero: whether index 0 is padding: the layer then outputs the mask
            ``inputs != 0`` for the layers after it (so 0 must not be a real
            index, and `input_dim` should be the vocabulary size + 1).
        weights: an optional initial matrix (or a one-element list of it).
        input_length: deprecated and ignored (Keras 2 argument).

    Example:
        >>> layer = keras.layers.Embedding(10, 4)
        >>> layer(np.array([[1, 2, 3]])).shape
        (1, 3, 4)
    """

    def __init__(
        self,
        input_dim: int,
        output_dim: int,
        embeddings_initializer: Any = "uniform",
        embeddings_regularizer: Any = None,
        embeddings_constraint: Any = None,
        mask_zero: bool = False,
        weights: Any = None,
        lora_rank: int | None = None,
        lora_alpha: float | None = None,
        quantization_config: Any = None,
        **kwargs: Any,
    ):
        _check_positive_int(input_dim, "input_dim")
        _check_positive_int(output_dim, "output_dim")
        if kwargs.pop("input_length", None) is not None:
            warnings.warn(
                "Argument `input_length` is deprecated and ignored. Remove it.",
                stacklevel=2,
            )
        if lora_rank or quantization_config is not None:
            raise NotImplementedError(
                "kiln's Embedding does not support LoRA or quantization yet. "
                f"Received: lora_rank={lora_rank}, "
                f"quantization_config={quantization_config}"
            )
        super().__init__(**kwargs)
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = mask_zero
        self.supports_masking = mask_zero
        self.autocast = False
        self.lora_rank = lora_rank
        self.lora_alpha = lora_alpha if lora_alpha is not None else lora_rank
        self.quantization_config = quantization_config
        if weights is not None:
            self.build()
            if not (isinstance(weights, list) and len(weights) == 1):
                weights = [weights]
            self.set_weights(weights)

    def build(self, input_shape: Any = None) -> None:
        if getattr(self, "_embeddings", None) is not None:
            return
        self._embeddings = self.add_weight(
            shape=(self.input_dim, self.output_dim),
            initializer=self.embeddings_initializer,
            name="embeddings",
            regularizer=self.embeddings_regularizer,
            constraint=self.embeddings_constraint,
            trainable=True,
        )
        self.built = True

    @property
    def embeddings(self) -> Any:
        """The ``(input_dim, output_dim)`` matrix (a `Variable`)."""
        if getattr(self, "_embeddings", None) is None:
            raise AttributeError(
                f"Embedding layer '{self.name}' is not built yet, so it has no "
                "`embeddings`. Call it on data or call `layer.build()` first."
            )
        return self._embeddings

    def call(self, inputs: Any) -> Any:
        inputs = jnp.asarray(inputs)
        if inputs.dtype not in (jnp.int32, jnp.int64):
            inputs = inputs.astype("int32")
        outputs = jnp.take(self.embeddings.value, inputs, axis=0)
        return outputs.astype(self.compute_dtype)

    def compute_mask(self, inputs: Any, previous_mask: Any = None) -> Any:
        if not self.mask_zero:
            return None
        return inputs != 0

    def compute_output_shape(self, input_shape: Any) -> Any:
        return (*input_shape, self.output_dim)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "input_dim": self.input_dim,
                "output_dim": self.output_dim,
                "embeddings_initializer": serialize_keras_object(
                    self.embeddings_initializer
                ),
                "embeddings_regularizer": serialize_keras_object(
                    self.embeddings_regularizer
                ),
                "activity_regularizer": serialize_keras_object(
                    self.activity_regularizer
                ),
                "embeddings_constraint": serialize_keras_object(
                    self.embeddings_constraint
                ),
                "mask_zero": self.mask_zero,
            }
        )
        # Keras 3.13+ also writes "quantization_config": null; like Dense,
        # kiln leaves that default-valued key out so older Keras 3 releases
        # (which reject unknown keys) load the file too.
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Embedding:
        config = dict(config)
        if config.get("quantization_config") is None:
            config.pop("quantization_config", None)
        return super().from_config(config)
