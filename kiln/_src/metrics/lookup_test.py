import keras
import pytest

from kiln._src.losses.regression_losses import mean_squared_error
from kiln._src.metrics import lookup
from kiln._src.metrics.accuracy_metrics import Accuracy, BinaryAccuracy
from kiln._src.metrics.metric import Metric
from kiln._src.metrics.reduction_metrics import Mean, MeanMetricWrapper
from kiln._src.metrics.regression_metrics import MeanSquaredError

# Keras 3.15.1 metrics kiln does not implement yet (confusion-matrix, IoU,
# F-score, correlation metrics and R2Score).
NOT_YET = {
    "AUC",
    "FalseNegatives",
    "FalsePositives",
    "Precision",
    "PrecisionAtRecall",
    "Recall",
    "RecallAtPrecision",
    "SensitivityAtSpecificity",
    "SpecificityAtSensitivity",
    "TrueNegatives",
    "TruePositives",
    "ConcordanceCorrelation",
    "PearsonCorrelation",
    "F1Score",
    "FBetaScore",
    "IoU",
    "BinaryIoU",
    "MeanIoU",
    "OneHotIoU",
    "OneHotMeanIoU",
    "R2Score",
}
NOT_YET |= {keras.src.utils.naming.to_snake_case(name) for name in NOT_YET}
KERAS_NAMES = sorted(
    set(keras.src.metrics.ALL_OBJECTS_DICT)
    - NOT_YET
    - {"mean_metric_wrapper", "MeanMetricWrapper"}
)


@pytest.mark.parametrize("name", KERAS_NAMES)
def test_every_keras_name_resolves_like_keras(name):
    ours, theirs = lookup.get(name), keras.metrics.get(name)
    assert type(ours).__name__ == type(theirs).__name__
    assert ours.get_config() == theirs.get_config()


def test_names_give_metric_instances_like_keras():
    assert isinstance(lookup.get("accuracy"), Accuracy)
    assert isinstance(lookup.get("mse"), MeanSquaredError)
    assert isinstance(lookup.get("binary_accuracy"), BinaryAccuracy)
    with pytest.raises(TypeError):
        lookup.get("MeanMetricWrapper")  # needs `fn`, as in Keras
    for name in ["acc", "logcosh", "huber"]:
        with pytest.raises(ValueError):
            keras.metrics.get(name)
        with pytest.raises(ValueError, match="Could not interpret metric identifier"):
            lookup.get(name)


def test_unknown_name_error_suggests_valid_names():
    with pytest.raises(ValueError) as info:
        lookup.get("binary_acuracy")
    assert "Did you mean 'binary_accuracy'" in str(info.value)
    assert str(info.value).endswith("Received: identifier='binary_acuracy'")


def test_none_callables_instances_classes_and_dicts():
    assert lookup.get(None) is None
    assert lookup.get(mean_squared_error) is mean_squared_error
    metric = Mean(name="m")
    assert lookup.get(metric) is metric
    assert isinstance(lookup.get(Mean), Mean)
    binary = lookup.get({"class_name": "BinaryAccuracy", "config": {"threshold": 0.3}})
    assert isinstance(binary, BinaryAccuracy) and binary.threshold == 0.3


@pytest.mark.parametrize(
    "ours,theirs",
    [
        (Mean(name="m"), keras.metrics.Mean(name="m")),
        (BinaryAccuracy(threshold=0.2), keras.metrics.BinaryAccuracy(threshold=0.2)),
        (
            MeanMetricWrapper(mean_squared_error, name="w"),
            keras.metrics.MeanMetricWrapper(keras.losses.mean_squared_error, name="w"),
        ),
        (Metric(name="base"), keras.metrics.Metric(name="base")),
    ],
    ids=["Mean", "BinaryAccuracy", "MeanMetricWrapper", "Metric"],
)
def test_serialize_matches_keras_and_round_trips(ours, theirs):
    envelope = lookup.serialize(ours)
    assert envelope == keras.metrics.serialize(theirs)
    clone = lookup.deserialize(envelope)
    assert type(clone) is type(ours)
    assert clone.get_config() == ours.get_config()
    # Keras's own file loads into kiln.
    assert lookup.deserialize(keras.metrics.serialize(theirs)).get_config() == (
        ours.get_config()
    )


def test_deserialize_names():
    assert isinstance(lookup.deserialize("mse"), MeanSquaredError)
    assert isinstance(lookup.deserialize("Mean"), Mean)
