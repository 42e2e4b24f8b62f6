import numpy as np
import pytest

import kiln as keras
from kiln._src.testing.layer_harness import check_layer


@pytest.mark.parametrize(
    "factory, shape",
    [
        (lambda k: k.layers.UpSampling1D(), (3, 2)),
        (lambda k: k.layers.UpSampling1D(3), (2, 2)),
        (lambda k: k.layers.UpSampling2D(), (2, 3, 2)),
        (lambda k: k.layers.UpSampling2D((1, 3)), (2, 3, 2)),
        (lambda k: k.layers.UpSampling2D(2, data_format="channels_first"), (2, 3, 3)),
        (lambda k: k.layers.UpSampling2D(2, interpolation="bilinear"), (3, 3, 2)),
        (
            lambda k: k.layers.UpSampling2D(
                (2, 3), data_format="channels_first", interpolation="bilinear"
            ),
            (2, 3, 4),
        ),
        (lambda k: k.layers.UpSampling2D(2, interpolation="bicubic"), (3, 3, 1)),
        (lambda k: k.layers.UpSampling3D(), (2, 2, 2, 1)),
        (
            lambda k: k.layers.UpSampling3D((1, 2, 3), data_format="channels_first"),
            (1, 2, 2, 2),
        ),
    ],
    ids=[
        "u1_default",
        "u1_3",
        "u2_default",
        "u2_pair",
        "u2_channels_first",
        "u2_bilinear",
        "u2_bilinear_channels_first",
        "u2_bicubic",
        "u3_default",
        "u3_channels_first",
    ],
)
def test_matches_keras(tmp_path, factory, shape):
    check_layer(tmp_path, factory, shape)


def test_nearest_values():
    x = np.array([[[1.0], [2.0]]], "float32")
    np.testing.assert_array_equal(
        keras.layers.UpSampling1D(2)(x)[0, :, 0], [1, 1, 2, 2]
    )
    img = np.array([[1.0, 2.0], [3.0, 4.0]], "float32")[None, :, :, None]
    out = np.asarray(keras.layers.UpSampling2D((2, 1))(img))[0, :, :, 0]
    np.testing.assert_array_equal(out, [[1, 2], [1, 2], [3, 4], [3, 4]])


def test_bilinear_values():
    # Half-pixel centers: output pixel j samples input (j + 0.5) / 2 - 0.5.
    row = np.array([0.0, 4.0], "float32")[None, None, :, None]
    out = np.asarray(keras.layers.UpSampling2D((1, 2), interpolation="bilinear")(row))
    np.testing.assert_allclose(out[0, 0, :, 0], [0.0, 1.0, 3.0, 4.0])


def test_shapes_and_errors():
    assert keras.layers.UpSampling2D((2, 3)).compute_output_shape(
        (None, None, 4, 1)
    ) == (None, None, 12, 1)
    assert keras.layers.UpSampling1D(2).compute_output_shape((2, 3, 4)) == (2, 6, 4)
    with pytest.raises(ValueError, match="interpolation"):
        keras.layers.UpSampling2D(interpolation="cubic-ish")
    with pytest.raises(ValueError, match="`size`"):
        keras.layers.UpSampling2D((0, 2))
    with pytest.raises(TypeError, match="`size`"):
        keras.layers.UpSampling1D(1.5)
    with pytest.raises(ValueError, match="size=0"):
        keras.layers.UpSampling1D(0)
