import os
import warnings

import numpy as np
import pytest

import kiln
from kiln._src.testing.layer_harness import check_layer, keras_module

os.environ.setdefault("KERAS_BACKEND", "jax")

# Non-trivial statistics, so that copied weights matter.
_BN_INIT = dict(
    gamma_initializer="random_normal",
    beta_initializer="random_normal",
    moving_mean_initializer="random_normal",
    moving_variance_initializer="random_uniform",
)
_AFFINE_INIT = dict(gamma_initializer="random_normal", beta_initializer="random_normal")


@pytest.mark.parametrize(
    "factory, shape",
    [
        (lambda k: k.layers.BatchNormalization(**_BN_INIT), (4,)),
        (lambda k: k.layers.BatchNormalization(axis=1, **_BN_INIT), (3, 5)),
        (
            lambda k: k.layers.BatchNormalization(
                momentum=0.9, epsilon=0.1, center=False, **_BN_INIT
            ),
            (2, 3, 4),
        ),
        (lambda k: k.layers.BatchNormalization(scale=False), (4,)),
        (
            lambda k: k.layers.BatchNormalization(
                gamma_regularizer="l2", beta_constraint="non_neg"
            ),
            (4,),
        ),
        (
            lambda k: k.layers.BatchNormalization(
                renorm=True, renorm_clipping={"rmax": 2.0}, **_BN_INIT
            ),
            (4,),
        ),
        (lambda k: k.layers.LayerNormalization(**_AFFINE_INIT), (4,)),
        (lambda k: k.layers.LayerNormalization(axis=[1, 2], **_AFFINE_INIT), (3, 5)),
        (lambda k: k.layers.LayerNormalization(axis=1, epsilon=0.5), (3, 5)),
        (lambda k: k.layers.LayerNormalization(center=False, scale=False), (4,)),
        (
            lambda k: k.layers.LayerNormalization(
                axis=(-1, 1), gamma_regularizer="l1", **_AFFINE_INIT
            ),
            (3, 2, 5),
        ),
        (lambda k: k.layers.GroupNormalization(groups=2, **_AFFINE_INIT), (3, 4)),
        (lambda k: k.layers.GroupNormalization(groups=-1, axis=1), (4, 3, 2)),
        (lambda k: k.layers.GroupNormalization(groups=1, center=False), (2, 3, 6)),
        (lambda k: k.layers.GroupNormalization(groups=3, axis=-2), (6, 2)),
        (lambda k: k.layers.UnitNormalization(), (4,)),
        (lambda k: k.layers.UnitNormalization(axis=[1, 2]), (3, 4)),
        (lambda k: k.layers.RMSNormalization(), (4,)),
        (lambda k: k.layers.RMSNormalization(axis=[1, 2], epsilon=0.1), (3, 4)),
    ],
    ids=[
        "bn",
        "bn_axis1",
        "bn_momentum_no_center",
        "bn_no_scale",
        "bn_regularizer_constraint",
        "bn_renorm",
        "ln",
        "ln_two_axes",
        "ln_axis1",
        "ln_plain",
        "ln_unsorted_axes",
        "gn",
        "gn_instance_channels_first",
        "gn_one_group",
        "gn_axis_minus2",
        "unit",
        "unit_two_axes",
        "rms",
        "rms_two_axes",
    ],
)
def test_normalization_layers_match_keras(tmp_path, factory, shape):
    check_layer(tmp_path, factory, shape)


def test_layer_normalization_rms_scaling_matches_keras(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_layer(
            tmp_path,
            lambda k: k.layers.LayerNormalization(rms_scaling=True),
            (3, 5),
        )


def test_rms_scaling_is_deprecated():
    with pytest.warns(UserWarning, match="RMSNormalization"):
        kiln.layers.LayerNormalization(rms_scaling=True)


# -- BatchNormalization: training vs inference --------------------------------
def test_batch_norm_training_uses_batch_statistics_and_updates_moving_ones():
    layer = kiln.layers.BatchNormalization(momentum=0.8, epsilon=1e-3)
    x = np.random.default_rng(0).normal(2.0, 3.0, size=(16, 3)).astype("float32")
    y = np.asarray(layer(x, training=True))
    mean, var = x.mean(0), x.var(0)
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-3), atol=1e-5)
    np.testing.assert_allclose(layer.moving_mean.numpy(), 0.2 * mean, rtol=1e-5)
    np.testing.assert_allclose(
        layer.moving_variance.numpy(), 0.8 + 0.2 * var, rtol=1e-5
    )
    # Inference: the moving statistics, and no update.
    before = layer.moving_mean.numpy()
    y = np.asarray(layer(x))
    expected = (x - before) / np.sqrt(layer.moving_variance.numpy() + 1e-3)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(layer.moving_mean.numpy(), before)


