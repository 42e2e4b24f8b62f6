import jax
import keras
import numpy as np
import pytest

from kiln._src.backend.variable import Variable
from kiln._src.optimizers import testing_utils as tu
from kiln._src.optimizers.adam import Adam
from kiln._src.optimizers.base_optimizer import Optimizer
from kiln._src.optimizers.schedules.learning_rate_schedule import ExponentialDecay
from kiln._src.optimizers.sgd import SGD

# -- hand-computed gradient processing (plain SGD, lr 0.1) --------------------


def _sgd_reference(process):
    """Plain SGD on gradients transformed by `process(grads) -> grads`."""
    w = tu.initial_values()
    states = []
    for t, grads in enumerate(tu.GRADS, start=1):
        grads = process([g.astype("float64") for g in grads])
        w = [x - 0.1 * g for x, g in zip(w, grads)]
        states.append(([x.copy() for x in w], [t, 0.1]))
    return states


def _clip_each_by_norm(grads, limit=1.0):
    return [g * limit / max(np.sqrt(np.sum(g * g)), limit) for g in grads]


def _clip_by_global_norm(grads, limit=1.5):
    norm = np.sqrt(sum(np.sum(g * g) for g in grads))
    return [g * limit / max(norm, limit) for g in grads]


HAND = {
    "clipnorm": (dict(clipnorm=1.0), _clip_each_by_norm),
    "clipvalue": (dict(clipvalue=0.4), lambda gs: [np.clip(g, -0.4, 0.4) for g in gs]),
    "global_clipnorm": (dict(global_clipnorm=1.5), _clip_by_global_norm),
    "loss_scale_factor": (dict(loss_scale_factor=4.0), lambda gs: [g / 4 for g in gs]),
}


@pytest.mark.parametrize("option", HAND)
def test_gradient_processing_matches_hand_computed(option):
    kwargs, process = HAND[option]
    states = tu.run_kiln(lambda: SGD(learning_rate=0.1, **kwargs))
    tu.assert_matches_reference(states, _sgd_reference(process))


def test_clipnorm_leaves_a_zero_gradient_finite():
    v = Variable(np.ones((2,), "float32"))
    SGD(learning_rate=0.1, clipnorm=1.0).apply([np.zeros((2,), "float32")], [v])
    np.testing.assert_array_equal(v.numpy(), [1.0, 1.0])


def test_weight_decay_hand_computed():
    # w <- w - w * wd * lr, then w <- w - lr * g.
    states = tu.run_kiln(lambda: SGD(learning_rate=0.1, weight_decay=0.1))
    w = tu.initial_values()
    for t, grads in enumerate(tu.GRADS):
        w = [x - x * 0.1 * 0.1 - 0.1 * g for x, g in zip(w, grads)]
        for actual, expected in zip(states[t][0], w):
            np.testing.assert_allclose(actual, expected, atol=1e-6)


def test_ema_hand_computed():
    # The first step copies the variable; then avg = m * avg + (1 - m) * w.
    states = tu.run_kiln(lambda: SGD(learning_rate=0.1, use_ema=True, ema_momentum=0.9))
    w = tu.initial_values()
    average = None
    for t, grads in enumerate(tu.GRADS):
        w = [x - 0.1 * g for x, g in zip(w, grads)]
        if average is None:
            average = [x.copy() for x in w]
        else:
            average = [0.9 * a + 0.1 * x for a, x in zip(average, w)]
        names = [name for name, _ in states[t][1]]
        assert names[2:] == ["dense_kernel_average", "dense_bias_average"]
        for (_, actual), expected in zip(states[t][1][2:], average):
            np.testing.assert_allclose(actual, expected, atol=1e-6)


def test_gradient_accumulation_hand_computed():
    # Steps 1 and 3 only accumulate; step 2 applies the mean of steps 1 and 2.
    states = tu.run_kiln(lambda: SGD(learning_rate=0.1, gradient_accumulation_steps=2))
    w0 = tu.initial_values()
    g1, g2, g3 = tu.GRADS
    w2 = [x - 0.1 * (a + b) / 2 for x, a, b in zip(w0, g1, g2)]
    expected_vars = [w0, w2, w2]
    expected_acc = [g1, [np.zeros_like(x) for x in w0], g3]
    for t in range(3):
        for actual, expected in zip(states[t][0], expected_vars[t]):
            np.testing.assert_allclose(actual, expected, atol=1e-6)
        accumulators = [value for _, value in states[t][1][2:]]
        for actual, expected in zip(accumulators, expected_acc[t]):
            np.testing.assert_allclose(actual, expected, atol=1e-6)


def test_gradient_accumulation_iterations_count_updates():
    optimizer = SGD(gradient_accumulation_steps=2)
    tu.run_eager(optimizer, tu.kiln_variables())
    assert int(optimizer.iterations) == 1
    assert int(optimizer._iterations.numpy()) == 3


# -- learning rate ---------------------------------------------------------


def _decay():
    return ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)


