import keras
import numpy as np
import pytest

from kiln._src.optimizers import testing_utils as tu
from kiln._src.optimizers.adagrad import Adagrad

CASES = {
    "default": dict(learning_rate=0.1),
    "custom": dict(learning_rate=0.5, initial_accumulator_value=1.0, epsilon=1e-3),
}


def adagrad_reference(learning_rate, initial_accumulator_value=0.1, epsilon=1e-7):
    """Adagrad by hand: acc += g^2; w -= lr g / sqrt(acc + eps)."""
    w = tu.initial_values()
    acc = [np.full_like(x, initial_accumulator_value) for x in w]
    states = []
    for t, grads in enumerate(tu.GRADS, start=1):
        for i, g in enumerate(grads):
            acc[i] = acc[i] + g * g
            w[i] = w[i] - learning_rate * g / np.sqrt(acc[i] + epsilon)
        states.append(([x.copy() for x in w], [t, learning_rate] + list(acc)))
    return states


@pytest.mark.parametrize("case", CASES)
def test_matches_hand_computed_formula(case):
    states = tu.run_kiln(lambda: Adagrad(**CASES[case]))
    tu.assert_matches_reference(states, adagrad_reference(**CASES[case]))


@pytest.mark.parametrize("case", CASES)
def test_matches_keras_step_by_step(case):
    tu.assert_same_states(
        tu.run_kiln(lambda: Adagrad(**CASES[case])),
        tu.run_keras(lambda: keras.optimizers.Adagrad(**CASES[case])),
    )


@pytest.mark.parametrize("case", CASES)
def test_stateless_apply_under_jit_equals_apply(case):
    tu.assert_same_states(
        tu.run_stateless_jit(lambda: Adagrad(**CASES[case])),
        tu.run_kiln(lambda: Adagrad(**CASES[case])),
    )


def test_accumulators_start_at_initial_value():
    optimizer = Adagrad(initial_accumulator_value=0.25)
    optimizer.build(tu.kiln_variables())
    for slot in optimizer.variables[2:]:
        np.testing.assert_array_equal(slot.numpy(), np.full(slot.shape, 0.25))


@pytest.mark.parametrize("case", CASES)
def test_variable_order_matches_keras(case):
    ours, theirs = tu.two_layer_layouts(
        lambda: Adagrad(**CASES[case]), lambda: keras.optimizers.Adagrad(**CASES[case])
    )
    assert ours == theirs
    assert len(ours) == 6


@pytest.mark.parametrize("case", CASES)
def test_config_matches_keras(case):
    ours = Adagrad(name="opt", **CASES[case]).get_config()
    theirs = keras.optimizers.Adagrad(name="opt", **CASES[case]).get_config()
    assert list(ours.items()) == list(theirs.items())
    assert Adagrad.from_config(ours).get_config() == ours
