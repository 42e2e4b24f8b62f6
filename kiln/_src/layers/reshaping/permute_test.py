import numpy as np
import pytest

import kiln as keras
from kiln._src.testing.layer_harness import check_layer


@pytest.mark.parametrize(
    "factory, shape",
    [
        (lambda k: k.layers.Permute((2, 1)), (3, 4)),
        (lambda k: k.layers.Permute((3, 1, 2)), (2, 3, 4)),
        (lambda k: k.layers.Permute((1,)), (5,)),
        (lambda k: k.layers.RepeatVector(3), (4,)),
        (lambda k: k.layers.RepeatVector(1), (2,)),
    ],
    ids=["permute_swap", "permute_3d", "permute_identity", "repeat_3", "repeat_1"],
)
def test_matches_keras(tmp_path, factory, shape):
    check_layer(tmp_path, factory, shape)


def test_permute_values_and_shape():
    x = np.arange(24, dtype="float32").reshape((2, 3, 4))
    out = keras.layers.Permute((2, 1))(x)
    np.testing.assert_array_equal(out, np.transpose(x, (0, 2, 1)))
    layer = keras.layers.Permute((3, 1, 2))
    assert layer.compute_output_shape((None, 2, 3, 4)) == (None, 4, 2, 3)
    assert keras.layers.Permute((2, 1))(keras.Input((3, 5))).shape == (None, 5, 3)


@pytest.mark.parametrize("dims", [(0, 1), (1, 3), (2, 2), (1.0, 2)], ids=str)
def test_permute_bad_dims(dims):
    with pytest.raises(ValueError, match=r"`dims`.*Received: dims="):
        keras.layers.Permute(dims)


def test_permute_wrong_rank():
    with pytest.raises(ValueError, match="expected ndim=3"):
        keras.layers.Permute((2, 1))(np.zeros((2, 3, 4, 5)))


def test_repeat_vector_values_and_errors():
    x = np.array([[1.0, 2.0], [3.0, 4.0]], "float32")
    out = keras.layers.RepeatVector(3)(x)
    np.testing.assert_array_equal(out, np.stack([x] * 3, axis=1))
    assert keras.layers.RepeatVector(3).compute_output_shape((None, 4)) == (None, 3, 4)
    with pytest.raises(TypeError, match="`n`"):
        keras.layers.RepeatVector(2.0)
    with pytest.raises(ValueError, match="n=0"):
        keras.layers.RepeatVector(0)
    with pytest.raises(ValueError, match="expected ndim=2"):
        keras.layers.RepeatVector(2)(np.zeros((2, 3, 4)))
