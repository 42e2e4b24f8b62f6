import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

from kiln._src.metrics import probabilistic_metrics as prob

RNG = np.random.default_rng(0)


def _binary():
    return RNG.integers(0, 2, size=(4, 3)).astype("float32"), RNG.uniform(
        size=(4, 3)
    ).astype("float32")


def _one_hot():
    return np.eye(3, dtype="float32")[RNG.integers(0, 3, size=4)], RNG.uniform(
        size=(4, 3)
    ).astype("float32")


def _sparse():
    labels = RNG.integers(0, 3, size=(4,))
    labels[0] = 2
    return labels, RNG.normal(size=(4, 3)).astype("float32")


def _distributions():
    p, q = RNG.uniform(size=(4, 3)), RNG.uniform(size=(4, 3))
    return p / p.sum(-1, keepdims=True), q / q.sum(-1, keepdims=True)


CASES = {
    "bce": ("BinaryCrossentropy", {}, _binary),
    "bce_smooth": ("BinaryCrossentropy", {"label_smoothing": 0.2}, _binary),
    "cce": ("CategoricalCrossentropy", {}, _one_hot),
    "cce_logits": ("CategoricalCrossentropy", {"from_logits": True}, _one_hot),
    "scce_logits": ("SparseCategoricalCrossentropy", {"from_logits": True}, _sparse),
    "scce_ignore": (
        "SparseCategoricalCrossentropy",
        {"from_logits": True, "ignore_class": 2},
        _sparse,
    ),
    "kld": ("KLDivergence", {}, _distributions),
    "poisson": ("Poisson", {}, _binary),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("weighted", [False, True])
def test_matches_keras_over_three_updates(case, weighted):
    name, kwargs, data = CASES[case]
    ours = getattr(prob, name)(**kwargs)
    theirs = getattr(keras.metrics, name)(**kwargs)
    for _ in range(3):
        y_true, y_pred = data()
        weight = RNG.uniform(size=(4,)).astype("float32") if weighted else None
        ours.update_state(y_true, y_pred, sample_weight=weight)
        theirs.update_state(y_true, y_pred, sample_weight=weight)
        np.testing.assert_allclose(ours.result(), theirs.result(), rtol=1e-6)
    assert ours.get_config() == theirs.get_config()
    clone = type(ours).from_config(ours.get_config())
    assert clone.get_config() == ours.get_config()


def test_ignore_class_counts_only_with_weights_like_keras():
    # Without weights an ignored sample counts as a 0; with weights it is
    # left out of the count.
    logits = np.log(np.array([[0.5, 0.5, 1e-9], [0.2, 0.8, 1e-9]], "float32"))
    metric = prob.SparseCategoricalCrossentropy(from_logits=True, ignore_class=1)
    metric.update_state([0, 1], logits)
    assert float(metric.result()) == pytest.approx(np.log(2.0) / 2, rel=1e-5)
    metric.reset_state()
    metric.update_state([0, 1], logits, sample_weight=[1.0, 1.0])
    assert float(metric.result()) == pytest.approx(np.log(2.0), rel=1e-5)


def test_stateless_api_under_jit_matches_stateful():
    metric = prob.SparseCategoricalCrossentropy(from_logits=True, ignore_class=2)
    step = jax.jit(metric.stateless_update_state)
    state = metric.stateless_reset_state()
    for _ in range(3):
        labels, logits = _sparse()
        weight = RNG.uniform(size=(4,))
        state = step(
            state, jnp.asarray(labels), jnp.asarray(logits), jnp.asarray(weight)
        )
        metric.update_state(labels, logits, sample_weight=weight)
    np.testing.assert_allclose(
        metric.stateless_result(state), metric.result(), atol=1e-6, rtol=1e-6
    )


def test_hand_computed_bce():
    metric = prob.BinaryCrossentropy()
    metric.update_state([[0.0, 1.0]], [[0.5, 0.5]])
    assert float(metric.result()) == pytest.approx(np.log(2.0))
