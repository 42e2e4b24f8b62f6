import keras
import numpy as np
import pytest

from kiln._src.optimizers import testing_utils as tu
from kiln._src.optimizers.rmsprop import RMSprop

CASES = {
    "plain": dict(learning_rate=0.01),
    "centered": dict(learning_rate=0.01, centered=True),
    "momentum": dict(learning_rate=0.01, momentum=0.9),
    "centered_momentum": dict(learning_rate=0.01, rho=0.8, momentum=0.5, centered=True),
}


def rmsprop_reference(learning_rate, rho=0.9, momentum=0.0, centered=False):
    """RMSprop by hand: vel = rho*vel + (1-rho) g^2; (centered: avg = rho*avg +
    (1-rho) g, denominator vel - avg^2 + eps); inc = lr g / sqrt(denominator);
    momentum: mom = momentum*mom + inc, w -= mom; else w -= inc."""
    epsilon = 1e-7
    w = tu.initial_values()
    vel = [np.zeros_like(x) for x in w]
    mom = [np.zeros_like(x) for x in w]
    avg = [np.zeros_like(x) for x in w]
    states = []
    for t, grads in enumerate(tu.GRADS, start=1):
        for i, g in enumerate(grads):
            vel[i] = rho * vel[i] + (1 - rho) * g * g
            denominator = vel[i] + epsilon
            if centered:
                avg[i] = rho * avg[i] + (1 - rho) * g
                denominator = vel[i] - avg[i] ** 2 + epsilon
            increment = learning_rate * g / np.sqrt(denominator)
            if momentum:
                mom[i] = momentum * mom[i] + increment
                w[i] = w[i] - mom[i]
            else:
                w[i] = w[i] - increment
        slots = (
            list(vel)
            + (list(mom) if momentum else [])
            + (list(avg) if centered else [])
        )
        states.append(([x.copy() for x in w], [t, learning_rate] + slots))
    return states


@pytest.mark.parametrize("case", CASES)
def test_matches_hand_computed_formula(case):
    states = tu.run_kiln(lambda: RMSprop(**CASES[case]))
    tu.assert_matches_reference(states, rmsprop_reference(**CASES[case]))


@pytest.mark.parametrize("case", CASES)
def test_matches_keras_step_by_step(case):
    tu.assert_same_states(
        tu.run_kiln(lambda: RMSprop(**CASES[case])),
        tu.run_keras(lambda: keras.optimizers.RMSprop(**CASES[case])),
    )


@pytest.mark.parametrize("case", CASES)
def test_stateless_apply_under_jit_equals_apply(case):
    tu.assert_same_states(
        tu.run_stateless_jit(lambda: RMSprop(**CASES[case])),
        tu.run_kiln(lambda: RMSprop(**CASES[case])),
    )


@pytest.mark.parametrize("case", CASES)
def test_variable_order_matches_keras(case):
    ours, theirs = tu.two_layer_layouts(
        lambda: RMSprop(**CASES[case]), lambda: keras.optimizers.RMSprop(**CASES[case])
    )
    assert ours == theirs
    slot_blocks = (
        1 + bool(CASES[case].get("momentum")) + bool(CASES[case].get("centered"))
    )
    assert len(ours) == 2 + 4 * slot_blocks


@pytest.mark.parametrize("case", CASES)
def test_config_matches_keras(case):
    ours = RMSprop(name="opt", **CASES[case]).get_config()
    theirs = keras.optimizers.RMSprop(name="opt", **CASES[case]).get_config()
    assert list(ours.items()) == list(theirs.items())
    assert RMSprop.from_config(ours).get_config() == ours


def test_default_name_is_rm_sprop():
    assert RMSprop().name.startswith("rm_sprop")
