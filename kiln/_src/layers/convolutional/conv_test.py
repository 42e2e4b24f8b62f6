"""Conv1D/2D/3D against real Keras 3, by hand, and their argument errors."""

import numpy as np
import pytest

import kiln
from kiln._src.testing.layer_harness import check_layer, keras_module

CASES = {
    # name: (class name, kwargs, input_shape)
    "1d_basic": ("Conv1D", dict(filters=4, kernel_size=3), (9, 3)),
    "1d_same_stride2": (
        "Conv1D",
        dict(filters=3, kernel_size=4, strides=2, padding="same"),
        (9, 2),
    ),
    "1d_causal_dilated": (
        "Conv1D",
        dict(filters=2, kernel_size=3, padding="causal", dilation_rate=2),
        (10, 3),
    ),
    "1d_causal_stride2": (
        "Conv1D",
        dict(filters=2, kernel_size=2, padding="CAUSAL", strides=2),
        (9, 2),
    ),
    "1d_channels_first_groups": (
        "Conv1D",
        dict(filters=4, kernel_size=3, groups=2, data_format="channels_first"),
        (4, 8),
    ),
    "1d_cf_causal": (
        "Conv1D",
        dict(filters=3, kernel_size=3, padding="causal", data_format="channels_first"),
        (2, 7),
    ),
    "2d_basic": ("Conv2D", dict(filters=4, kernel_size=3), (7, 7, 3)),
    "2d_same_stride2_even_kernel": (
        "Conv2D",
        dict(filters=3, kernel_size=4, strides=2, padding="same"),
        (8, 7, 2),
    ),
    "2d_same_dilated": (
        "Conv2D",
        dict(filters=3, kernel_size=3, dilation_rate=(2, 1), padding="same"),
        (8, 8, 2),
    ),
    "2d_rect_strides": (
        "Conv2D",
        dict(filters=2, kernel_size=(3, 2), strides=(2, 1)),
        (9, 6, 3),
    ),
    "2d_channels_first_same_stride": (
        "Conv2D",
        dict(
            filters=3,
            kernel_size=3,
            strides=2,
            padding="same",
            data_format="channels_first",
        ),
        (2, 7, 6),
    ),
    "2d_groups": ("Conv2D", dict(filters=6, kernel_size=2, groups=3), (5, 5, 6)),
    "2d_cf_groups_dilated": (
        "Conv2D",
        dict(
            filters=4,
            kernel_size=2,
            groups=2,
            dilation_rate=2,
            padding="same",
            data_format="channels_first",
        ),
        (4, 6, 6),
    ),
    "2d_relu_no_bias": (
        "Conv2D",
        dict(filters=3, kernel_size=1, activation="relu", use_bias=False),
        (4, 4, 2),
    ),
    "2d_extras": (
        "Conv2D",
        dict(
            filters=2,
            kernel_size=3,
            kernel_initializer="he_normal",
            bias_initializer="ones",
            kernel_regularizer="l2",
            bias_regularizer="l1",
            activity_regularizer="l1",
            kernel_constraint="max_norm",
            bias_constraint="non_neg",
        ),
        (5, 5, 2),
    ),
    "3d_basic": ("Conv3D", dict(filters=2, kernel_size=2), (4, 4, 4, 2)),
    "3d_cf_same_stride_groups": (
        "Conv3D",
        dict(
            filters=4,
            kernel_size=3,
            strides=(2, 1, 2),
            padding="same",
            groups=2,
            data_format="channels_first",
        ),
        (2, 5, 4, 5),
    ),
    "3d_valid_dilated": (
        "Conv3D",
        dict(filters=2, kernel_size=(2, 3, 2), dilation_rate=(2, 1, 2)),
        (5, 4, 5, 1),
    ),
}


# The `.keras` file exchange (the slow part) is checked once per class and
# for the options that change the weights' shapes.
EXCHANGE_FILES = {"1d_basic", "2d_basic", "2d_groups", "2d_relu_no_bias", "3d_basic"}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_matches_keras(tmp_path, case):
    class_name, kwargs, input_shape = CASES[case]
    check_layer(
        tmp_path,
        lambda k: getattr(k.layers, class_name)(**kwargs),
        input_shape=input_shape,
        exchange_files=case in EXCHANGE_FILES,
    )