def test_schedule_matches_keras_and_has_no_learning_rate_variable():
    ours = tu.run_kiln(lambda: Adam(learning_rate=_decay()))
    theirs = tu.run_keras(
        lambda: keras.optimizers.Adam(
            learning_rate=keras.optimizers.schedules.ExponentialDecay(0.1, 2, 0.5)
        )
    )
    tu.assert_same_states(ours, theirs)
    assert [name for name, _ in ours[0][1][:2]] == [
        "iteration",
        "dense_kernel_momentum",
    ]


def test_schedule_under_jit_equals_apply():
    make = lambda: SGD(learning_rate=_decay(), momentum=0.5)  # noqa: E731
    tu.assert_same_states(tu.run_stateless_jit(make), tu.run_kiln(make))


def test_schedule_is_evaluated_at_iterations():
    optimizer = SGD(learning_rate=_decay())
    assert float(optimizer.learning_rate) == pytest.approx(0.1)
    tu.run_eager(optimizer, tu.kiln_variables())
    assert float(optimizer.learning_rate) == pytest.approx(0.1 * 0.5**1.5)


def test_callable_learning_rate():
    optimizer = SGD(learning_rate=lambda: 0.5)
    v = Variable(np.ones((1,), "float32"))
    optimizer.apply([np.ones((1,), "float32")], [v])
    np.testing.assert_allclose(v.numpy(), [0.5])
    assert [x.name for x in optimizer.variables] == ["iteration"]


def test_learning_rate_property_and_setter():
    optimizer = Adam(learning_rate=0.01)
    assert optimizer.learning_rate is optimizer.variables[1]
    optimizer.learning_rate = 0.5
    assert float(np.asarray(optimizer.learning_rate)) == 0.5
    assert optimizer.get_config()["learning_rate"] == 0.5
    optimizer.learning_rate = _decay()
    assert [v.name for v in optimizer.variables] == ["iteration"]


def test_learning_rate_of_a_schedule_cannot_be_set():
    optimizer = Adam(learning_rate=_decay())
    with pytest.raises(TypeError, match="cannot be set"):
        optimizer.learning_rate = 0.1


def test_iterations_variable_is_int32_like_keras_jax():
    ours, theirs = Adam(name="x").iterations, keras.optimizers.Adam(name="x").iterations
    assert (ours.path, ours.dtype, ours.trainable) == (theirs.path, theirs.dtype, False)
    assert ours.dtype == "int32"


# -- config ----------------------------------------------------------------


def test_base_config_matches_keras():
    kwargs = dict(
        learning_rate=0.3,
        weight_decay=0.01,
        clipnorm=2.0,
        use_ema=True,
        ema_momentum=0.9,
        ema_overwrite_frequency=5,
        loss_scale_factor=8.0,
        gradient_accumulation_steps=4,
        name="custom",
    )
    ours = Optimizer(**kwargs).get_config()
    theirs = keras.optimizers.Optimizer(**kwargs).get_config()
    assert list(ours.items()) == list(theirs.items())


def test_schedule_config_matches_keras_and_round_trips():
    ours = SGD(learning_rate=_decay(), name="s").get_config()
    theirs = keras.optimizers.SGD(
        learning_rate=keras.optimizers.schedules.ExponentialDecay(0.1, 2, 0.5), name="s"
    ).get_config()
    assert ours == theirs
    restored = SGD.from_config(theirs)
    assert isinstance(restored._learning_rate, ExponentialDecay)
    assert restored.get_config() == ours


# -- validation ------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(clipnorm=1.0, clipvalue=1.0), "at most one"),
        (dict(clipnorm=1.0, global_clipnorm=1.0), "at most one"),
        (dict(learning_rate=1), "learning_rate=1"),
        (dict(learning_rate="fast"), "learning_rate='fast'"),
        (dict(use_ema=True, ema_momentum=1.5), "ema_momentum=1.5"),
        (dict(use_ema=True, ema_overwrite_frequency=0.5), "ema_overwrite_frequency"),
        (dict(gradient_accumulation_steps=1), "gradient_accumulation_steps=1"),
        (dict(foo=1), "foo"),
    ],
)
def test_rejects_bad_arguments(kwargs, match):
    kwargs = {"learning_rate": 0.1, **kwargs}
    with pytest.raises(ValueError, match=match):
        SGD(**kwargs)


def test_decay_argument_is_ignored_with_a_warning():
    with pytest.warns(UserWarning, match="decay"):
        SGD(decay=0.1)


def test_apply_without_variables_needs_a_built_optimizer():
    with pytest.raises(ValueError, match="not built"):
        SGD().apply([np.ones((1,), "float32")])


def test_apply_with_wrong_number_of_gradients():
    optimizer = SGD()
    optimizer.build(tu.kiln_variables())
    with pytest.raises(ValueError, match="Received: 1 gradients"):
        optimizer.apply([np.ones((2, 2), "float32")])


def test_unknown_variable_is_rejected():
    optimizer = SGD()
    optimizer.build(tu.kiln_variables())
    with pytest.raises(ValueError, match="Unknown variable"):
        optimizer.apply(
            [np.ones((1,), "float32")], [Variable(np.ones((1,), "float32"))]
        )


