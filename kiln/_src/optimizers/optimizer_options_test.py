"""The base class's options (clipping, weight decay, EMA, gradient
accumulation, loss scaling), each run against real Keras step by step."""

import keras
import pytest

from kiln._src.optimizers import testing_utils as tu
from kiln._src.optimizers.adam import Adam
from kiln._src.optimizers.rmsprop import RMSprop
from kiln._src.optimizers.sgd import SGD

# Options of the base class, each checked on SGD (simple to compute by hand)
# and on Adam/RMSprop (state that must stay in step with Keras).
OPTIONS = {
    "clipnorm": dict(clipnorm=1.0),
    "clipvalue": dict(clipvalue=0.4),
    "global_clipnorm": dict(global_clipnorm=1.5),
    "loss_scale_factor": dict(loss_scale_factor=4.0),
    "weight_decay": dict(weight_decay=0.1),
    "ema": dict(use_ema=True, ema_momentum=0.9),
    "ema_overwrite": dict(use_ema=True, ema_momentum=0.5, ema_overwrite_frequency=2),
    "grad_accumulation": dict(gradient_accumulation_steps=2),
    "combined": dict(
        weight_decay=0.1,
        clipnorm=1.0,
        use_ema=True,
        ema_overwrite_frequency=1,
        loss_scale_factor=2.0,
        gradient_accumulation_steps=2,
    ),
}
KINDS = {
    "sgd": (SGD, keras.optimizers.SGD, dict(learning_rate=0.1, momentum=0.9)),
    "adam": (Adam, keras.optimizers.Adam, dict(learning_rate=0.1)),
    "rmsprop": (
        RMSprop,
        keras.optimizers.RMSprop,
        dict(learning_rate=0.01, momentum=0.5, centered=True),
    ),
}
# Every option on SGD and Adam; RMSprop (three slot blocks) with all at once.
GRID = [(k, o) for k in ("sgd", "adam") for o in OPTIONS] + [("rmsprop", "combined")]
# The pure step is the same code as the eager one: one optimizer is enough,
# plus the combination on the others.
JIT_GRID = [("adam", o) for o in OPTIONS] + [
    ("sgd", "combined"),
    ("rmsprop", "combined"),
]
# Only these options add optimizer variables.
ORDER_GRID = [(k, o) for k in KINDS for o in ("ema", "grad_accumulation", "combined")]


def _makers(kind, option):
    ours, theirs, base = KINDS[kind]
    kwargs = {**base, **OPTIONS[option]}
    return (lambda: ours(**kwargs)), (lambda: theirs(**kwargs))


@pytest.mark.parametrize("kind,option", GRID)
def test_option_matches_keras_step_by_step(kind, option):
    make_ours, make_theirs = _makers(kind, option)
    tu.assert_same_states(tu.run_kiln(make_ours), tu.run_keras(make_theirs))


@pytest.mark.parametrize("kind,option", JIT_GRID)
def test_option_stateless_apply_under_jit_equals_apply(kind, option):
    make_ours, _ = _makers(kind, option)
    tu.assert_same_states(tu.run_stateless_jit(make_ours), tu.run_kiln(make_ours))


@pytest.mark.parametrize("kind,option", ORDER_GRID)
def test_option_variable_order_matches_keras(kind, option):
    ours, theirs = tu.two_layer_layouts(*_makers(kind, option))
    assert ours == theirs


@pytest.mark.parametrize("accumulation", [None, 2])
def test_overwrite_with_gradient_matches_keras(accumulation):
    def run(make, variables):
        variables[1].overwrite_with_gradient = True
        kwargs = dict(learning_rate=0.1, momentum=0.5, use_ema=True)
        optimizer = make(gradient_accumulation_steps=accumulation, **kwargs)
        return tu.run_eager(optimizer, variables)

    ours = run(SGD, tu.kiln_variables())
    tu.assert_same_states(ours, run(keras.optimizers.SGD, tu.keras_variables()))
    # The flagged bias gets no momentum or average slot.
    assert not any(
        "bias" in name for name, _ in ours[0][1] if "accumulator" not in name
    )