def test_conv1d_by_hand():
    layer = kiln.layers.Conv1D(1, 2, use_bias=True)
    layer.build((None, 4, 1))
    layer.set_weights([np.array([[[1.0]], [[-2.0]]], "float32"), np.array([0.5])])
    x = np.array([1.0, 2.0, 4.0, 8.0], "float32").reshape((1, 4, 1))
    # Cross-correlation: out[t] = x[t] - 2 x[t + 1] + 0.5
    np.testing.assert_allclose(layer(x)[0, :, 0], [-2.5, -5.5, -11.5])


def test_conv2d_same_stride_padding_is_bottom_right_heavy():
    # 4x4 input, 2x2 kernel of ones, stride 2, "same": no padding needed, so
    # each output is the sum of a 2x2 block. 5x5 input: one row/column of
    # padding, added at the end (bottom/right).
    layer = kiln.layers.Conv2D(1, 2, strides=2, padding="same", use_bias=False)
    layer.build((None, 5, 5, 1))
    layer.set_weights([np.ones((2, 2, 1, 1), "float32")])
    x = np.arange(25, dtype="float32").reshape((1, 5, 5, 1))
    out = np.asarray(layer(x))[0, :, :, 0]
    assert out.shape == (3, 3)
    assert out[0, 0] == 0 + 1 + 5 + 6
    assert out[2, 2] == 24  # the last window covers only x[4, 4]


def test_causal_padding_never_sees_the_future():
    layer = kiln.layers.Conv1D(2, 3, padding="causal", dilation_rate=2)
    x = np.random.default_rng(0).normal(size=(1, 10, 3)).astype("float32")
    changed = x.copy()
    changed[:, 6:] += 1.0
    a, b = np.asarray(layer(x)), np.asarray(layer(changed))
    np.testing.assert_array_equal(a[:, :6], b[:, :6])
    assert not np.allclose(a[:, 6:], b[:, 6:])


def test_groups_do_not_mix_channels():
    layer = kiln.layers.Conv2D(4, 1, groups=2, use_bias=False)
    x = np.zeros((1, 2, 2, 4), "float32")
    x[..., :2] = 1.0  # only group 0 has input
    out = np.asarray(layer(x))
    assert layer.kernel.shape == (1, 1, 2, 4)
    np.testing.assert_array_equal(out[..., 2:], 0.0)


@pytest.mark.parametrize(
    "class_name, kwargs, input_shape",
    [
        (
            "Conv1D",
            dict(filters=3, kernel_size=3, strides=2, padding="causal"),
            (None, None, 2),
        ),
        (
            "Conv2D",
            dict(filters=3, kernel_size=3, dilation_rate=2),
            (None, 11, None, 2),
        ),
        (
            "Conv2D",
            dict(
                filters=3,
                kernel_size=4,
                strides=3,
                padding="same",
                data_format="channels_first",
            ),
            (2, 2, 10, 7),
        ),
        (
            "Conv3D",
            dict(filters=1, kernel_size=(1, 2, 3), strides=(1, 2, 3)),
            (None, 4, 6, 9, 1),
        ),
    ],
    ids=["1d_causal_unknown", "2d_dilated_partly_unknown", "2d_cf_same", "3d"],
)
def test_compute_output_shape_matches_keras(class_name, kwargs, input_shape):
    keras = keras_module()
    ours = getattr(kiln.layers, class_name)(**kwargs).compute_output_shape(input_shape)
    theirs = getattr(keras.layers, class_name)(**kwargs).compute_output_shape(
        input_shape
    )
    assert tuple(ours) == tuple(theirs)


def test_symbolic_output_shape_and_build_config():
    inputs = kiln.Input((None, 8, 3))
    layer = kiln.layers.Conv2D(5, 3, strides=2, padding="same")
    assert layer(inputs).shape == (None, None, 4, 5)
    assert layer.get_build_config() == {"input_shape": [None, None, 8, 3]}
    assert [(v.name, v.shape) for v in layer.weights] == [
        ("kernel", (3, 3, 3, 5)),
        ("bias", (5,)),
    ]


