"""GlobalMax/GlobalAveragePooling1D/2D/3D against real Keras 3, by hand, and
GlobalAveragePooling1D's mask."""

import jax.numpy as jnp
import numpy as np
import pytest

import kiln
from kiln._src.testing.layer_harness import check_layer, keras_module

CASES = {
    "max1d": ("GlobalMaxPooling1D", dict(), (6, 3)),
    "max1d_cf_keepdims": (
        "GlobalMaxPooling1D",
        dict(data_format="channels_first", keepdims=True),
        (3, 6),
    ),
    "max2d": ("GlobalMaxPooling2D", dict(), (4, 5, 3)),
    "max2d_cf_keepdims": (
        "GlobalMaxPooling2D",
        dict(data_format="channels_first", keepdims=True),
        (3, 4, 5),
    ),
    "max3d_keepdims": ("GlobalMaxPooling3D", dict(keepdims=True), (3, 4, 2, 3)),
    "max3d_cf": (
        "GlobalMaxPooling3D",
        dict(data_format="channels_first"),
        (2, 3, 4, 2),
    ),
    "avg1d": ("GlobalAveragePooling1D", dict(), (6, 3)),
    "avg1d_cf_keepdims": (
        "GlobalAveragePooling1D",
        dict(data_format="channels_first", keepdims=True),
        (3, 6),
    ),
    "avg2d_keepdims": ("GlobalAveragePooling2D", dict(keepdims=True), (4, 5, 3)),
    "avg2d_cf": (
        "GlobalAveragePooling2D",
        dict(data_format="channels_first"),
        (3, 4, 5),
    ),
    "avg3d": ("GlobalAveragePooling3D", dict(), (3, 4, 2, 3)),
    "avg3d_cf_keepdims": (
        "GlobalAveragePooling3D",
        dict(data_format="channels_first", keepdims=True),
        (2, 3, 4, 2),
    ),
}
EXCHANGE_FILES = {"max2d", "avg1d"}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_matches_keras(tmp_path, case):
    class_name, kwargs, input_shape = CASES[case]
    check_layer(
        tmp_path,
        lambda k: getattr(k.layers, class_name)(**kwargs),
        input_shape=input_shape,
        exchange_files=case in EXCHANGE_FILES,
    )


def test_by_hand():
    x = np.arange(12, dtype="float32").reshape((1, 2, 3, 2))
    np.testing.assert_allclose(kiln.layers.GlobalMaxPooling2D()(x), [[10.0, 11.0]])
    np.testing.assert_allclose(kiln.layers.GlobalAveragePooling2D()(x), [[5.0, 6.0]])
    out = kiln.layers.GlobalAveragePooling2D(data_format="channels_first")(x)
    np.testing.assert_allclose(out, [[2.5, 8.5]])
    assert kiln.layers.GlobalMaxPooling2D(keepdims=True)(x).shape == (1, 1, 1, 2)


@pytest.mark.parametrize(
    "data_format, keepdims",
    [("channels_last", False), ("channels_first", True)],
    ids=["channels_last", "channels_first_keepdims"],
)
def test_average_1d_mask_matches_keras(data_format, keepdims):
    keras = keras_module()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 5, 4)).astype("float32")
    if data_format == "channels_first":
        x = np.transpose(x, (0, 2, 1))
    mask = np.array([[1, 1, 1, 0, 0], [1, 0, 1, 0, 1], [1, 1, 1, 1, 1]], dtype=bool)
    kwargs = dict(data_format=data_format, keepdims=keepdims)
    ours = kiln.layers.GlobalAveragePooling1D(**kwargs)(x, mask=mask)
    theirs = keras.layers.GlobalAveragePooling1D(**kwargs)(x, mask=mask)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)
    # By hand: the first sample averages its first three steps only.
    steps_axis = 1 if data_format == "channels_last" else 2
    expected = np.take(x[0], [0, 1, 2], axis=steps_axis - 1).mean(axis=steps_axis - 1)
    np.testing.assert_allclose(np.asarray(ours)[0].reshape(-1), expected, rtol=1e-6)


def test_average_1d_mask_in_a_model():
    # A functional model passes the mask of a masked input on to the layer.
    class MaskSecondHalf(kiln.layers.Layer):
        def call(self, x):
            return x

        def compute_mask(self, x, previous_mask=None):
            steps = x.shape[1]
            keep = np.arange(steps) < steps // 2
            return jnp.broadcast_to(keep, x.shape[:2])

    inputs = kiln.Input((6, 2))
    pooled = kiln.layers.GlobalAveragePooling1D()(MaskSecondHalf()(inputs))
    assert getattr(pooled, "_keras_mask", None) is None
    model = kiln.Model(inputs, pooled)
    x = np.random.default_rng(0).normal(size=(2, 6, 2)).astype("float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), x[:, :3].mean(axis=1))


def test_masking_support_flags():
    layer = kiln.layers.GlobalAveragePooling1D()
    assert layer.supports_masking
    assert layer.compute_mask(np.ones((2, 3, 1)), np.ones((2, 3), bool)) is None


def test_config_and_aliases():
    layer = kiln.layers.GlobalAveragePooling3D(data_format="channels_first")
    assert layer.built and layer.get_build_config() is None
    config = layer.get_config()
    assert list(config)[3:] == ["data_format", "keepdims"]
    assert config["data_format"] == "channels_first"
    assert kiln.layers.GlobalMaxPool1D is kiln.layers.GlobalMaxPooling1D
    assert kiln.layers.GlobalMaxPool2D is kiln.layers.GlobalMaxPooling2D
    assert kiln.layers.GlobalMaxPool3D is kiln.layers.GlobalMaxPooling3D
    assert kiln.layers.GlobalAvgPool1D is kiln.layers.GlobalAveragePooling1D
    assert kiln.layers.GlobalAvgPool2D is kiln.layers.GlobalAveragePooling2D
    assert kiln.layers.GlobalAvgPool3D is kiln.layers.GlobalAveragePooling3D


def test_compute_output_shape():
    layer = kiln.layers.GlobalMaxPooling2D(keepdims=True, data_format="channels_first")
    assert layer.compute_output_shape((None, 3, None, 5)) == (None, 3, 1, 1)
    assert kiln.layers.GlobalAveragePooling3D().compute_output_shape(
        (2, 4, 4, 4, 7)
    ) == (2, 7)


def test_errors():
    with pytest.raises(ValueError, match="data_format"):
        kiln.layers.GlobalMaxPooling1D(data_format="channels_middle")
    layer = kiln.layers.GlobalAveragePooling2D(name="gap")
    with pytest.raises(ValueError, match='layer "gap".*ndim=4, found ndim=3'):
        layer(np.ones((2, 3, 4), "float32"))