def test_missing_gradients_are_skipped_with_a_warning():
    variables = tu.kiln_variables()
    optimizer = SGD(learning_rate=0.1)
    with pytest.warns(UserWarning, match="dense/bias"):
        optimizer.apply([np.ones((2, 2), "float32"), None], variables)
    np.testing.assert_allclose(variables[1].numpy(), tu.INITIAL[1][1])
    np.testing.assert_allclose(variables[0].numpy(), tu.INITIAL[0][1] - 0.1)
    with pytest.raises(ValueError, match="No gradients"):
        optimizer.apply([None, None], variables)


def test_empty_gradients_are_a_no_op():
    optimizer = SGD()
    optimizer.apply([], [])
    assert int(optimizer.iterations.numpy()) == 0


def test_apply_gradients_returns_iterations():
    v = Variable(np.ones((1,), "float32"))
    optimizer = SGD(learning_rate=0.5)
    iterations = optimizer.apply_gradients([(np.ones((1,), "float32"), v)])
    assert int(iterations.numpy()) == 1
    np.testing.assert_allclose(v.numpy(), [0.5])


def test_non_trainable_variables_are_updated_like_keras():
    ours = Variable(np.ones((2,), "float32"), trainable=False)
    theirs = keras.Variable(np.ones((2,), "float32"), trainable=False)
    SGD(learning_rate=0.1).apply([np.ones((2,), "float32")], [ours])
    keras.optimizers.SGD(learning_rate=0.1).apply([np.ones((2,), "float32")], [theirs])
    np.testing.assert_allclose(ours.numpy(), np.asarray(theirs.value))


def test_constraint_is_applied_after_the_update():
    v = Variable(np.ones((2,), "float32"))
    v.constraint = lambda x: np.clip(np.asarray(x), 0.95, 2.0)
    SGD(learning_rate=0.1).apply([np.ones((2,), "float32")], [v])
    np.testing.assert_allclose(v.numpy(), [0.95, 0.95])


def test_stateless_apply_needs_a_built_optimizer_and_matching_lengths():
    optimizer = Adam()
    with pytest.raises(ValueError, match="must be built"):
        optimizer.stateless_apply([], [], [])
    variables = tu.kiln_variables()
    optimizer.build(variables)
    values = [v.value for v in variables]
    state = [v.value for v in optimizer.variables]
    with pytest.raises(ValueError, match="optimizer_variables"):
        optimizer.stateless_apply(state[:-1], tu.GRADS[0], values)
    with pytest.raises(ValueError, match="trainable_variables"):
        optimizer.stateless_apply(state, tu.GRADS[0], values[:1])


def test_stateless_apply_does_not_mutate():
    optimizer = Adam()
    variables = tu.kiln_variables()
    optimizer.build(variables)
    values = [v.value for v in variables]
    state = [v.value for v in optimizer.variables]
    new_values, new_state = jax.jit(optimizer.stateless_apply)(
        state, tu.GRADS[0], values
    )
    assert int(new_state[0]) == 1
    assert int(optimizer.iterations.numpy()) == 0
    np.testing.assert_array_equal(variables[0].numpy(), tu.INITIAL[0][1])


# -- state I/O -------------------------------------------------------------


def test_save_and_load_own_variables_round_trip():
    source = Adam(learning_rate=0.1)
    tu.run_eager(source, tu.kiln_variables())
    store = {}
    source.save_own_variables(store)
    assert sorted(store, key=int) == [str(i) for i in range(len(source.variables))]
    target = Adam(learning_rate=0.5)
    target.build(tu.kiln_variables())
    target.load_own_variables(store)
    for a, b in zip(source.variables, target.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_load_own_variables_skips_on_count_mismatch():
    optimizer = Adam()
    with pytest.warns(UserWarning, match="has 2 variables whereas .* has 3"):
        optimizer.load_own_variables({"0": 0, "1": 0.1, "2": 0.0})


def test_set_weights_checks_shapes():
    optimizer = SGD(momentum=0.5)
    optimizer.build(tu.kiln_variables())
    weights = [
        np.array(7, "int32"),
        np.array(0.2, "float32"),
        np.ones((2, 2)),
        np.ones(2),
    ]
    optimizer.set_weights(weights)
    assert int(optimizer.iterations.numpy()) == 7
    with pytest.raises(ValueError, match="shape"):
        optimizer.set_weights([np.array(7), np.array(0.2), np.ones((3,))])


def test_finalize_variable_values_copies_the_averages():
    variables = tu.kiln_variables()
    optimizer = SGD(learning_rate=0.1, use_ema=True)
    tu.run_eager(optimizer, variables)
    optimizer.finalize_variable_values(variables)
    for v, average in zip(variables, optimizer._model_variables_moving_average):
        np.testing.assert_array_equal(v.numpy(), average.numpy())


def test_scale_loss():
    assert SGD(loss_scale_factor=8.0).scale_loss(2.0) == 16.0
    assert SGD().scale_loss(2.0) == 2.0
