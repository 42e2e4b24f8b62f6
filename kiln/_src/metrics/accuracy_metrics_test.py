import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

from kiln._src.metrics import accuracy_metrics as acc

RNG = np.random.default_rng(0)


def _exact(n=6):
    y_true = RNG.integers(0, 3, size=(n, 1)).astype("float32")
    y_pred = np.where(RNG.uniform(size=(n, 1)) < 0.5, y_true, y_true + 1)
    return y_true, y_pred.astype("float32")


def _binary(n=6):
    return RNG.integers(0, 2, size=(n, 1)).astype("float32"), RNG.uniform(
        size=(n, 1)
    ).astype("float32")


def _binary_flat(n=6):
    return RNG.integers(0, 2, size=(n,)), RNG.uniform(size=(n, 1)).astype("float32")


def _one_hot(n=6, classes=5):
    return (
        np.eye(classes, dtype="float32")[RNG.integers(0, classes, size=n)],
        RNG.normal(size=(n, classes)).astype("float32"),
    )


def _sparse(n=6, classes=5):
    return RNG.integers(0, classes, size=(n,)), RNG.normal(size=(n, classes)).astype(
        "float32"
    )


def _sparse_column(n=6, classes=5):
    labels, y_pred = _sparse(n, classes)
    return labels[:, None], y_pred


def _sparse_sequence(n=6, classes=5):
    return RNG.integers(0, classes, size=(n, 3)), RNG.normal(
        size=(n, 3, classes)
    ).astype("float32")


def _tied(n=6, classes=5):
    y_true, _ = _one_hot(n, classes)
    return y_true, np.round(RNG.uniform(size=(n, classes)), 1).astype("float32")


def _sorted_ids(n=6, classes=5):
    labels = RNG.integers(0, classes, size=(n,))
    ids = np.stack([RNG.permutation(classes) for _ in range(n)])
    return labels, ids.astype("float32")


