"""DepthwiseConv1D/2D and SeparableConv1D/2D against real Keras 3, by hand,
and their argument errors."""

import numpy as np
import pytest

import kiln
from kiln._src.testing.layer_harness import check_layer

CASES = {
    "dw1d_basic": ("DepthwiseConv1D", dict(kernel_size=3), (8, 3)),
    "dw1d_multiplier_same_stride": (
        "DepthwiseConv1D",
        dict(kernel_size=4, depth_multiplier=2, strides=2, padding="same"),
        (9, 2),
    ),
    "dw1d_cf_dilated": (
        "DepthwiseConv1D",
        dict(kernel_size=2, dilation_rate=3, data_format="channels_first"),
        (3, 9),
    ),
    "dw2d_basic": ("DepthwiseConv2D", dict(kernel_size=3), (6, 6, 3)),
    "dw2d_multiplier": (
        "DepthwiseConv2D",
        dict(kernel_size=(2, 3), depth_multiplier=3, use_bias=False, activation="relu"),
        (5, 6, 2),
    ),
    "dw2d_same_stride": (
        "DepthwiseConv2D",
        dict(kernel_size=3, strides=2, padding="same"),
        (7, 6, 2),
    ),
    "dw2d_cf_dilated_same": (
        "DepthwiseConv2D",
        dict(
            kernel_size=3,
            dilation_rate=2,
            padding="same",
            depth_multiplier=2,
            data_format="channels_first",
        ),
        (2, 6, 7),
    ),
    "dw2d_extras": (
        "DepthwiseConv2D",
        dict(
            kernel_size=2,
            depthwise_initializer="he_uniform",
            bias_initializer="ones",
            depthwise_regularizer="l2",
            bias_regularizer="l1",
            activity_regularizer="l2",
            depthwise_constraint="non_neg",
            bias_constraint="max_norm",
        ),
        (4, 4, 2),
    ),
    "sep1d_basic": ("SeparableConv1D", dict(filters=4, kernel_size=3), (8, 3)),
    "sep1d_cf_multiplier_same": (
        "SeparableConv1D",
        dict(
            filters=3,
            kernel_size=3,
            depth_multiplier=2,
            padding="same",
            strides=2,
            data_format="channels_first",
        ),
        (2, 9),
    ),
    "sep2d_basic": ("SeparableConv2D", dict(filters=4, kernel_size=3), (6, 6, 3)),
    "sep2d_dilated_multiplier": (
        "SeparableConv2D",
        dict(
            filters=2,
            kernel_size=2,
            dilation_rate=2,
            depth_multiplier=2,
            activation="relu",
        ),
        (6, 6, 2),
    ),
    "sep2d_same_stride_cf": (
        "SeparableConv2D",
        dict(
            filters=3,
            kernel_size=3,
            strides=2,
            padding="same",
            data_format="channels_first",
            use_bias=False,
        ),
        (2, 7, 6),
    ),
    "sep2d_extras": (
        "SeparableConv2D",
        dict(
            filters=2,
            kernel_size=2,
            pointwise_initializer="zeros",
            depthwise_regularizer="l1",
            pointwise_regularizer="l2",
            pointwise_constraint="unit_norm",
            bias_initializer="ones",
        ),
        (4, 4, 2),
    ),
}
EXCHANGE_FILES = {
    "dw1d_basic",
    "dw2d_multiplier",
    "sep1d_basic",
    "sep2d_same_stride_cf",
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_matches_keras(tmp_path, case):
    class_name, kwargs, input_shape = CASES[case]
    check_layer(
        tmp_path,
        lambda k: getattr(k.layers, class_name)(**kwargs),
        input_shape=input_shape,
        exchange_files=case in EXCHANGE_FILES,
    )


def test_depthwise_by_hand_channel_order():
    # Output channel c * depth_multiplier + m is input channel c times
    # kernel[..., c, m].
    layer = kiln.layers.DepthwiseConv1D(1, depth_multiplier=2, use_bias=False)
    layer.build((None, 2, 2))
    kernel = np.array([[[1.0, 2.0], [10.0, 20.0]]], "float32")  # (1, 2, 2)
    layer.set_weights([kernel])
    x = np.array([[[1.0, 3.0], [2.0, 5.0]]], "float32")  # (1, 2 steps, 2 ch)
    np.testing.assert_allclose(
        layer(x)[0], [[1.0, 2.0, 30.0, 60.0], [2.0, 4.0, 50.0, 100.0]]
    )


def test_separable_equals_depthwise_then_pointwise():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 6, 6, 3)).astype("float32")
    sep = kiln.layers.SeparableConv2D(4, 3, depth_multiplier=2, padding="same")
    out = np.asarray(sep(x))
    depthwise = kiln.layers.DepthwiseConv2D(
        3, depth_multiplier=2, padding="same", use_bias=False
    )
    depthwise.build(x.shape)
    depthwise.set_weights([np.asarray(sep.depthwise_kernel.value)])
    pointwise = kiln.layers.Conv2D(4, 1)
    pointwise.build((2, 6, 6, 6))
    pointwise.set_weights([np.asarray(sep.pointwise_kernel.value), np.zeros(4)])
    np.testing.assert_allclose(out, pointwise(depthwise(x)), rtol=1e-5, atol=1e-5)


