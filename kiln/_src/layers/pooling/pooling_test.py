"""Max/AveragePooling1D/2D/3D against real Keras 3, by hand, and errors."""

import itertools

import numpy as np
import pytest

import kiln
from kiln._src.testing.layer_harness import check_layer, keras_module

CASES = {
    "max1d_default": ("MaxPooling1D", dict(), (9, 3)),
    "max1d_same_stride1": (
        "MaxPooling1D",
        dict(pool_size=3, strides=1, padding="same"),
        (7, 2),
    ),
    "max1d_cf": (
        "MaxPooling1D",
        dict(pool_size=3, strides=2, data_format="channels_first"),
        (2, 9),
    ),
    "max2d_default": ("MaxPooling2D", dict(), (7, 6, 3)),
    "max2d_same_rect": (
        "MaxPooling2D",
        dict(pool_size=(3, 2), strides=(2, 1), padding="same"),
        (7, 5, 2),
    ),
    "max2d_cf_upper_same": (
        "MaxPooling2D",
        dict(pool_size=3, strides=2, padding="same", data_format="channels_first"),
        (2, 7, 6),
    ),
    "max3d_default": ("MaxPooling3D", dict(), (4, 5, 4, 2)),
    "max3d_cf_same": (
        "MaxPooling3D",
        dict(
            pool_size=(2, 3, 2), strides=2, padding="same", data_format="channels_first"
        ),
        (2, 5, 5, 3),
    ),
    "avg1d_valid": ("AveragePooling1D", dict(pool_size=2), (9, 3)),
    "avg1d_same": (
        "AveragePooling1D",
        dict(pool_size=3, strides=2, padding="same"),
        (8, 2),
    ),
    "avg1d_cf_same": (
        "AveragePooling1D",
        dict(pool_size=4, strides=1, padding="same", data_format="channels_first"),
        (2, 7),
    ),
    "avg2d_valid": ("AveragePooling2D", dict(pool_size=(2, 3)), (6, 7, 3)),
    "avg2d_same": (
        "AveragePooling2D",
        dict(pool_size=3, strides=2, padding="same"),
        (7, 6, 2),
    ),
    "avg2d_cf_same_stride1": (
        "AveragePooling2D",
        dict(pool_size=(3, 2), strides=1, padding="same", data_format="channels_first"),
        (2, 5, 6),
    ),
    "avg3d_valid": ("AveragePooling3D", dict(pool_size=2), (4, 5, 4, 2)),
    "avg3d_same_cf": (
        "AveragePooling3D",
        dict(
            pool_size=3, strides=(1, 2, 2), padding="same", data_format="channels_first"
        ),
        (2, 4, 5, 5),
    ),
}
EXCHANGE_FILES = {"max2d_default", "avg1d_same"}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_matches_keras(tmp_path, case):
    class_name, kwargs, input_shape = CASES[case]
    check_layer(
        tmp_path,
        lambda k: getattr(k.layers, class_name)(**kwargs),
        input_shape=input_shape,
        exchange_files=case in EXCHANGE_FILES,
    )


def test_average_same_divides_by_real_elements():
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0], "float32").reshape((1, 5, 1))
    out = kiln.layers.AveragePooling1D(3, strides=1, padding="same")(x)
    # Windows: [pad,1,2] -> 1.5, [1,2,3] -> 2, ..., [4,5,pad] -> 4.5
    np.testing.assert_allclose(np.asarray(out)[0, :, 0], [1.5, 2, 3, 4, 4.5])
    ones = np.ones((2, 5, 7, 3), "float32")
    out = kiln.layers.AveragePooling2D(3, strides=2, padding="same")(ones)
    np.testing.assert_allclose(out, np.ones((2, 3, 4, 3)))


def test_max_pooling_by_hand_with_negative_values():
    x = -np.arange(1.0, 10.0, dtype="float32").reshape((1, 3, 3, 1))
    out = kiln.layers.MaxPooling2D(2, strides=2, padding="same")(x)
    # Padding never wins: the bottom-right window holds only -9.
    np.testing.assert_allclose(np.asarray(out)[0, :, :, 0], [[-1, -3], [-7, -9]])


def test_output_shapes_match_keras_everywhere():
    keras = keras_module()
    for pool, stride, padding, length in itertools.product(
        (1, 2, 3), (None, 1, 2, 3), ("valid", "same"), (3, 4, 7, None)
    ):
        kwargs = dict(pool_size=pool, strides=stride, padding=padding)
        shape = (None, length, 2)
        for name in ("MaxPooling1D", "AveragePooling1D"):
            ours = getattr(kiln.layers, name)(**kwargs).compute_output_shape(shape)
            theirs = getattr(keras.layers, name)(**kwargs).compute_output_shape(shape)
            assert tuple(ours) == tuple(theirs), (name, kwargs, length)


