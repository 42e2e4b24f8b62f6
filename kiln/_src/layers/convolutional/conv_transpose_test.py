"""Conv1D/2D/3DTranspose against real Keras 3, by hand, and their errors."""

import itertools

import numpy as np
import pytest

import kiln
from kiln._src.testing.layer_harness import check_layer, keras_module

CASES = {
    "1d_basic": ("Conv1DTranspose", dict(filters=3, kernel_size=3), (5, 2)),
    "1d_stride_bigger_than_kernel": (
        "Conv1DTranspose",
        dict(filters=2, kernel_size=2, strides=3),
        (4, 2),
    ),
    "1d_same_output_padding": (
        "Conv1DTranspose",
        dict(filters=2, kernel_size=3, strides=3, padding="same", output_padding=1),
        (4, 3),
    ),
    "1d_cf_dilated": (
        "Conv1DTranspose",
        dict(filters=2, kernel_size=3, dilation_rate=2, data_format="channels_first"),
        (3, 5),
    ),
    "2d_basic": ("Conv2DTranspose", dict(filters=3, kernel_size=3), (4, 4, 2)),
    "2d_same_stride2": (
        "Conv2DTranspose",
        dict(filters=3, kernel_size=3, strides=2, padding="same"),
        (4, 5, 2),
    ),
    "2d_same_even_kernel": (
        "Conv2DTranspose",
        dict(filters=2, kernel_size=4, strides=2, padding="same"),
        (3, 4, 2),
    ),
    "2d_valid_output_padding": (
        "Conv2DTranspose",
        dict(filters=2, kernel_size=3, strides=(2, 3), output_padding=(1, 2)),
        (3, 3, 2),
    ),
    "2d_same_dilated": (
        "Conv2DTranspose",
        dict(filters=2, kernel_size=3, dilation_rate=2, padding="same"),
        (5, 5, 2),
    ),
    "2d_cf_same_output_padding": (
        "Conv2DTranspose",
        dict(
            filters=2,
            kernel_size=(2, 3),
            strides=2,
            padding="same",
            output_padding=(0, 1),
            data_format="channels_first",
        ),
        (3, 4, 4),
    ),
    "2d_extras": (
        "Conv2DTranspose",
        dict(
            filters=2,
            kernel_size=2,
            activation="tanh",
            use_bias=False,
            kernel_regularizer="l2",
            kernel_constraint="unit_norm",
        ),
        (3, 3, 2),
    ),
    "3d_basic": ("Conv3DTranspose", dict(filters=2, kernel_size=2), (3, 3, 3, 2)),
    "3d_cf_same_stride": (
        "Conv3DTranspose",
        dict(
            filters=2,
            kernel_size=3,
            strides=(1, 2, 2),
            padding="same",
            data_format="channels_first",
        ),
        (2, 3, 3, 2),
    ),
}
EXCHANGE_FILES = {"1d_basic", "2d_basic", "2d_extras", "3d_basic"}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_matches_keras(tmp_path, case):
    class_name, kwargs, input_shape = CASES[case]
    check_layer(
        tmp_path,
        lambda k: getattr(k.layers, class_name)(**kwargs),
        input_shape=input_shape,
        exchange_files=case in EXCHANGE_FILES,
    )


def _sweep(paddings: tuple[str, ...] = ("valid", "same")) -> list:
    combos = []
    for kernel, stride, dilation, padding, extra in itertools.product(
        (1, 2, 3, 4), (1, 2, 3), (1, 2), paddings, (None, 0, 1, 2)
    ):
        if stride > 1 and dilation > 1:
            continue
        if extra is not None and extra >= stride:
            continue
        combos.append((kernel, stride, dilation, padding, extra))
    return combos


def test_output_lengths_match_keras_everywhere():
    keras = keras_module()
    for kernel, stride, dilation, padding, extra in _sweep():
        kwargs = dict(
            filters=1,
            kernel_size=kernel,
            strides=stride,
            dilation_rate=dilation,
            padding=padding,
            output_padding=extra,
        )
        for length in (1, 4, 5, None):
            shape = (None, length, 2)
            ours = kiln.layers.Conv1DTranspose(**kwargs).compute_output_shape(shape)
            theirs = keras.layers.Conv1DTranspose(**kwargs).compute_output_shape(shape)
            assert tuple(ours) == tuple(theirs), (kwargs, length)


