import keras
import numpy as np
import pytest

from kiln._src.losses import regression_losses as reg

REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none"]


def _data(shape, positive, seed=0):
    rng = np.random.default_rng(seed)
    if positive:
        return (
            rng.uniform(0.1, 3.0, size=shape).astype("float32"),
            rng.uniform(0.1, 3.0, size=shape).astype("float32"),
        )
    return (
        rng.normal(size=shape).astype("float32"),
        rng.normal(size=shape).astype("float32"),
    )


# (kiln class, Keras class, constructor kwargs, needs positive inputs)
CASES = {
    "mse": (reg.MeanSquaredError, keras.losses.MeanSquaredError, {}, False),
    "mae": (reg.MeanAbsoluteError, keras.losses.MeanAbsoluteError, {}, False),
    "mape": (
        reg.MeanAbsolutePercentageError,
        keras.losses.MeanAbsolutePercentageError,
        {},
        True,
    ),
    "msle": (
        reg.MeanSquaredLogarithmicError,
        keras.losses.MeanSquaredLogarithmicError,
        {},
        False,
    ),
    "huber": (reg.Huber, keras.losses.Huber, {}, False),
    "huber_delta": (reg.Huber, keras.losses.Huber, {"delta": 0.3}, False),
    "log_cosh": (reg.LogCosh, keras.losses.LogCosh, {}, False),
    "cosine": (reg.CosineSimilarity, keras.losses.CosineSimilarity, {}, False),
    "cosine_axis0": (
        reg.CosineSimilarity,
        keras.losses.CosineSimilarity,
        {"axis": 0},
        False,
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weights", [None, "per_sample", "column", "scalar"])
def test_matches_keras(case, reduction, weights):
    ours_cls, theirs_cls, kwargs, positive = CASES[case]
    y_true, y_pred = _data((4, 3), positive)
    sample_weight = {
        None: None,
        "per_sample": np.array([0.5, 1.0, 0.0, 2.0], "float32"),
        "column": np.array([[0.5], [1.0], [0.0], [2.0]], "float32"),
        "scalar": np.float32(0.7),
    }[weights]
    ours = ours_cls(reduction=reduction, **kwargs)
    theirs = theirs_cls(reduction=reduction, **kwargs)
    try:
        expected = theirs(y_true, y_pred, sample_weight=sample_weight)
    except Exception:  # e.g. per-sample weights against axis=0 similarities
        with pytest.raises(Exception):  # noqa: B017
            ours(y_true, y_pred, sample_weight=sample_weight)
        return
    result = ours(y_true, y_pred, sample_weight=sample_weight)
    assert result.shape == tuple(expected.shape)
    np.testing.assert_allclose(result, expected, rtol=1e-6, atol=1e-6)
    assert ours.get_config() == theirs.get_config()


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize(
    "shapes",
    [((4, 3), (4, 3)), ((4,), (4, 1)), ((4, 1), (4,)), ((2, 3, 5), (2, 3, 5))],
    ids=str,
)
def test_functions_match_keras_on_shapes(case, shapes):
    ours_cls, _, kwargs, positive = CASES[case]
    name = ours_cls(**kwargs).fn.__name__
    ours_fn = getattr(reg, name)
    theirs_fn = getattr(keras.losses, name)
    y_true, _ = _data(shapes[0], positive, seed=1)
    _, y_pred = _data(shapes[1], positive, seed=2)
    expected = theirs_fn(y_true, y_pred, **kwargs)
    result = ours_fn(y_true, y_pred, **kwargs)
    assert result.shape == tuple(expected.shape)
    np.testing.assert_allclose(result, expected, rtol=1e-6, atol=1e-6)


def test_hand_computed_values():
    y_true = [[0.0, 1.0], [0.0, 0.0]]
    y_pred = [[1.0, 1.0], [1.0, 0.0]]
    np.testing.assert_allclose(reg.mean_squared_error(y_true, y_pred), [0.5, 0.5])
    np.testing.assert_allclose(reg.mean_absolute_error(y_true, y_pred), [0.5, 0.5])
    assert float(reg.MeanSquaredError()(y_true, y_pred)) == pytest.approx(0.5)
    # MAPE divides by max(|y_true|, eps): |(2 - 1) / 2| = 0.5 -> 50%.
    np.testing.assert_allclose(
        reg.mean_absolute_percentage_error([[2.0, 4.0]], [[1.0, 4.0]]), [25.0]
    )
    # MSLE: (log(2) - log(1))**2 averaged with a zero.
    np.testing.assert_allclose(
        reg.mean_squared_logarithmic_error([[1.0, 0.0]], [[0.0, 0.0]]),
        [np.log(2.0) ** 2 / 2],
        rtol=1e-5,
    )
    # Huber, delta=1: errors 3 -> 3 - 0.5 = 2.5; 0.5 -> 0.125.
    np.testing.assert_allclose(reg.huber([[0.0, 1.0]], [[3.0, 1.5]]), [1.3125])
    np.testing.assert_allclose(
        reg.huber([[0.0]], [[3.0]], delta=2.0), [2.0 * 3.0 - 0.5 * 4.0]
    )
    np.testing.assert_allclose(
        reg.log_cosh([[0.0, 0.0]], [[1.0, -2.0]]),
        [(np.log(np.cosh(1.0)) + np.log(np.cosh(2.0))) / 2],
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        reg.cosine_similarity(
            [[0.0, 1.0], [1.0, 1.0], [0.0, 0.0]], [[1.0, 0.0], [2.0, 2.0], [1.0, 1.0]]
        ),
        [0.0, -1.0, 0.0],
        atol=1e-6,
    )


def test_configs_and_names_match_keras():
    for name, (ours_cls, theirs_cls, kwargs, _) in CASES.items():
        ours, theirs = ours_cls(**kwargs), theirs_cls(**kwargs)
        assert ours.get_config() == theirs.get_config(), name
        assert ours.name == theirs.name
        clone = ours_cls.from_config(ours.get_config())
        assert clone.get_config() == ours.get_config()
    custom = reg.Huber(delta=2.0, reduction="sum", name="h", dtype="float16")
    assert custom.get_config() == {"name": "h", "reduction": "sum"}
    assert custom.dtype == "float16"