@pytest.mark.parametrize(
    "class_name, kwargs",
    [
        ("MaxPooling2D", dict(pool_size=3, strides=2, padding="same")),
        ("AveragePooling2D", dict(pool_size=3, strides=2, padding="same")),
        ("AveragePooling1D", dict(pool_size=2, strides=1)),
    ],
    ids=["max2d_same", "avg2d_same", "avg1d_valid"],
)
def test_input_gradients_match_keras(class_name, kwargs):
    import jax
    import jax.numpy as jnp

    keras = keras_module()
    rng = np.random.default_rng(3)
    rank = int(class_name[-2])
    x = jnp.asarray(rng.normal(size=(2, *(7,) * rank, 3)).astype("float32"))
    out_shape = getattr(kiln.layers, class_name)(**kwargs).compute_output_shape(x.shape)
    weights = jnp.asarray(rng.normal(size=out_shape).astype("float32"))
    grads = []
    for lib in (kiln, keras):
        layer = getattr(lib.layers, class_name)(**kwargs)
        grads.append(jax.grad(lambda v, f=layer: jnp.sum(f(v) * weights))(x))
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-6, atol=1e-6)


def test_config_no_build_config_and_aliases():
    layer = kiln.layers.MaxPooling2D(padding="SAME")
    assert layer.built and layer.get_build_config() is None
    # Lowercased (Keras keeps "SAME" but then fails on symbolic inputs).
    assert layer.get_config()["padding"] == "same"
    assert layer.get_config()["strides"] == (2, 2)
    assert kiln.layers.AveragePooling1D(3).get_config()["strides"] == (3,)
    assert kiln.layers.MaxPool1D is kiln.layers.MaxPooling1D
    assert kiln.layers.MaxPool2D is kiln.layers.MaxPooling2D
    assert kiln.layers.MaxPool3D is kiln.layers.MaxPooling3D
    assert kiln.layers.AvgPool1D is kiln.layers.AveragePooling1D
    assert kiln.layers.AvgPool2D is kiln.layers.AveragePooling2D
    assert kiln.layers.AvgPool3D is kiln.layers.AveragePooling3D


def test_symbolic_shape_with_unknown_dims():
    out = kiln.layers.AveragePooling2D(3, strides=2, padding="same")(
        kiln.Input((None, 7, 4))
    )
    assert out.shape == (None, None, 4, 4)


ERRORS = {
    "bad_padding": (lambda: kiln.layers.MaxPooling2D(padding="full"), "padding='full'"),
    "causal_padding": (
        lambda: kiln.layers.AveragePooling1D(2, padding="causal"),
        "padding='causal'",
    ),
    "pool_size_zero": (lambda: kiln.layers.MaxPooling1D(0), "pool_size"),
    "pool_size_wrong_length": (
        lambda: kiln.layers.AveragePooling2D((2, 2, 2)),
        "pool_size",
    ),
    "strides_zero": (lambda: kiln.layers.MaxPooling2D(strides=0), "strides"),
    "bad_data_format": (
        lambda: kiln.layers.MaxPooling3D(data_format="NDHWC"),
        "data_format",
    ),
}


@pytest.mark.parametrize("case", list(ERRORS), ids=list(ERRORS))
def test_argument_errors(case):
    make, expected = ERRORS[case]
    with pytest.raises(ValueError, match=expected):
        make()


def test_average_pool_size_is_required():
    with pytest.raises(TypeError, match="pool_size"):
        kiln.layers.AveragePooling2D()


@pytest.mark.parametrize("symbolic", [False, True], ids=["eager", "symbolic"])
def test_wrong_input_rank_names_the_layer(symbolic):
    layer = kiln.layers.MaxPooling2D(name="pool")
    x = kiln.Input((8, 3)) if symbolic else np.ones((2, 8, 3), "float32")
    with pytest.raises(ValueError, match='layer "pool".*ndim=4, found ndim=3'):
        layer(x)


def test_window_larger_than_input():
    with pytest.raises(ValueError, match="zero or negative"):
        kiln.layers.MaxPooling2D(7)(kiln.Input((5, 5, 1)))
    with pytest.raises(ValueError, match="zero or negative"):
        kiln.layers.AveragePooling1D(4)(np.ones((1, 3, 1), "float32"))
