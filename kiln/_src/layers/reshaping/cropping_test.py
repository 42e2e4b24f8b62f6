import numpy as np
import pytest

import kiln as keras
from kiln._src.testing.layer_harness import check_layer


@pytest.mark.parametrize(
    "factory, shape",
    [
        (lambda k: k.layers.Cropping1D(), (5, 3)),
        (lambda k: k.layers.Cropping1D((2, 0)), (5, 3)),
        (lambda k: k.layers.Cropping1D(1), (4, 2)),
        (lambda k: k.layers.Cropping2D(), (4, 4, 2)),
        (lambda k: k.layers.Cropping2D(1), (4, 5, 2)),
        (lambda k: k.layers.Cropping2D(((1, 0), (0, 2))), (4, 5, 2)),
        (
            lambda k: k.layers.Cropping2D((1, 2), data_format="channels_first"),
            (2, 4, 6),
        ),
        (lambda k: k.layers.Cropping3D(), (4, 4, 4, 2)),
        (lambda k: k.layers.Cropping3D(((0, 1), (1, 0), (0, 0))), (3, 3, 3, 1)),
        (lambda k: k.layers.Cropping3D(1, data_format="channels_first"), (2, 3, 4, 5)),
    ],
    ids=[
        "c1_default",
        "c1_start_only",
        "c1_int",
        "c2_default",
        "c2_int",
        "c2_pairs",
        "c2_channels_first",
        "c3_default",
        "c3_pairs",
        "c3_channels_first",
    ],
)
def test_matches_keras(tmp_path, factory, shape):
    check_layer(tmp_path, factory, shape)


def test_values():
    x = np.arange(2 * 6 * 1, dtype="float32").reshape((2, 6, 1))
    np.testing.assert_array_equal(keras.layers.Cropping1D((1, 2))(x), x[:, 1:4])
    y = np.arange(2 * 5 * 6 * 3, dtype="float32").reshape((2, 5, 6, 3))
    out = keras.layers.Cropping2D(((1, 2), (0, 3)))(y)
    np.testing.assert_array_equal(out, y[:, 1:3, 0:3])
    out = keras.layers.Cropping2D(1, data_format="channels_first")(y)
    np.testing.assert_array_equal(out, y[:, :, 1:5, 1:2])


def test_output_shapes():
    assert keras.layers.Cropping1D((1, 1)).compute_output_shape((None, 5, 2)) == (
        None,
        3,
        2,
    )
    layer = keras.layers.Cropping2D(((1, 1), (2, 2)))
    assert layer.compute_output_shape((None, None, 6, 3)) == (None, None, 2, 3)
    assert layer(keras.Input((4, 6, 3))).shape == (None, 2, 2, 3)
    assert keras.layers.Cropping3D(1).compute_output_shape((2, 3, 4, 5, 1)) == (
        2,
        1,
        2,
        3,
        1,
    )


def test_errors():
    with pytest.raises(ValueError, match="smaller than the corresponding"):
        keras.layers.Cropping1D((2, 3))(np.zeros((1, 5, 2)))
    with pytest.raises(ValueError, match="smaller than the corresponding"):
        keras.layers.Cropping2D(((2, 2), (0, 0)))(keras.Input((4, 4, 1)))
    with pytest.raises(ValueError, match="cannot be negative"):
        keras.layers.Cropping2D(-1)
    with pytest.raises(ValueError, match="should have 2 elements"):
        keras.layers.Cropping2D((1, 1, 1))
    with pytest.raises(ValueError, match="1st entry of cropping"):
        keras.layers.Cropping2D(((1, 2, 3), (1, 1)))
    with pytest.raises(ValueError, match="`cropping` argument must be a tuple of 2"):
        keras.layers.Cropping1D((1, 2, 3))
    with pytest.raises(ValueError, match="data_format"):
        keras.layers.Cropping3D(data_format="channels_middle")
