import jax.numpy as jnp
import numpy as np
import pytest

from kiln._src.layers.rnn.recurrence import run_recurrence


def _accumulate(x_t, states):
    # output = state = previous state + input
    new = states[0] + x_t
    return new, [new]


X = np.arange(1.0, 7.0, dtype="float32").reshape(1, 6, 1)  # 1, 2, ..., 6
MASK = np.array([[False, True, True, False, True, False]])


def _run(**kwargs):
    init = kwargs.pop("init", 0.0)
    last, outputs, states = run_recurrence(
        _accumulate, jnp.asarray(X), [jnp.full((1, 1), init, "float32")], **kwargs
    )
    return np.asarray(last)[0, 0], np.asarray(outputs)[0, :, 0], np.asarray(states[0])


@pytest.mark.parametrize("unroll", [False, True], ids=["scan", "unrolled"])
def test_forward_and_backward_without_mask(unroll):
    last, outputs, state = _run(unroll=unroll)
    np.testing.assert_allclose(outputs, [1, 3, 6, 10, 15, 21])
    assert last == 21 and state[0, 0] == 21
    last, outputs, state = _run(unroll=unroll, go_backwards=True)
    # processing order: 6, 5, 4, ...; outputs come back in that order
    np.testing.assert_allclose(outputs, [6, 11, 15, 18, 20, 21])
    assert last == 21


def test_scan_mask_carries_state_and_repeats_previous_state():
    last, outputs, state = _run(mask=MASK, init=100.0)
    # step 0 masked: output is the initial state; steps 1, 2, 4 add 2, 3, 5.
    np.testing.assert_allclose(outputs, [100, 102, 105, 105, 110, 110])
    assert last == 110 and state[0, 0] == 110


def test_scan_mask_with_zero_output():
    _, outputs, state = _run(mask=MASK, init=100.0, zero_output_for_mask=True)
    np.testing.assert_allclose(outputs, [0, 102, 105, 0, 110, 0])
    assert state[0, 0] == 110


def test_scan_mask_backwards():
    _, outputs, state = _run(mask=MASK, go_backwards=True)
    # processing order 6(masked), 5, 4(masked), 3, 2, 1(masked)
    np.testing.assert_allclose(outputs, [0, 5, 5, 8, 10, 10])
    assert state[0, 0] == 10


def test_unrolled_mask_repeats_previous_output_and_ignores_zero_output():
    # Keras's unrolled loop: zeros before the first unmasked step (not the
    # initial state), then the previous output.
    _, outputs, state = _run(mask=MASK, init=100.0, unroll=True)
    np.testing.assert_allclose(outputs, [0, 102, 105, 105, 110, 110])
    _, outputs2, _ = _run(mask=MASK, init=100.0, unroll=True, zero_output_for_mask=True)
    np.testing.assert_allclose(outputs2, outputs)
    assert state[0, 0] == 110


def test_nested_states_and_state_count_check():
    def two_states(x_t, states):
        h, c = states
        return h + x_t, [h + x_t, c + 1]

    _, _, (h, c) = run_recurrence(
        two_states, jnp.asarray(X), [jnp.zeros((1, 1)), jnp.zeros((1, 1))]
    )
    assert float(h[0, 0]) == 21 and float(c[0, 0]) == 6

    def wrong(x_t, states):
        return x_t, [x_t, x_t, x_t]

    with pytest.raises(ValueError, match="number of states"):
        run_recurrence(wrong, jnp.asarray(X), [jnp.zeros((1, 1))])


def test_three_dimensional_mask_counts_a_step_when_any_entry_is_set():
    mask3 = np.stack([MASK, np.zeros_like(MASK)], axis=-1)  # (1, 6, 2)
    _, outputs, _ = _run(mask=mask3, zero_output_for_mask=True)
    np.testing.assert_allclose(outputs, [0, 2, 5, 0, 10, 0])