def test_batch_norm_weights_order_and_trainability():
    layer = kiln.layers.BatchNormalization()
    layer.build((None, 3))
    assert [w.name for w in layer.weights] == [
        "gamma",
        "beta",
        "moving_mean",
        "moving_variance",
    ]
    assert [w.name for w in layer.trainable_weights] == ["gamma", "beta"]
    assert [w.name for w in layer.non_trainable_weights] == [
        "moving_mean",
        "moving_variance",
    ]


def test_frozen_batch_norm_runs_in_inference_mode():
    layer = kiln.layers.BatchNormalization()
    x = np.random.default_rng(1).normal(5.0, 2.0, size=(8, 2)).astype("float32")
    layer.build(x.shape)
    layer.trainable = False
    y = np.asarray(layer(x, training=True))
    np.testing.assert_allclose(y, x / np.sqrt(1.0 + 1e-3), rtol=1e-6)
    np.testing.assert_array_equal(layer.moving_mean.numpy(), [0.0, 0.0])


def test_batch_norm_mask_excludes_positions_from_statistics():
    layer = kiln.layers.BatchNormalization(momentum=0.0)
    x = np.random.default_rng(2).normal(size=(2, 4, 3)).astype("float32")
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 0]], bool)
    layer(x, training=True, mask=mask)
    kept = x[mask]
    np.testing.assert_allclose(layer.moving_mean.numpy(), kept.mean(0), atol=1e-5)
    np.testing.assert_allclose(layer.moving_variance.numpy(), kept.var(0), atol=1e-5)
    with pytest.raises(ValueError, match="mask"):
        layer(x, training=True, mask=np.ones((2, 4, 3), bool))


def _bn_model(lib, renorm=False):
    inputs = lib.Input((4,))
    x = lib.layers.Dense(3, name="d1")(inputs)
    x = lib.layers.BatchNormalization(
        momentum=0.9, renorm=renorm, name="bn", **_BN_INIT
    )(x)
    outputs = lib.layers.Dense(1, name="d2")(x)
    return lib.Model(inputs, outputs)


@pytest.mark.parametrize("renorm", [False, True], ids=["plain", "renorm"])
def test_fit_updates_moving_statistics_like_keras(renorm):
    keras = keras_module()
    keras_model = _bn_model(keras, renorm)
    kiln_model = _bn_model(kiln, renorm)
    initial = keras_model.get_weights()
    kiln_model.set_weights(initial)
    rng = np.random.default_rng(3)
    x = rng.normal(1.0, 2.0, size=(16, 4)).astype("float32")
    y = rng.normal(size=(16, 1)).astype("float32")
    for model, lib in ((keras_model, keras), (kiln_model, kiln)):
        model.compile(optimizer=lib.optimizers.SGD(0.1), loss="mse")
        model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for expected, actual, variable in zip(
        keras_model.get_weights(), kiln_model.get_weights(), kiln_model.weights
    ):
        np.testing.assert_allclose(
            actual, expected, rtol=1e-5, atol=1e-6, err_msg=variable.path
        )
    # d1 kernel, d1 bias, then bn: gamma, beta, moving_mean, moving_variance.
    bn = kiln_model.get_layer("bn")
    assert not np.allclose(bn.moving_mean.numpy(), initial[4])
    assert not np.allclose(bn.moving_variance.numpy(), initial[5])


# -- shapes, configs and errors -----------------------------------------------
@pytest.mark.parametrize(
    "layer",
    [
        kiln.layers.BatchNormalization(axis=3),
        kiln.layers.LayerNormalization(axis=[1, 5]),
        kiln.layers.GroupNormalization(axis=4),
        kiln.layers.UnitNormalization(axis=-4),
        kiln.layers.RMSNormalization(axis=3),
    ],
    ids=["bn", "ln", "gn", "unit", "rms"],
)
def test_compute_output_shape_rejects_missing_axis(layer):
    with pytest.raises(ValueError, match="axis"):
        layer.compute_output_shape((None, 3, 4))


def test_compute_output_shape():
    assert kiln.layers.BatchNormalization().compute_output_shape((None, 3)) == (
        None,
        3,
    )
    assert kiln.layers.LayerNormalization(axis=[1, 2]).compute_output_shape(
        (2, 3, 4)
    ) == (2, 3, 4)


