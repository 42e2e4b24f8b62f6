import keras
import numpy as np
import pytest

from kiln._src.optimizers import testing_utils as tu
from kiln._src.optimizers.sgd import SGD

CASES = {
    "plain": dict(learning_rate=0.1),
    "momentum": dict(learning_rate=0.1, momentum=0.9),
    "nesterov": dict(learning_rate=0.05, momentum=0.5, nesterov=True),
}


def sgd_reference(learning_rate, momentum=0.0, nesterov=False):
    """SGD by hand: m = momentum*m - lr*g; w += m (Nesterov: w += momentum*m -
    lr*g); without momentum w -= lr*g."""
    w = tu.initial_values()
    m = [np.zeros_like(x) for x in w]
    states = []
    for t, grads in enumerate(tu.GRADS):
        for i, g in enumerate(grads):
            if momentum:
                m[i] = momentum * m[i] - learning_rate * g
                w[i] = w[i] + (
                    momentum * m[i] - learning_rate * g if nesterov else m[i]
                )
            else:
                w[i] = w[i] - learning_rate * g
        slots = list(m) if momentum else []
        states.append(([x.copy() for x in w], [t + 1, learning_rate] + slots))
    return states


@pytest.mark.parametrize("case", CASES)
def test_matches_hand_computed_formula(case):
    states = tu.run_kiln(lambda: SGD(**CASES[case]))
    tu.assert_matches_reference(states, sgd_reference(**CASES[case]))


@pytest.mark.parametrize("case", CASES)
def test_matches_keras_step_by_step(case):
    tu.assert_same_states(
        tu.run_kiln(lambda: SGD(**CASES[case])),
        tu.run_keras(lambda: keras.optimizers.SGD(**CASES[case])),
    )


@pytest.mark.parametrize("case", CASES)
def test_stateless_apply_under_jit_equals_apply(case):
    tu.assert_same_states(
        tu.run_stateless_jit(lambda: SGD(**CASES[case])),
        tu.run_kiln(lambda: SGD(**CASES[case])),
    )


@pytest.mark.parametrize("case", CASES)
def test_variable_order_matches_keras(case):
    ours, theirs = tu.two_layer_layouts(
        lambda: SGD(**CASES[case]), lambda: keras.optimizers.SGD(**CASES[case])
    )
    assert ours == theirs
    assert len(ours) == (6 if CASES[case].get("momentum") else 2)


@pytest.mark.parametrize("case", CASES)
def test_config_matches_keras(case):
    ours = SGD(name="opt", **CASES[case]).get_config()
    theirs = keras.optimizers.SGD(name="opt", **CASES[case]).get_config()
    assert list(ours.items()) == list(theirs.items())
    assert SGD.from_config(ours).get_config() == ours


def test_default_name_and_config():
    config = SGD().get_config()
    assert config["learning_rate"] == 0.009999999776482582
    assert config["name"].startswith("sgd")


@pytest.mark.parametrize("momentum", [0, -0.1, 1.5, "0.9"])
def test_rejects_bad_momentum(momentum):
    with pytest.raises(ValueError, match="momentum"):
        SGD(momentum=momentum)
