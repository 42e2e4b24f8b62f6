"""`ReLU`: the rectified linear unit, with optional cap, slope and threshold."""

from __future__ import annotations

from typing import Any

from kiln._src.activations import activations
from kiln._src.api_export import keras_export
from kiln._src.layers.layer import Layer


@keras_export("keras.layers.ReLU")
class ReLU(Layer):
    """``f(x) = max_value`` for ``x >= max_value``, ``x`` for
    ``threshold <= x < max_value``, ``negative_slope * (x - threshold)``
    otherwise.

    Args:
        max_value: a float >= 0, the largest output (None: no cap).
        negative_slope: a float >= 0, the slope below the threshold.
        threshold: a float >= 0, below which the output is damped.

    Example:
        >>> keras.layers.ReLU(max_value=1.0)(np.array([-1.0, 0.5, 2.0]))
        Array([0. , 0.5, 1. ], dtype=float32)
    """

    def __init__(
        self,
        max_value: float | None = None,
        negative_slope: float = 0.0,
        threshold: float = 0.0,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if max_value is not None and max_value < 0.0:
            raise ValueError(
                "`max_value` of a ReLU layer must be None or a non-negative "
                f"value. Received: max_value={max_value}"
            )
        if negative_slope is None or negative_slope < 0.0:
            raise ValueError(
                "`negative_slope` of a ReLU layer must be a non-negative "
                f"value (not None). Received: negative_slope={negative_slope}"
            )
        if threshold is None or threshold < 0.0:
            raise ValueError(
                "`threshold` of a ReLU layer must be a non-negative value "
                f"(not None). Received: threshold={threshold}"
            )
        self.max_value = max_value
        self.negative_slope = negative_slope
        self.threshold = threshold
        self.supports_masking = True

    def call(self, inputs: Any) -> Any:
        return activations.relu(
            inputs,
            negative_slope=self.negative_slope,
            max_value=self.max_value,
            threshold=self.threshold,
        )

    def compute_output_shape(self, input_shape: Any) -> Any:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "max_value": self.max_value,
                "negative_slope": self.negative_slope,
                "threshold": self.threshold,
            }
        )
        return config