def test_trains_in_a_model():
    # The bench's small CNN: gradients flow through conv and pooling layers.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 8, 8, 1)).astype("float32")
    y = (x.mean(axis=(1, 2, 3)) > 0).astype("int32")
    model = kiln.Sequential(
        [
            kiln.Input((8, 8, 1)),
            kiln.layers.Conv2D(4, 3, activation="relu", padding="same"),
            kiln.layers.MaxPooling2D(),
            kiln.layers.Conv2D(4, 3, activation="relu"),
            kiln.layers.GlobalAveragePooling2D(),
            kiln.layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    before = [np.asarray(w) for w in model.get_weights()]
    history = model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    after = model.get_weights()
    assert all(not np.allclose(b, a) for b, a in zip(before, after))


ERRORS = {
    "filters_zero": (lambda: kiln.layers.Conv2D(filters=0, kernel_size=3), "filters=0"),
    "filters_negative": (lambda: kiln.layers.Conv1D(-2, 3), "filters=-2"),
    "filters_float": (lambda: kiln.layers.Conv3D(2.5, 3), "filters=2.5"),
    "groups_zero": (lambda: kiln.layers.Conv2D(4, 3, groups=0), "groups=0"),
    "groups_not_dividing_filters": (
        lambda: kiln.layers.Conv2D(5, 3, groups=2),
        "groups=2, filters=5",
    ),
    "bad_padding": (lambda: kiln.layers.Conv2D(2, 3, padding="full"), "padding='full'"),
    "causal_2d": (
        lambda: kiln.layers.Conv2D(2, 3, padding="causal"),
        "padding='causal'",
    ),
    "bad_data_format": (
        lambda: kiln.layers.Conv2D(2, 3, data_format="NHWC"),
        "data_format='NHWC'",
    ),
    "kernel_size_zero": (lambda: kiln.layers.Conv2D(2, (3, 0)), "kernel_size"),
    "kernel_size_wrong_length": (
        lambda: kiln.layers.Conv2D(2, (3, 3, 3)),
        "kernel_size",
    ),
    "kernel_size_string": (lambda: kiln.layers.Conv1D(2, "3"), "kernel_size"),
    "strides_zero": (lambda: kiln.layers.Conv1D(2, 3, strides=0), "strides"),
    "strides_and_dilation": (
        lambda: kiln.layers.Conv2D(2, 3, strides=2, dilation_rate=2),
        "dilation_rate",
    ),
    "unknown_kwarg": (lambda: kiln.layers.Conv2D(2, 3, kernel=3), "kernel"),
}


@pytest.mark.parametrize("case", list(ERRORS), ids=list(ERRORS))
def test_argument_errors(case):
    make, expected = ERRORS[case]
    with pytest.raises(
        ValueError, match=expected.replace("(", r"\(").replace(")", r"\)")
    ):
        make()


def test_lora_is_refused():
    with pytest.raises(NotImplementedError, match="lora_rank=4"):
        kiln.layers.Conv2D(2, 3, lora_rank=4)


@pytest.mark.parametrize("symbolic", [False, True], ids=["eager", "symbolic"])
def test_wrong_input_rank_names_the_layer(symbolic):
    layer = kiln.layers.Conv2D(2, 3, name="my_conv")
    x = kiln.Input((8, 3)) if symbolic else np.ones((2, 8, 3), "float32")
    with pytest.raises(ValueError, match='layer "my_conv".*ndim=4, found ndim=3'):
        layer(x)
    assert not layer.weights


def test_channels_not_divisible_by_groups():
    with pytest.raises(ValueError, match="groups=2, but the input has 3 channels"):
        kiln.layers.Conv2D(4, 3, groups=2)(np.ones((1, 5, 5, 3), "float32"))


def test_input_smaller_than_kernel():
    with pytest.raises(ValueError, match="zero or negative"):
        kiln.layers.Conv2D(2, 7)(kiln.Input((5, 5, 1)))
    with pytest.raises(ValueError, match="zero or negative"):
        kiln.layers.Conv1D(2, 3, dilation_rate=3)(np.ones((1, 6, 1), "float32"))


def test_unknown_channels():
    with pytest.raises(ValueError, match="channel dimension"):
        kiln.layers.Conv2D(2, 3)(kiln.Input((5, 5, None)))


def test_wrong_channel_count_after_build():
    layer = kiln.layers.Conv2D(2, 3, name="c")
    layer(np.ones((1, 5, 5, 3), "float32"))
    with pytest.raises(ValueError, match='layer "c".*axis -1'):
        layer(np.ones((1, 5, 5, 4), "float32"))


def test_aliases_and_config_round_trip():
    assert kiln.layers.Convolution2D is kiln.layers.Conv2D
    assert kiln.layers.Convolution1D is kiln.layers.Conv1D
    assert kiln.layers.Convolution3D is kiln.layers.Conv3D
    layer = kiln.layers.Conv2D(3, [2, 3], strides=[1, 2], padding="SAME", name="c")
    config = layer.get_config()
    assert config["kernel_size"] == (2, 3) and config["padding"] == "same"
    restored = kiln.layers.Conv2D.from_config(config)
    assert restored.get_config() == config
