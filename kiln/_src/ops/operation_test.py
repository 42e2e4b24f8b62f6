import numpy as np

from kiln._src.backend.keras_tensor import KerasTensor
from kiln._src.backend.variable import Variable
from kiln._src.ops import numpy as knp
from kiln._src.ops.operation import compute_output_spec


def test_output_spec_keeps_unknown_batch_dimension():
    w = Variable(np.ones((3, 5), "float32"))
    out = knp.matmul(KerasTensor((None, 3)), w)
    assert out.shape == (None, 5)
    op, node_index, tensor_index = out._keras_history
    assert type(op).__name__ == "Matmul" and (node_index, tensor_index) == (0, 0)


def test_output_spec_of_reshape_with_known_dims():
    spec = compute_output_spec(
        lambda x: x.reshape((x.shape[0], 6)), KerasTensor((None, 2, 3))
    )
    assert spec.shape == (None, 6)


def test_ops_accept_variables_and_arrays():
    v = Variable(np.array([1.0, -2.0], "float32"))
    np.testing.assert_array_equal(knp.abs(v), [1.0, 2.0])
    np.testing.assert_array_equal(knp.add(v, np.ones(2)), [2.0, -1.0])
