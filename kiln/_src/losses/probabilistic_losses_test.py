import warnings

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

from kiln._src.losses import probabilistic_losses as prob

REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none"]
RNG = np.random.default_rng(0)


def _binary(shape=(4, 3)):
    y_true = RNG.integers(0, 2, size=shape).astype("float32")
    probs = RNG.uniform(0.0, 1.0, size=shape).astype("float32")
    probs[0, 0], probs[1, 0] = 0.0, 1.0  # exercises the clipping
    return y_true, probs


def _logits(shape=(4, 3)):
    return RNG.integers(0, 2, size=shape).astype("float32"), RNG.normal(
        scale=3.0, size=shape
    ).astype("float32")


def _one_hot(shape=(4, 3)):
    labels = RNG.integers(0, shape[-1], size=shape[:-1])
    y_true = np.eye(shape[-1], dtype="float32")[labels]
    # Unnormalized probabilities: Keras rescales them to sum to one.
    y_pred = RNG.uniform(0.0, 2.0, size=shape).astype("float32")
    return y_true, y_pred


def _one_hot_logits(shape=(4, 3)):
    y_true, _ = _one_hot(shape)
    return y_true, RNG.normal(scale=2.0, size=shape).astype("float32")


def _sparse(shape=(4, 3)):
    labels = RNG.integers(0, shape[-1], size=shape[:-1]).astype("int32")
    return labels, RNG.uniform(0.0, 1.0, size=shape).astype("float32")


def _sparse_logits(shape=(4, 3)):
    labels, _ = _sparse(shape)
    return labels, RNG.normal(size=shape).astype("float32")


def _sparse_column():
    labels, y_pred = _sparse()
    return labels[:, None], y_pred


def _sparse_ignored(shape=(4, 3)):
    labels, y_pred = _sparse(shape)
    labels.flat[[0, 2]] = 2
    return labels, y_pred


def _distributions(shape=(4, 3)):
    p = RNG.uniform(0.0, 1.0, size=shape).astype("float32")
    q = RNG.uniform(0.0, 1.0, size=shape).astype("float32")
    return p / p.sum(-1, keepdims=True), q / q.sum(-1, keepdims=True)


def _counts(shape=(4, 3)):
    return RNG.poisson(2.0, size=shape).astype("float32"), RNG.uniform(
        0.1, 3.0, size=shape
    ).astype("float32")


# (kiln class, Keras class, kwargs, data)
CASES = {
    "bce": (prob.BinaryCrossentropy, keras.losses.BinaryCrossentropy, {}, _binary),
    "bce_logits": (
        prob.BinaryCrossentropy,
        keras.losses.BinaryCrossentropy,
        {"from_logits": True},
        _logits,
    ),
    "bce_smoothing": (
        prob.BinaryCrossentropy,
        keras.losses.BinaryCrossentropy,
        {"label_smoothing": 0.2},
        _binary,
    ),
    "cce": (
        prob.CategoricalCrossentropy,
        keras.losses.CategoricalCrossentropy,
        {},
        _one_hot,
    ),
    "cce_logits_smoothing": (
        prob.CategoricalCrossentropy,
        keras.losses.CategoricalCrossentropy,
        {"from_logits": True, "label_smoothing": 0.1},
        _one_hot_logits,
    ),
    "scce": (
        prob.SparseCategoricalCrossentropy,
        keras.losses.SparseCategoricalCrossentropy,
        {},
        _sparse,
    ),
    "scce_column_labels": (
        prob.SparseCategoricalCrossentropy,
        keras.losses.SparseCategoricalCrossentropy,
        {},
        _sparse_column,
    ),
    "scce_logits": (
        prob.SparseCategoricalCrossentropy,
        keras.losses.SparseCategoricalCrossentropy,
        {"from_logits": True},
        _sparse_logits,
    ),
    "scce_ignore_class": (
        prob.SparseCategoricalCrossentropy,
        keras.losses.SparseCategoricalCrossentropy,
        {"ignore_class": 2},
        _sparse_ignored,
    ),
    "kld": (prob.KLDivergence, keras.losses.KLDivergence, {}, _distributions),
    "poisson": (prob.Poisson, keras.losses.Poisson, {}, _counts),
}

