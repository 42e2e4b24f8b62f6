import numpy as np
import pytest

import kiln as keras
from kiln._src.testing.layer_harness import check_layer


@pytest.mark.parametrize(
    "factory, shape",
    [
        (lambda k: k.layers.ZeroPadding1D(), (3, 2)),
        (lambda k: k.layers.ZeroPadding1D((0, 2)), (3, 2)),
        (lambda k: k.layers.ZeroPadding1D(2, data_format="channels_first"), (2, 3)),
        (lambda k: k.layers.ZeroPadding2D(), (3, 3, 2)),
        (lambda k: k.layers.ZeroPadding2D((1, 2)), (3, 3, 2)),
        (lambda k: k.layers.ZeroPadding2D(((0, 1), (2, 0))), (3, 4, 1)),
        (lambda k: k.layers.ZeroPadding2D(1, data_format="channels_first"), (2, 3, 3)),
        (lambda k: k.layers.ZeroPadding3D(), (2, 2, 2, 1)),
        (lambda k: k.layers.ZeroPadding3D((1, 0, 2)), (2, 2, 2, 1)),
        (
            lambda k: k.layers.ZeroPadding3D(1, data_format="channels_first"),
            (1, 2, 2, 2),
        ),
    ],
    ids=[
        "p1_default",
        "p1_pair",
        "p1_channels_first",
        "p2_default",
        "p2_sym",
        "p2_pairs",
        "p2_channels_first",
        "p3_default",
        "p3_sym",
        "p3_channels_first",
    ],
)
def test_matches_keras(tmp_path, factory, shape):
    check_layer(tmp_path, factory, shape)


def test_values_and_shapes():
    x = np.ones((1, 2, 1), "float32")
    np.testing.assert_array_equal(
        keras.layers.ZeroPadding1D((1, 2))(x)[0, :, 0], [0, 1, 1, 0, 0]
    )
    y = np.ones((1, 2, 2, 1), "float32")
    out = np.asarray(keras.layers.ZeroPadding2D(((1, 0), (0, 1)))(y))[0, :, :, 0]
    np.testing.assert_array_equal(out, [[0, 0, 0], [1, 1, 0], [1, 1, 0]])
    layer = keras.layers.ZeroPadding2D(2)
    assert layer.compute_output_shape((None, None, 3, 1)) == (None, None, 7, 1)
    assert keras.layers.ZeroPadding3D(1)(keras.Input((2, 3, 4, 1))).shape == (
        None,
        4,
        5,
        6,
        1,
    )


def test_errors():
    with pytest.raises(ValueError, match="`padding` argument must be a tuple of 2"):
        keras.layers.ZeroPadding1D((1, 2, 3))
    with pytest.raises(ValueError, match="should have 3 elements"):
        keras.layers.ZeroPadding3D((1, 1))
    with pytest.raises(ValueError, match=">= 0"):
        keras.layers.ZeroPadding2D(((1, -1), (0, 0)))
    with pytest.raises(ValueError, match="expected ndim=4"):
        keras.layers.ZeroPadding2D()(np.zeros((2, 3, 3)))
