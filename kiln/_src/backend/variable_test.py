import jax
import jax.numpy as jnp
import numpy as np
import pytest

from kiln._src.backend.stateless_scope import StatelessScope
from kiln._src.backend.variable import Variable


def test_value_name_path_shape_dtype():
    v = Variable(np.ones((2, 3), "float32"), name="kernel", path="dense/kernel")
    assert v.name == "kernel"
    assert v.path == "dense/kernel"
    assert v.shape == (2, 3)
    assert v.dtype == "float32"
    assert v.trainable
    np.testing.assert_array_equal(v.numpy(), np.ones((2, 3)))
    assert float(Variable(np.array(2.5, "float32"))) == 2.5
    np.testing.assert_array_equal(np.asarray(v), np.ones((2, 3)))


def test_lazy_initializer_runs_only_when_read():
    calls = []

    def init(shape, dtype):
        calls.append(shape)
        return jnp.full(shape, 3.0, dtype)

    v = Variable(init, shape=(2,), dtype="float32")
    assert not v.is_initialized and calls == []
    v.assign(np.array([1.0, 2.0]))
    assert calls == [], "assigning before reading must skip the initializer"
    np.testing.assert_array_equal(v.numpy(), [1.0, 2.0])
    w = Variable(init, shape=(2,), dtype="float32")
    np.testing.assert_array_equal(w.numpy(), [3.0, 3.0])
    assert calls == [(2,)]


def test_lazy_initializer_first_read_inside_a_trace_stores_a_concrete_value():
    v = Variable(lambda s, d: jnp.ones(s, d), shape=(2,), dtype="float32")
    jax.jit(lambda x: x + v.value)(jnp.zeros(2))
    assert isinstance(v.value, jax.Array)
    np.testing.assert_array_equal(v.numpy(), [1.0, 1.0])


def test_assign_casts_dtype_and_rejects_shape_mismatch():
    v = Variable(np.zeros((2,), "float32"), name="b", path="dense/bias")
    v.assign(np.array([1, 2], dtype="int64"))
    assert v.value.dtype == jnp.float32
    with pytest.raises(ValueError, match=r"dense/bias.*\(2,\)"):
        v.assign(np.zeros((3,)))


def test_arithmetic_behaves_like_the_array():
    v = Variable(np.array([1.0, 2.0], "float32"))
    np.testing.assert_array_equal(v + 1, [2.0, 3.0])
    np.testing.assert_array_equal(2 * v, [2.0, 4.0])
    np.testing.assert_array_equal(jnp.ones(2) * v, [1.0, 2.0])
    np.testing.assert_array_equal(-v, [-1.0, -2.0])
    assert float(v[1]) == 2.0


def test_stateless_scope_reads_and_records_without_mutating():
    v = Variable(np.zeros((2,), "float32"))
    with StatelessScope([(v, jnp.ones(2))]) as scope:
        np.testing.assert_array_equal(v.value, [1.0, 1.0])
        v.assign(v.value + 1)
        np.testing.assert_array_equal(v.value, [2.0, 2.0])
    np.testing.assert_array_equal(scope.get_current_value(v), [2.0, 2.0])
    np.testing.assert_array_equal(v.numpy(), [0.0, 0.0])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"initializer": lambda s, d: None, "shape": None},
        {"initializer": lambda s, d: None, "shape": (None, 2)},
        {"initializer": np.ones(2), "name": "a/b"},
    ],
    ids=["no_shape", "none_dim", "slash_in_name"],
)
def test_bad_arguments_raise(kwargs):
    with pytest.raises(ValueError):
        Variable(**kwargs)
