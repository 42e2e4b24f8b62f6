import keras
import numpy as np
import pytest

from kiln._src.optimizers import testing_utils as tu
from kiln._src.optimizers.adamw import AdamW

CASES = {
    "default_decay": dict(learning_rate=0.1),
    "strong_decay": dict(learning_rate=0.05, weight_decay=0.5),
    "amsgrad": dict(learning_rate=0.1, weight_decay=0.1, amsgrad=True),
}


def adamw_reference(learning_rate, weight_decay=0.004, amsgrad=False):
    """AdamW by hand: w -= w * wd * lr, then the Adam update."""
    beta_1, beta_2, epsilon = 0.9, 0.999, 1e-7
    w = tu.initial_values()
    m = [np.zeros_like(x) for x in w]
    v = [np.zeros_like(x) for x in w]
    v_hat = [np.zeros_like(x) for x in w]
    states = []
    for t, grads in enumerate(tu.GRADS, start=1):
        w = [x - x * weight_decay * learning_rate for x in w]
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
    states = tu.run_kiln(lambda: AdamW(**CASES[case]))
    tu.assert_matches_reference(states, adamw_reference(**CASES[case]))


@pytest.mark.parametrize("case", CASES)
def test_matches_keras_step_by_step(case):
    tu.assert_same_states(
        tu.run_kiln(lambda: AdamW(**CASES[case])),
        tu.run_keras(lambda: keras.optimizers.AdamW(**CASES[case])),
    )


@pytest.mark.parametrize("case", CASES)
def test_stateless_apply_under_jit_equals_apply(case):
    tu.assert_same_states(
        tu.run_stateless_jit(lambda: AdamW(**CASES[case])),
        tu.run_kiln(lambda: AdamW(**CASES[case])),
    )


def test_exclude_from_weight_decay_matches_keras():
    def run(make):
        def configured():
            optimizer = make(learning_rate=0.1, weight_decay=0.5)
            optimizer.exclude_from_weight_decay(var_names=["bias"])
            return optimizer

        return configured

    ours = tu.run_kiln(run(AdamW))
    tu.assert_same_states(ours, tu.run_keras(run(keras.optimizers.AdamW)))
    # The bias follows plain Adam: compare with a decay-free run.
    adam_like = tu.run_kiln(lambda: AdamW(learning_rate=0.1, weight_decay=0.0))
    np.testing.assert_allclose(ours[-1][0][1], adam_like[-1][0][1], atol=1e-6)


def test_exclude_by_variable_list():
    variables = tu.kiln_variables()
    optimizer = AdamW(learning_rate=0.1, weight_decay=0.5)
    optimizer.exclude_from_weight_decay(var_list=[variables[0]])
    assert not optimizer._use_weight_decay(variables[0])
    assert optimizer._use_weight_decay(variables[1])


def test_variable_order_matches_keras():
    ours, theirs = tu.two_layer_layouts(
        lambda: AdamW(amsgrad=True, use_ema=True),
        lambda: keras.optimizers.AdamW(amsgrad=True, use_ema=True),
    )
    assert ours == theirs
    assert len(ours) == 2 + 4 + 8 + 4


@pytest.mark.parametrize("case", CASES)
def test_config_matches_keras(case):
    ours = AdamW(name="opt", **CASES[case]).get_config()
    theirs = keras.optimizers.AdamW(name="opt", **CASES[case]).get_config()
    assert list(ours.items()) == list(theirs.items())
    assert AdamW.from_config(ours).get_config() == ours


def test_default_name_is_adam_w():
    assert AdamW().name.startswith("adam_w")


def test_requires_weight_decay():
    with pytest.raises(ValueError, match="weight_decay=None"):
        AdamW(weight_decay=None)
