"""The harness the optimizer tests share: run kiln and real Keras side by side.

Every check starts both libraries from the same variable values (with the same
paths) and feeds the same gradients, then compares the variables *and* the
optimizer variables, in order, after each step. Used only by ``*_test.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from kiln._src.backend.variable import Variable

ATOL = 1e-6

# Two tiny "layers": (path, initial value).
INITIAL = [
    ("dense/kernel", np.array([[0.5, -1.0], [2.0, 0.25]], "float32")),
    ("dense/bias", np.array([0.1, -0.2], "float32")),
]
# One gradient list per step; step 2 is large so clipping options bite.
GRADS = [
    [np.array([[0.1, -0.2], [0.3, 0.4]], "float32"), np.array([0.5, -0.5], "float32")],
    [np.array([[2.0, 1.0], [-3.0, 0.5]], "float32"), np.array([-1.5, 2.5], "float32")],
    [np.array([[-0.3, 0.0], [0.2, -0.1]], "float32"), np.array([0.05, 0.0], "float32")],
]
# A two-layer set of variables, for the order and count of optimizer variables.
TWO_LAYERS = [
    ("dense/kernel", (3, 4)),
    ("dense/bias", (4,)),
    ("dense_1/kernel", (4, 1)),
    ("dense_1/bias", (1,)),
]

State = tuple[list[np.ndarray], list[tuple[str, np.ndarray]]]


def _short(path: str) -> str:
    """``"adam_3/dense_kernel_momentum"`` -> ``"dense_kernel_momentum"``."""
    return path.split("/", 1)[1]


def kiln_variables(initial: list[tuple[str, np.ndarray]] = INITIAL) -> list[Variable]:
    return [
        Variable(value, name=path.rsplit("/", 1)[1], path=path)
        for path, value in initial
    ]


def keras_variables(initial: list[tuple[str, np.ndarray]] = INITIAL) -> list[Any]:
    import keras

    variables = []
    for path, value in initial:
        scope, name = path.rsplit("/", 1)
        with keras.name_scope(scope):
            variables.append(keras.Variable(value, name=name))
    return variables


def snapshot(optimizer: Any, variables: list[Any]) -> State:
    return (
        [np.array(v.value) for v in variables],
        [(_short(v.path), np.array(v.value)) for v in optimizer.variables],
    )


def run_eager(optimizer: Any, variables: list[Any], grads=GRADS) -> list[State]:
    """Applies each step's gradients; returns the state after each step."""
    states = []
    for step_grads in grads:
        optimizer.apply([np.array(g) for g in step_grads], variables)
        states.append(snapshot(optimizer, variables))
    return states


def run_kiln(make: Callable[[], Any], grads=GRADS) -> list[State]:
    return run_eager(make(), kiln_variables(), grads)


def run_keras(make: Callable[[], Any], grads=GRADS) -> list[State]:
    return run_eager(make(), keras_variables(), grads)


def run_stateless_jit(make: Callable[[], Any], grads=GRADS) -> list[State]:
    """Builds eagerly, then steps with `stateless_apply` inside `jax.jit`."""
    optimizer = make()
    variables = kiln_variables()
    optimizer.build(variables)
    step = jax.jit(optimizer.stateless_apply)
    trainable = [v.value for v in variables]
    state = [v.value for v in optimizer.variables]
    states = []
    for step_grads in grads:
        trainable, state = step(state, [np.array(g) for g in step_grads], trainable)
        states.append(
            (
                [np.array(t) for t in trainable],
                [
                    (_short(v.path), np.array(s))
                    for v, s in zip(optimizer.variables, state)
                ],
            )
        )
    return states


def assert_same_states(actual: list[State], expected: list[State], atol=ATOL) -> None:
    """Same variables, and same optimizer variables (names, dtypes, values) in
    the same order, after every step."""
    assert len(actual) == len(expected)
    for step, ((a_vars, a_opt), (e_vars, e_opt)) in enumerate(zip(actual, expected)):
        for a, e in zip(a_vars, e_vars, strict=True):
            np.testing.assert_allclose(a, e, rtol=0, atol=atol, err_msg=f"step {step}")
        assert [n for n, _ in a_opt] == [n for n, _ in e_opt], f"step {step}"
        for (name, a), (_, e) in zip(a_opt, e_opt):
            assert a.dtype == e.dtype, (step, name, a.dtype, e.dtype)
            np.testing.assert_allclose(
                a, e, rtol=0, atol=atol, err_msg=f"step {step}, {name}"
            )


def variable_layout(optimizer: Any, variables: list[Any]) -> list[tuple]:
    """``(short name, shape, dtype)`` of each optimizer variable after build."""
    optimizer.build(variables)
    return [
        (_short(v.path), tuple(v.shape), str(np.dtype(v.dtype)))
        for v in optimizer.variables
    ]


def two_layer_layouts(make_kiln: Callable[[], Any], make_keras: Callable[[], Any]):
    """The optimizer-variable layouts of kiln and Keras on `TWO_LAYERS`."""
    initial = [(path, np.zeros(shape, "float32")) for path, shape in TWO_LAYERS]
    return (
        variable_layout(make_kiln(), kiln_variables(initial)),
        variable_layout(make_keras(), keras_variables(initial)),
    )


def initial_values() -> list[np.ndarray]:
    """The initial variable values in float64, for hand-computed references."""
    return [value.astype("float64") for _, value in INITIAL]


def assert_matches_reference(
    actual: list[State], expected: list[tuple[list[Any], list[Any]]], atol=ATOL
) -> None:
    """Compares values with a hand-computed ``[(variables, optimizer_vars)]``
    per step (optimizer vars in order, ``iteration`` and ``learning_rate``
    included)."""
    assert len(actual) == len(expected)
    for step, ((a_vars, a_opt), (e_vars, e_opt)) in enumerate(zip(actual, expected)):
        for a, e in zip(a_vars, e_vars, strict=True):
            np.testing.assert_allclose(a, e, rtol=0, atol=atol, err_msg=f"step {step}")
        assert len(a_opt) == len(e_opt), f"step {step}"
        for (name, a), e in zip(a_opt, e_opt):
            np.testing.assert_allclose(
                a, e, rtol=0, atol=atol, err_msg=f"step {step}, {name}"
            )
