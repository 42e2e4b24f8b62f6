"""Hinge metrics: running means of the hinge, squared hinge and categorical
hinge losses."""

from __future__ import annotations

from typing import Any

from kiln._src.api_export import keras_export
from kiln._src.losses.hinge_losses import categorical_hinge, hinge, squared_hinge
from kiln._src.metrics.reduction_metrics import MeanMetricWrapper


@keras_export("keras.metrics.Hinge")
class Hinge(MeanMetricWrapper):
    """The running mean of ``mean(maximum(1 - y_true * y_pred, 0), axis=-1)``.

    Args:
        name: the metric's name.
        dtype: the dtype of the state and result.
    """

    def __init__(self, name: str = "hinge", dtype: Any = None):
        super().__init__(fn=hinge, name=name, dtype=dtype)
        self._direction = "down"

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}


@keras_export("keras.metrics.SquaredHinge")
class SquaredHinge(MeanMetricWrapper):
    """The running mean of the squared hinge loss.

    Args:
        name: the metric's name.
        dtype: the dtype of the state and result.
    """

    def __init__(self, name: str = "squared_hinge", dtype: Any = None):
        super().__init__(fn=squared_hinge, name=name, dtype=dtype)
        self._direction = "down"

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}


@keras_export("keras.metrics.CategoricalHinge")
class CategoricalHinge(MeanMetricWrapper):
    """The running mean of the categorical hinge loss.

    Args:
        name: the metric's name.
        dtype: the dtype of the state and result.
    """

    def __init__(self, name: str = "categorical_hinge", dtype: Any = None):
        super().__init__(fn=categorical_hinge, name=name, dtype=dtype)
        self._direction = "down"

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}