def test_values_match_keras_across_same_paddings():
    """Every kernel/stride/dilation/output_padding combination with "same"
    padding, eager, with the same random kernel: how the padding is split
    between the two ends matters there (with "valid" it is fixed)."""
    keras = keras_module()
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 5, 2)).astype("float32")
    for kernel, stride, dilation, padding, extra in _sweep(("same",)):
        kwargs = dict(
            filters=2,
            kernel_size=kernel,
            strides=stride,
            dilation_rate=dilation,
            padding=padding,
            output_padding=extra,
        )
        ours, theirs = (
            kiln.layers.Conv1DTranspose(**kwargs),
            keras.layers.Conv1DTranspose(**kwargs),
        )
        ours.build(x.shape)
        theirs.build(x.shape)
        weights = [rng.normal(size=w.shape).astype("float32") for w in theirs.weights]
        ours.set_weights(weights)
        theirs.set_weights(weights)
        np.testing.assert_allclose(
            ours(x), theirs(x), rtol=1e-5, atol=1e-5, err_msg=str(kwargs)
        )


def test_transpose_is_the_adjoint_of_conv():
    # <conv(x), y> == <x, conv_transpose(y)> with the same kernel.
    rng = np.random.default_rng(2)
    conv = kiln.layers.Conv2D(3, 3, strides=2, padding="same", use_bias=False)
    x = rng.normal(size=(1, 6, 6, 2)).astype("float32")
    y = np.asarray(conv(x))
    z = rng.normal(size=y.shape).astype("float32")
    transpose = kiln.layers.Conv2DTranspose(
        2, 3, strides=2, padding="same", use_bias=False
    )
    transpose.build(z.shape)
    transpose.set_weights([np.asarray(conv.kernel.value)])
    back = np.asarray(transpose(z))
    assert back.shape == x.shape
    np.testing.assert_allclose(np.sum(y * z), np.sum(x * back), rtol=1e-5)


def test_by_hand_stride_2():
    layer = kiln.layers.Conv1DTranspose(1, 2, strides=2, use_bias=False)
    layer.build((None, 3, 1))
    layer.set_weights([np.array([1.0, 10.0], "float32").reshape((2, 1, 1))])
    x = np.array([1.0, 2.0, 3.0], "float32").reshape((1, 3, 1))
    # Each input spreads into its own 2-long block: [x, 10x].
    np.testing.assert_allclose(layer(x)[0, :, 0], [1, 10, 2, 20, 3, 30])


def test_weights_and_config():
    layer = kiln.layers.Conv2DTranspose(5, (2, 3), output_padding=0, strides=2)
    layer.build((None, 4, 4, 3))
    assert [(v.name, v.shape) for v in layer.weights] == [
        ("kernel", (2, 3, 5, 3)),
        ("bias", (5,)),
    ]
    config = layer.get_config()
    assert config["output_padding"] == (0, 0)
    assert list(config)[3:8] == [
        "filters",
        "kernel_size",
        "strides",
        "padding",
        "output_padding",
    ]
    assert kiln.layers.Convolution2DTranspose is kiln.layers.Conv2DTranspose
    # Conv3DTranspose takes data_format before output_padding, like Keras.
    layer = kiln.layers.Conv3DTranspose(2, 2, 1, "same", "channels_first")
    assert layer.data_format == "channels_first"


ERRORS = {
    "filters_zero": (lambda: kiln.layers.Conv2DTranspose(0, 3), "filters=0"),
    "output_padding_too_big": (
        lambda: kiln.layers.Conv2DTranspose(2, 3, strides=2, output_padding=2),
        "output_padding",
    ),
    "output_padding_without_stride": (
        lambda: kiln.layers.Conv1DTranspose(2, 3, output_padding=1),
        "strictly less than `strides`",
    ),
    "output_padding_negative": (
        lambda: kiln.layers.Conv1DTranspose(2, 3, strides=2, output_padding=-1),
        "output_padding",
    ),
    "causal": (
        lambda: kiln.layers.Conv1DTranspose(2, 3, padding="causal"),
        "padding='causal'",
    ),
    "strides_and_dilation": (
        lambda: kiln.layers.Conv2DTranspose(2, 3, strides=2, dilation_rate=2),
        "dilation_rate",
    ),
    "kernel_size_wrong_length": (
        lambda: kiln.layers.Conv3DTranspose(2, (3, 3)),
        "kernel_size",
    ),
}


@pytest.mark.parametrize("case", list(ERRORS), ids=list(ERRORS))
def test_argument_errors(case):
    make, expected = ERRORS[case]
    with pytest.raises(ValueError, match=expected.replace("(", r"\(")):
        make()


def test_wrong_input_rank_names_the_layer():
    layer = kiln.layers.Conv2DTranspose(2, 3, name="up")
    with pytest.raises(ValueError, match='layer "up".*ndim=4, found ndim=5'):
        layer(np.ones((1, 2, 3, 3, 1), "float32"))
