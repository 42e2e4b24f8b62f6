import numpy as np
import pytest

import kiln as keras
from kiln._src.testing.layer_harness import check_layer, keras_module


@pytest.mark.parametrize(
    "factory, shape",
    [
        (lambda k: k.layers.EinsumDense("ab,bc->ac", 4, bias_axes="c"), (3,)),
        (
            lambda k: k.layers.EinsumDense("abc,cd->abd", (None, 4), bias_axes="d"),
            (2, 3),
        ),
        (
            lambda k: k.layers.EinsumDense(
                "abc,cde->abde", (None, 2, 3), bias_axes="de", activation="relu"
            ),
            (2, 3),
        ),
        (
            lambda k: k.layers.EinsumDense(
                "abc,cde->abde", (None, 2, 3), bias_axes="e"
            ),
            (2, 3),
        ),
        (lambda k: k.layers.EinsumDense("...b,bc->...c", 5, bias_axes="c"), (2, 3)),
        (lambda k: k.layers.EinsumDense("ab...,bc->ac...", 5), (3, 2)),
        (
            lambda k: k.layers.EinsumDense("abcd,cde->abe", (None, 4), bias_axes="e"),
            (2, 3, 2),
        ),
        (
            lambda k: k.layers.EinsumDense(
                "ab,bc->ac",
                2,
                kernel_initializer="ones",
                bias_axes="c",
                bias_initializer="ones",
                kernel_regularizer="l1",
                kernel_constraint="non_neg",
            ),
            (3,),
        ),
    ],
    ids=[
        "dense",
        "sequence",
        "two_output_axes_relu",
        "partial_bias",
        "left_ellipsis",
        "right_ellipsis_no_bias",
        "contract_two",
        "extras",
    ],
)
def test_matches_keras(tmp_path, factory, shape):
    check_layer(tmp_path, factory, shape)


def test_kernel_fans_follow_the_equation():
    # With an int seed kiln draws what Keras draws; the fans come from the
    # kernel axes holding input and output units, so the values must agree.
    real = keras_module()
    kiln_layer = keras.layers.EinsumDense(
        "abc,cde->abde",
        (None, 2, 3),
        kernel_initializer=keras.initializers.GlorotUniform(seed=7),
    )
    keras_layer = real.layers.EinsumDense(
        "abc,cde->abde",
        (None, 2, 3),
        kernel_initializer=real.initializers.GlorotUniform(seed=7),
    )
    kiln_layer.build((None, 4, 5))
    keras_layer.build((None, 4, 5))
    np.testing.assert_allclose(
        np.asarray(kiln_layer.kernel), np.asarray(keras_layer.kernel), rtol=1e-6
    )
    limit = np.sqrt(6.0 / (5 + 6))
    assert np.abs(np.asarray(kiln_layer.kernel)).max() <= limit


def test_hand_computed_and_shapes():
    layer = keras.layers.EinsumDense(
        "abc,cd->abd",
        (None, 2),
        bias_axes="d",
        kernel_initializer="ones",
        bias_initializer="ones",
    )
    x = np.arange(12, dtype="float32").reshape((2, 2, 3))
    np.testing.assert_allclose(layer(x), np.repeat(x.sum(-1, keepdims=True), 2, -1) + 1)
    assert layer.kernel.shape == (3, 2) and layer.bias.shape == (2,)
    # Like Keras, axes given as None in `output_shape` stay unknown.
    real = keras_module().layers.EinsumDense("abc,cd->abd", (None, 2))
    assert real.compute_output_shape((None, 7, 3)) == (None, None, 2)
    assert layer.compute_output_shape((None, 7, 3)) == (None, None, 2)
    right = keras.layers.EinsumDense("ab...,bc->ac...", 5, bias_axes="c")
    right.build((None, 3, 4))
    assert right.bias.shape == (5, 1)
    assert right.compute_output_shape((None, 3, 4)) == (None, 5, 4)


def test_errors():
    with pytest.raises(ValueError, match="Invalid einsum equation"):
        keras.layers.EinsumDense("ab->b", 3).build((None, 2))
    with pytest.raises(ValueError, match="Bias dimension 'z'"):
        keras.layers.EinsumDense("ab,bc->ac", 3, bias_axes="z").build((None, 2))
    with pytest.raises(ValueError, match="Weight dimension 'q'"):
        keras.layers.EinsumDense("ab,bqc->ac", 3).build((None, 2))
    with pytest.raises(ValueError, match="Dimension 'c' was specified"):
        keras.layers.EinsumDense("ab,bd->ac", 3).build((None, 2))
    with pytest.raises(ValueError, match="do not match at shared dimension 'b'"):
        keras.layers.EinsumDense("abc,cd->abd", (5, 4)).build((None, 2, 3))
    with pytest.raises(ValueError, match="unknown dimensions"):
        keras.layers.EinsumDense("ab,bc->ac", (None,)).build((None, 2))
    with pytest.raises(AttributeError, match="before it is built"):
        _ = keras.layers.EinsumDense("ab,bc->ac", 3).kernel