def test_weights_names_and_shapes():
    dw = kiln.layers.DepthwiseConv2D(3, depth_multiplier=2)
    dw.build((None, 8, 8, 3))
    assert [(v.name, v.shape) for v in dw.weights] == [
        ("kernel", (3, 3, 3, 2)),
        ("bias", (6,)),
    ]
    sep = kiln.layers.SeparableConv1D(5, 3, depth_multiplier=2)
    sep.build((None, 8, 3))
    assert [(v.name, v.shape) for v in sep.weights] == [
        ("depthwise_kernel", (3, 3, 2)),
        ("pointwise_kernel", (1, 6, 5)),
        ("bias", (5,)),
    ]
    assert kiln.layers.SeparableConvolution2D is kiln.layers.SeparableConv2D
    assert kiln.layers.SeparableConvolution1D is kiln.layers.SeparableConv1D


def test_compute_output_shape():
    layer = kiln.layers.DepthwiseConv2D(3, strides=2, depth_multiplier=3)
    assert layer.compute_output_shape((None, 9, None, 2)) == (None, 4, None, 6)
    layer = kiln.layers.SeparableConv1D(4, 3, padding="same", strides=2)
    assert layer.compute_output_shape((2, 9, 3)) == (2, 5, 4)


ERRORS = {
    "dw_multiplier_zero": (
        lambda: kiln.layers.DepthwiseConv2D(3, depth_multiplier=0),
        "depth_multiplier=0",
    ),
    "dw_bad_padding": (
        lambda: kiln.layers.DepthwiseConv1D(3, padding="causal"),
        "padding='causal'",
    ),
    "dw_kernel_size_zero": (lambda: kiln.layers.DepthwiseConv2D(0), "kernel_size"),
    "sep_filters_zero": (lambda: kiln.layers.SeparableConv2D(0, 3), "filters=0"),
    "sep_multiplier_negative": (
        lambda: kiln.layers.SeparableConv1D(2, 3, depth_multiplier=-1),
        "depth_multiplier=-1",
    ),
    "sep_strides_wrong_length": (
        lambda: kiln.layers.SeparableConv2D(2, 3, strides=(1, 2, 3)),
        "strides",
    ),
    "sep_bad_data_format": (
        lambda: kiln.layers.SeparableConv2D(2, 3, data_format="nchw"),
        "data_format",
    ),
}


@pytest.mark.parametrize("case", list(ERRORS), ids=list(ERRORS))
def test_argument_errors(case):
    make, expected = ERRORS[case]
    with pytest.raises(ValueError, match=expected):
        make()


@pytest.mark.parametrize(
    "make",
    [
        lambda: kiln.layers.DepthwiseConv2D(3, name="dw"),
        lambda: kiln.layers.SeparableConv2D(2, 3, name="dw"),
    ],
    ids=["depthwise", "separable"],
)
def test_wrong_input_rank_names_the_layer(make):
    with pytest.raises(ValueError, match='layer "dw".*ndim=4, found ndim=3'):
        make()(np.ones((1, 5, 5), "float32"))