def test_group_norm_groups_minus_one_becomes_channel_count():
    layer = kiln.layers.GroupNormalization(groups=-1)
    layer.build((None, 6))
    assert layer.get_config()["groups"] == 6


def test_layer_norm_axis_becomes_sorted_list_when_built():
    layer = kiln.layers.LayerNormalization(axis=(2, 1))
    assert layer.get_config()["axis"] == [2, 1]
    layer.build((None, 3, 4))
    assert layer.get_config()["axis"] == [1, 2]
    assert layer.gamma.shape == (3, 4)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: kiln.layers.GroupNormalization(groups=0), "groups"),
        (lambda: kiln.layers.GroupNormalization(groups=2.5), "groups"),
        (lambda: kiln.layers.BatchNormalization(synchronized=True), "synchronized"),
        (
            lambda: kiln.layers.BatchNormalization(
                renorm=True, renorm_clipping={"bad": 1}
            ),
            "renorm_clipping",
        ),
        (
            lambda: kiln.layers.BatchNormalization(
                renorm=True, renorm_clipping={"rmax": 1, "rmin": 2}
            ),
            "rmax",
        ),
        (
            lambda: kiln.layers.BatchNormalization(
                renorm=True, renorm_clipping={"dmax": -1}
            ),
            "dmax",
        ),
    ],
    ids=[
        "gn_zero",
        "gn_float",
        "bn_synchronized",
        "bn_clip_key",
        "bn_rmax",
        "bn_dmax",
    ],
)
def test_bad_arguments_raise_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize(
    "make",
    [
        lambda: kiln.layers.LayerNormalization(axis="last"),
        lambda: kiln.layers.UnitNormalization(axis=1.0),
        lambda: kiln.layers.BatchNormalization(axis=[1, 2]),
    ],
    ids=["ln", "unit", "bn"],
)
def test_bad_axis_type_raises_type_error(make):
    with pytest.raises(TypeError, match="axis"):
        make()


@pytest.mark.parametrize(
    "groups, channels, match", [(4, 3, "at most"), (4, 6, "multiple")]
)
def test_group_norm_groups_must_divide_channels(groups, channels, match):
    layer = kiln.layers.GroupNormalization(groups=groups)
    with pytest.raises(ValueError, match=match):
        layer.build((None, channels))


def test_group_norm_matches_instance_norm_formula():
    x = np.random.default_rng(4).normal(size=(2, 5, 4)).astype("float32")
    layer = kiln.layers.GroupNormalization(groups=2, epsilon=1e-3)
    y = np.asarray(layer(x))
    grouped = x.reshape(2, 5, 2, 2)
    mean = grouped.mean(axis=(1, 3), keepdims=True)
    var = grouped.var(axis=(1, 3), keepdims=True)
    expected = ((grouped - mean) / np.sqrt(var + 1e-3)).reshape(x.shape)
    np.testing.assert_allclose(y, expected, atol=1e-5)


def test_unit_normalization_gives_unit_norm():
    x = np.array([[3.0, 4.0], [0.0, 0.0]], "float32")
    y = np.asarray(kiln.layers.UnitNormalization()(x))
    np.testing.assert_allclose(y, [[0.6, 0.8], [0.0, 0.0]], rtol=1e-6)
    assert kiln.layers.UnitNormalization().built


def _masked_bn_model(lib):
    inputs = lib.Input((4,), dtype="int32")
    x = lib.layers.Embedding(
        6, 3, mask_zero=True, embeddings_initializer="random_normal", name="e"
    )(inputs)
    outputs = lib.layers.BatchNormalization(momentum=0.0, name="bn")(x)
    return lib.Model(inputs, outputs)


def test_mask_from_embedding_reaches_batch_norm_in_training_like_keras():
    keras = keras_module()
    keras_model, kiln_model = _masked_bn_model(keras), _masked_bn_model(kiln)
    kiln_model.set_weights(keras_model.get_weights())
    x = np.array([[1, 2, 0, 0], [3, 0, 0, 0]])
    y = np.zeros((2, 4, 3), "float32")
    for model in (keras_model, kiln_model):
        model.compile(optimizer="sgd", loss="mse")
        model.train_on_batch(x, y)
    table = keras_model.get_weights()[0]
    # momentum=0: the moving mean is the mean over unmasked positions only.
    np.testing.assert_allclose(
        kiln_model.get_layer("bn").moving_mean.numpy(),
        table[[1, 2, 3]].mean(0),
        rtol=1e-5,
        atol=1e-7,
    )
    for actual, expected in zip(kiln_model.get_weights(), keras_model.get_weights()):
        np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-7)
