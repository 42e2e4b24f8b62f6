"""Metrics: the `Metric` base class, running reductions and built-in metrics."""

from kiln._src.metrics.accuracy_metrics import (
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
)
from kiln._src.metrics.lookup import deserialize, get, serialize
from kiln._src.metrics.metric import Metric
from kiln._src.metrics.reduction_metrics import Mean, MeanMetricWrapper

__all__ = [
    "BinaryAccuracy",
    "CategoricalAccuracy",
    "Mean",
    "Metric",
    "MeanMetricWrapper",
    "SparseCategoricalAccuracy",
    "deserialize",
    "get",
    "serialize",
]