# (kiln class, Keras class, kwargs, data)
CASES = {
    "accuracy": (acc.Accuracy, keras.metrics.Accuracy, {}, _exact),
    "binary": (acc.BinaryAccuracy, keras.metrics.BinaryAccuracy, {}, _binary),
    "binary_flat_labels": (
        acc.BinaryAccuracy,
        keras.metrics.BinaryAccuracy,
        {},
        _binary_flat,
    ),
    "binary_threshold": (
        acc.BinaryAccuracy,
        keras.metrics.BinaryAccuracy,
        {"threshold": 0.8},
        _binary,
    ),
    "categorical": (
        acc.CategoricalAccuracy,
        keras.metrics.CategoricalAccuracy,
        {},
        _one_hot,
    ),
    "sparse": (
        acc.SparseCategoricalAccuracy,
        keras.metrics.SparseCategoricalAccuracy,
        {},
        _sparse,
    ),
    "sparse_column": (
        acc.SparseCategoricalAccuracy,
        keras.metrics.SparseCategoricalAccuracy,
        {},
        _sparse_column,
    ),
    "sparse_sequence": (
        acc.SparseCategoricalAccuracy,
        keras.metrics.SparseCategoricalAccuracy,
        {},
        _sparse_sequence,
    ),
    "top_k": (
        acc.TopKCategoricalAccuracy,
        keras.metrics.TopKCategoricalAccuracy,
        {"k": 2},
        _one_hot,
    ),
    "top_k_ties": (
        acc.TopKCategoricalAccuracy,
        keras.metrics.TopKCategoricalAccuracy,
        {"k": 2},
        _tied,
    ),
    "sparse_top_k": (
        acc.SparseTopKCategoricalAccuracy,
        keras.metrics.SparseTopKCategoricalAccuracy,
        {"k": 3},
        _sparse,
    ),
    "sparse_top_k_sequence": (
        acc.SparseTopKCategoricalAccuracy,
        keras.metrics.SparseTopKCategoricalAccuracy,
        {"k": 2},
        _sparse_sequence,
    ),
    "sparse_top_k_sorted_ids": (
        acc.SparseTopKCategoricalAccuracy,
        keras.metrics.SparseTopKCategoricalAccuracy,
        {"k": 2, "from_sorted_ids": True},
        _sorted_ids,
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("weighted", [False, True])
def test_matches_keras_over_three_updates(case, weighted):
    ours_cls, theirs_cls, kwargs, data = CASES[case]
    ours, theirs = ours_cls(**kwargs), theirs_cls(**kwargs)
    for _ in range(3):
        y_true, y_pred = data()
        weight = (
            RNG.uniform(size=(len(y_true),)).astype("float32") if weighted else None
        )
        ours.update_state(y_true, y_pred, sample_weight=weight)
        theirs.update_state(y_true, y_pred, sample_weight=weight)
        np.testing.assert_allclose(ours.result(), theirs.result(), rtol=1e-6)
    assert ours.get_config() == theirs.get_config()
    assert ours._direction == "up"
    ours.reset_state()
    assert float(ours.result()) == 0.0


@pytest.mark.parametrize("case", sorted(CASES))
def test_stateless_api_under_jit_matches_stateful(case):
    ours_cls, _, kwargs, data = CASES[case]
    metric = ours_cls(**kwargs)
    batches = [data() for _ in range(3)]
    step = jax.jit(metric.stateless_update_state)
    state = metric.stateless_reset_state()
    for y_true, y_pred in batches:
        state = step(state, jnp.asarray(y_true), jnp.asarray(y_pred))
        metric.update_state(y_true, y_pred)
    np.testing.assert_allclose(
        jax.jit(metric.stateless_result)(state), metric.result(), rtol=1e-6
    )


@pytest.mark.parametrize(
    "name",
    [
        "binary_accuracy",
        "categorical_accuracy",
        "sparse_categorical_accuracy",
        "top_k_categorical_accuracy",
        "sparse_top_k_categorical_accuracy",
    ],
)
def test_functions_match_keras(name):
    data = {
        "binary_accuracy": _binary,
        "categorical_accuracy": _one_hot,
        "sparse_categorical_accuracy": _sparse_column,
        "top_k_categorical_accuracy": _one_hot,
        "sparse_top_k_categorical_accuracy": _sparse,
    }[name]
    y_true, y_pred = data()
    expected = getattr(keras.metrics, name)(y_true, y_pred)
    result = getattr(acc, name)(y_true, y_pred)
    assert result.shape == tuple(expected.shape)
    np.testing.assert_allclose(result, expected)


def test_hand_computed_values():
    np.testing.assert_array_equal(
        acc.accuracy([1, 2, 3, 4], [0, 2, 3, 4]), [0, 1, 1, 1]
    )
    metric = acc.Accuracy()
    metric.update_state([[1], [2], [3], [4]], [[0], [2], [3], [4]])
    assert float(metric.result()) == 0.75
    metric.update_state([[1], [2]], [[1], [0]], sample_weight=[2.0, 0.0])
    assert float(metric.result()) == pytest.approx(5.0 / 6.0)

    binary = acc.BinaryAccuracy()
    binary.update_state([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]])
    assert float(binary.result()) == 0.75
    binary.update_state([[1], [0]], [[0.4], [0.2]], sample_weight=[1.0, 3.0])
    assert float(binary.result()) == pytest.approx(6.0 / 8.0)
    np.testing.assert_array_equal(
        acc.binary_accuracy([[1], [0]], [[0.7], [0.7]], threshold=0.8), [[0], [1]]
    )

    categorical = acc.CategoricalAccuracy()
    categorical.update_state([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
    assert float(categorical.result()) == 0.5
    categorical.update_state([[1, 0, 0]], [[0.5, 0.2, 0.3]], sample_weight=[2.0])
    assert float(categorical.result()) == pytest.approx(3.0 / 4.0)

    sparse = acc.SparseCategoricalAccuracy()
    sparse.update_state([[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]])
    sparse.update_state([0, 0], [[0.9, 0.1, 0.0], [0.1, 0.9, 0.0]])
    assert float(sparse.result()) == 0.5

    # The second target ranks third of three: in the top 2 only the first.
    np.testing.assert_array_equal(
        acc.top_k_categorical_accuracy(
            [[0, 0, 1], [1, 0, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0.5]], k=2
        ),
        [1, 0],
    )
    # Ties count in the target's favour.
    np.testing.assert_array_equal(
        acc.sparse_top_k_categorical_accuracy([2], [[0.5, 0.5, 0.5]], k=1), [1]
    )
    np.testing.assert_array_equal(
        acc.sparse_top_k_categorical_accuracy(
            [3, 7], [[3, 1, 2], [1, 2, 7]], k=2, from_sorted_ids=True
        ),
        [1, 0],
    )


def test_configs_match_keras():
    pairs = [
        (acc.Accuracy(name="a"), keras.metrics.Accuracy(name="a")),
        (
            acc.BinaryAccuracy(threshold=0.7),
            keras.metrics.BinaryAccuracy(threshold=0.7),
        ),
        (acc.CategoricalAccuracy(), keras.metrics.CategoricalAccuracy()),
        (acc.SparseCategoricalAccuracy(), keras.metrics.SparseCategoricalAccuracy()),
        (acc.TopKCategoricalAccuracy(k=3), keras.metrics.TopKCategoricalAccuracy(k=3)),
        (
            acc.SparseTopKCategoricalAccuracy(),
            keras.metrics.SparseTopKCategoricalAccuracy(),
        ),
        (
            acc.SparseTopKCategoricalAccuracy(from_sorted_ids=True),
            keras.metrics.SparseTopKCategoricalAccuracy(from_sorted_ids=True),
        ),
    ]
    for ours, theirs in pairs:
        assert ours.get_config() == theirs.get_config()
        clone = type(ours).from_config(ours.get_config())
        assert clone.get_config() == ours.get_config()
