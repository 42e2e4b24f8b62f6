import keras
import numpy as np
import pytest

from kiln._src.optimizers import testing_utils as tu
from kiln._src.optimizers.adam import Adam

CASES = {
    "default": dict(learning_rate=0.1),
    "custom_betas": dict(learning_rate=0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-3),
    "amsgrad": dict(learning_rate=0.1, amsgrad=True),
}


def adam_reference(
    learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False
):
    """Adam by hand (Keras's form): m += (g - m)(1 - b1); v += (g^2 - v)(1 - b2);
    w -= m * lr * sqrt(1 - b2^t) / (1 - b1^t) / (sqrt(v or v_hat) + eps)."""
    w = tu.initial_values()
    m = [np.zeros_like(x) for x in w]
    v = [np.zeros_like(x) for x in w]
    v_hat = [np.zeros_like(x) for x in w]
    states = []
    for t, grads in enumerate(tu.GRADS, start=1):
        # The bias corrections run in the variable's dtype (float32), as in
        # Keras: 1 - beta_2**t loses digits there, so mirror that exactly.
        beta_1_power = np.float32(beta_1) ** np.float32(t)
        beta_2_power = np.float32(beta_2) ** np.float32(t)
        alpha = (
            np.float32(learning_rate) * np.sqrt(1 - beta_2_power) / (1 - beta_1_power)
        )
        for i, g in enumerate(grads):
            m[i] = m[i] + (g - m[i]) * (1 - beta_1)
            v[i] = v[i] + (g * g - v[i]) * (1 - beta_2)
            v_hat[i] = np.maximum(v_hat[i], v[i])
            denominator = np.sqrt(v_hat[i] if amsgrad else v[i]) + epsilon
            w[i] = w[i] - m[i] * alpha / denominator
        slots = [m[0], v[0], m[1], v[1]] + (list(v_hat) if amsgrad else [])
        states.append(([x.copy() for x in w], [t, learning_rate] + slots))
    return states


@pytest.mark.parametrize("case", CASES)
def test_matches_hand_computed_formula(case):
    states = tu.run_kiln(lambda: Adam(**CASES[case]))
    tu.assert_matches_reference(states, adam_reference(**CASES[case]))


@pytest.mark.parametrize("case", CASES)
def test_matches_keras_step_by_step(case):
    tu.assert_same_states(
        tu.run_kiln(lambda: Adam(**CASES[case])),
        tu.run_keras(lambda: keras.optimizers.Adam(**CASES[case])),
    )


@pytest.mark.parametrize("case", CASES)
def test_stateless_apply_under_jit_equals_apply(case):
    tu.assert_same_states(
        tu.run_stateless_jit(lambda: Adam(**CASES[case])),
        tu.run_kiln(lambda: Adam(**CASES[case])),
    )


@pytest.mark.parametrize("case", CASES)
def test_variable_order_matches_keras(case):
    ours, theirs = tu.two_layer_layouts(
        lambda: Adam(**CASES[case]), lambda: keras.optimizers.Adam(**CASES[case])
    )
    assert ours == theirs
    # iteration, learning_rate, then m/v interleaved per variable.
    assert [name for name, _, _ in ours[:6]] == [
        "iteration",
        "learning_rate",
        "dense_kernel_momentum",
        "dense_kernel_velocity",
        "dense_bias_momentum",
        "dense_bias_velocity",
    ]
    assert len(ours) == (14 if CASES[case].get("amsgrad") else 10)


@pytest.mark.parametrize("case", CASES)
def test_config_matches_keras(case):
    ours = Adam(name="opt", **CASES[case]).get_config()
    theirs = keras.optimizers.Adam(name="opt", **CASES[case]).get_config()
    assert list(ours.items()) == list(theirs.items())
    assert Adam.from_config(ours).get_config() == ours


def test_default_config_rounds_learning_rate_like_keras():
    assert Adam().get_config()["learning_rate"] == 0.0010000000474974513