WEIGHTS = {
    None: None,
    "per_sample": np.array([0.5, 1.0, 0.0, 2.0], "float32"),
    "column": np.array([[0.5], [1.0], [0.0], [2.0]], "float32"),
    "scalar": np.float32(0.7),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weights", list(WEIGHTS), ids=str)
def test_matches_keras(case, reduction, weights):
    ours_cls, theirs_cls, kwargs, data = CASES[case]
    y_true, y_pred = data()
    ours = ours_cls(reduction=reduction, **kwargs)
    theirs = theirs_cls(reduction=reduction, **kwargs)
    sample_weight = WEIGHTS[weights]
    expected = theirs(y_true, y_pred, sample_weight=sample_weight)
    result = ours(y_true, y_pred, sample_weight=sample_weight)
    assert result.shape == tuple(expected.shape)
    np.testing.assert_allclose(result, expected, rtol=1e-6, atol=1e-6)
    assert ours.get_config() == theirs.get_config()


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_ignore_class_on_sequences_matches_keras(reduction, weighted):
    # (batch, time, classes): the average counts only the valid time steps.
    labels, y_pred = _sparse_ignored((3, 4, 5))
    labels[1, :] = 2
    weights = RNG.uniform(size=(3, 4)).astype("float32") if weighted else None
    kwargs = {"ignore_class": 2, "reduction": reduction}
    expected = keras.losses.SparseCategoricalCrossentropy(**kwargs)(
        labels, y_pred, sample_weight=weights
    )
    result = prob.SparseCategoricalCrossentropy(**kwargs)(
        labels, y_pred, sample_weight=weights
    )
    np.testing.assert_allclose(result, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("case", sorted(CASES))
def test_functions_match_keras(case):
    ours_cls, _, kwargs, data = CASES[case]
    name = ours_cls().fn.__name__
    y_true, y_pred = data()
    expected = getattr(keras.losses, name)(y_true, y_pred, **kwargs)
    result = getattr(prob, name)(y_true, y_pred, **kwargs)
    np.testing.assert_allclose(result, expected, rtol=1e-6, atol=1e-6)


def test_hand_computed_values():
    np.testing.assert_allclose(
        prob.binary_crossentropy([[0.0, 1.0]], [[0.5, 0.5]]), [np.log(2.0)]
    )
    # Clipping: log(eps) rather than -inf for a certain, wrong prediction.
    np.testing.assert_allclose(
        prob.binary_crossentropy([[1.0]], [[0.0]]), [-np.log(1e-7)], rtol=1e-4
    )
    np.testing.assert_allclose(
        prob.binary_crossentropy([[1.0]], [[0.0]], from_logits=True), [np.log(2.0)]
    )
    np.testing.assert_allclose(
        prob.categorical_crossentropy(
            [[0, 1, 0], [0, 0, 1]], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]]
        ),
        [-np.log(0.95), -np.log(0.1)],
        rtol=1e-6,
    )
    # Label smoothing 0.3 over 3 classes: targets [0.1, 0.8, 0.1].
    np.testing.assert_allclose(
        prob.categorical_crossentropy(
            [[0, 1, 0]], [[0.2, 0.6, 0.2]], label_smoothing=0.3
        ),
        [-(0.1 * np.log(0.2) * 2 + 0.8 * np.log(0.6))],
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        prob.sparse_categorical_crossentropy(
            [1, 2], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]]
        ),
        [-np.log(0.95), -np.log(0.1)],
        rtol=1e-6,
    )
    # The ignored sample gets 0 and, through the class, is not averaged in.
    values = prob.sparse_categorical_crossentropy(
        [1, 2], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]], ignore_class=2
    )
    np.testing.assert_allclose(values, [-np.log(0.95), 0.0], rtol=1e-6)
    loss = prob.SparseCategoricalCrossentropy(ignore_class=2)
    assert float(loss([1, 2], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]])) == pytest.approx(
        -np.log(0.95), rel=1e-6
    )
    np.testing.assert_allclose(
        prob.kl_divergence([[0.5, 0.5]], [[0.25, 0.75]]),
        [0.5 * np.log(2.0) + 0.5 * np.log(0.5 / 0.75)],
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        prob.poisson([[1.0, 2.0]], [[1.0, 2.0]]),
        [(1.0 - np.log(1.0) + 2.0 - 2.0 * np.log(2.0)) / 2],
        rtol=1e-6,
    )


def test_errors_and_warnings():
    with pytest.raises(ValueError, match="same shape"):
        prob.binary_crossentropy(np.zeros((2, 3)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="axis"):
        prob.categorical_crossentropy([[0, 1]], [[0.5, 0.5]], axis=True)
    with pytest.raises(ValueError, match="up until the last dimension"):
        prob.sparse_categorical_crossentropy([1, 0, 1], [[0.5, 0.5]])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        prob.categorical_crossentropy([[1.0]], [[0.7]])
    assert any("binary_crossentropy" in str(w.message) for w in caught)


def test_configs_match_keras():
    pairs = [
        (
            prob.BinaryCrossentropy(from_logits=True, label_smoothing=0.1, axis=-2),
            keras.losses.BinaryCrossentropy(
                from_logits=True, label_smoothing=0.1, axis=-2
            ),
        ),
        (prob.CategoricalCrossentropy(), keras.losses.CategoricalCrossentropy()),
        (
            prob.SparseCategoricalCrossentropy(ignore_class=255, axis=1),
            keras.losses.SparseCategoricalCrossentropy(ignore_class=255, axis=1),
        ),
        (prob.KLDivergence(reduction=None), keras.losses.KLDivergence(reduction=None)),
        (prob.Poisson(name="p"), keras.losses.Poisson(name="p")),
    ]
    for ours, theirs in pairs:
        assert ours.get_config() == theirs.get_config()
        clone = type(ours).from_config(ours.get_config())
        assert clone.get_config() == ours.get_config()


def test_jit_and_gradients():
    loss = prob.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0)
    labels = jnp.array([0, 1, 2])
    logits = jnp.array(RNG.normal(size=(3, 4)), dtype="float32")
    eager = loss(labels, logits)
    np.testing.assert_allclose(jax.jit(loss)(labels, logits), eager, rtol=1e-6)
    grad = jax.grad(lambda z: loss(labels, z))(logits)
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad[0], 0.0)  # the ignored sample
