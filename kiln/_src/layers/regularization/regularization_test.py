import numpy as np
import pytest

import kiln
from kiln._src.testing.layer_harness import check_layer, keras_module


@pytest.mark.parametrize(
    "factory, shape",
    [
        (lambda k: k.layers.SpatialDropout1D(0.3), (3, 4)),
        (lambda k: k.layers.SpatialDropout1D(0.3, seed=1), (3, 4)),
        (lambda k: k.layers.SpatialDropout2D(0.3), (3, 4, 2)),
        (
            lambda k: k.layers.SpatialDropout2D(0.5, data_format="channels_first"),
            (2, 3, 3),
        ),
        (lambda k: k.layers.SpatialDropout3D(0.2, seed=3), (2, 2, 2, 3)),
        (lambda k: k.layers.GaussianNoise(0.3, seed=2), (4,)),
        (lambda k: k.layers.GaussianNoise(0.0), (4,)),
        (lambda k: k.layers.GaussianDropout(0.3), (4,)),
        (lambda k: k.layers.GaussianDropout(0.0, seed=5), (4,)),
        (lambda k: k.layers.AlphaDropout(0.2, noise_shape=(None, 1), seed=1), (4,)),
        (lambda k: k.layers.ActivityRegularization(), (4,)),
        (lambda k: k.layers.ActivityRegularization(l1=0.1, l2=0.2), (2, 3)),
    ],
    ids=[
        "spatial1d",
        "spatial1d_seed",
        "spatial2d",
        "spatial2d_channels_first",
        "spatial3d",
        "noise",
        "noise_zero",
        "gaussian_dropout",
        "gaussian_dropout_zero",
        "alpha_dropout",
        "activity_default",
        "activity_l1_l2",
    ],
)
def test_regularization_layers_match_keras(tmp_path, factory, shape):
    check_layer(tmp_path, factory, shape)


# -- training-mode statistics -------------------------------------------------
def test_gaussian_noise_statistics_in_training():
    layer = kiln.layers.GaussianNoise(0.5, seed=0)
    x = np.full((200, 100), 3.0, "float32")
    np.testing.assert_array_equal(layer(x), x)
    noise = np.asarray(layer(x, training=True)) - x
    assert abs(noise.mean()) < 0.02
    assert abs(noise.std() - 0.5) < 0.02
    assert not np.array_equal(layer(x, training=True), layer(x, training=True))


def test_gaussian_dropout_statistics_in_training():
    rate = 0.2
    layer = kiln.layers.GaussianDropout(rate, seed=0)
    x = np.full((200, 100), 2.0, "float32")
    np.testing.assert_array_equal(layer(x), x)
    factor = np.asarray(layer(x, training=True)) / x
    assert abs(factor.mean() - 1.0) < 0.02
    assert abs(factor.std() - np.sqrt(rate / (1 - rate))) < 0.02


def test_alpha_dropout_keeps_mean_and_variance_in_training():
    layer = kiln.layers.AlphaDropout(0.3, seed=0)
    x = np.random.default_rng(0).normal(size=(300, 100)).astype("float32")
    np.testing.assert_array_equal(layer(x), x)
    y = np.asarray(layer(x, training=True))
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1.0) < 0.02
    # Dropped units all take one value: a * alpha_p + b.
    alpha_p = -1.6732632423543772 * 1.0507009873554805
    a = ((1 - 0.3) * (1 + 0.3 * alpha_p**2)) ** -0.5
    dropped = np.isclose(y, a * alpha_p - a * alpha_p * 0.3, atol=1e-6)
    assert 0.27 < dropped.mean() < 0.33


def test_alpha_dropout_noise_shape_shares_the_mask():
    layer = kiln.layers.AlphaDropout(0.5, noise_shape=(None, 1), seed=2)
    y = np.asarray(layer(np.ones((200, 6), "float32"), training=True))
    np.testing.assert_allclose(y.min(axis=1), y.max(axis=1))


@pytest.mark.parametrize(
    "make, shape, channel_axis, spatial_axes",
    [
        (lambda: kiln.layers.SpatialDropout1D(0.4, seed=0), (50, 6, 40), 2, (1,)),
        (
            lambda: kiln.layers.SpatialDropout2D(0.4, seed=0),
            (50, 3, 4, 40),
            3,
            (1, 2),
        ),
        (
            lambda: kiln.layers.SpatialDropout2D(
                0.4, data_format="channels_first", seed=0
            ),
            (50, 40, 3, 4),
            1,
            (2, 3),
        ),
        (
            lambda: kiln.layers.SpatialDropout3D(0.4, seed=0),
            (50, 2, 2, 2, 40),
            4,
            (1, 2, 3),
        ),
    ],
    ids=["1d", "2d", "2d_channels_first", "3d"],
)
def test_spatial_dropout_drops_whole_channels(make, shape, channel_axis, spatial_axes):
    layer = make()
    x = np.ones(shape, "float32")
    np.testing.assert_array_equal(layer(x), x)
    y = np.asarray(layer(x, training=True))
    assert set(np.unique(y)) <= {0.0, np.float32(1 / 0.6)}
    # Within a (sample, channel) pair, every spatial position agrees.
    np.testing.assert_array_equal(y.min(axis=spatial_axes), y.max(axis=spatial_axes))
    dropped = (y.max(axis=spatial_axes) == 0).mean()
    assert 0.35 < dropped < 0.45


def test_spatial_dropout_config_is_keras_shaped():
    keras = keras_module()
    for lib in (kiln, keras):
        config = lib.layers.SpatialDropout2D(0.25, seed=4, name="sd").get_config()
        assert config == {
            "rate": 0.25,
            "seed": 4,
            "name": "sd",
            "dtype": "float32",
            "data_format": "channels_last",
        }
    clone = kiln.layers.SpatialDropout2D.from_config(config)
    assert (clone.rate, clone.seed, clone.data_format) == (0.25, 4, "channels_last")


def test_random_layers_draw_new_noise_in_each_fit_step():
    inputs = kiln.Input((8,))
    outputs = kiln.layers.GaussianNoise(1.0, seed=1)(inputs)
    model = kiln.Model(inputs, kiln.layers.Dense(1, kernel_initializer="ones")(outputs))
    model.compile(optimizer="sgd", loss="mse")
    state_before = model.layers[1].seed_generator.state.numpy().copy()
    model.fit(np.ones((8, 8)), np.zeros((8, 1)), batch_size=4, epochs=1, verbose=0)
    state_after = model.layers[1].seed_generator.state.numpy()
    assert state_after[1] == state_before[1] + 2


# -- ActivityRegularization ---------------------------------------------------
def test_activity_regularization_adds_per_sample_penalty_like_keras():
    keras = keras_module()
    x = np.arange(12.0, dtype="float32").reshape(4, 3) - 5.0
    expected = (0.1 * np.abs(x).sum() + 0.2 * np.square(x).sum()) / 4
    layer = kiln.layers.ActivityRegularization(l1=0.1, l2=0.2)
    np.testing.assert_array_equal(layer(x), x)
    assert len(layer.losses) == 1
    np.testing.assert_allclose(layer.losses[0], expected, rtol=1e-6)
    keras_layer = keras.layers.ActivityRegularization(l1=0.1, l2=0.2)
    keras_layer(x)
    np.testing.assert_allclose(layer.losses[0], keras_layer.losses[0], rtol=1e-6)
    config = layer.get_config()
    assert (config["l1"], config["l2"]) == (0.1, 0.2)
    assert "activity_regularizer" not in config


def test_activity_regularization_joins_the_training_loss_like_keras():
    keras = keras_module()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 3)).astype("float32")
    y = rng.normal(size=(6, 2)).astype("float32")
    losses = []
    weights = None
    for lib in (keras, kiln):
        inputs = lib.Input((3,))
        hidden = lib.layers.Dense(2)(inputs)
        outputs = lib.layers.ActivityRegularization(l1=0.05, l2=0.1)(hidden)
        model = lib.Model(inputs, outputs)
        if weights is None:
            weights = model.get_weights()
        model.set_weights(weights)
        model.compile(optimizer="sgd", loss="mse")
        losses.append(model.evaluate(x, y, batch_size=6, verbose=0))
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-5)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: kiln.layers.GaussianNoise(-0.1), "stddev"),
        (lambda: kiln.layers.GaussianNoise(1.5), "stddev"),
        (lambda: kiln.layers.GaussianDropout(1.2), "rate"),
        (lambda: kiln.layers.GaussianDropout("x"), "rate"),
        (lambda: kiln.layers.SpatialDropout1D(2.0), "rate"),
        (lambda: kiln.layers.AlphaDropout(-0.5), "rate"),
        (lambda: kiln.layers.SpatialDropout2D(0.1, data_format="nhwc"), "data_format"),
    ],
    ids=[
        "noise_negative",
        "noise_big",
        "gd_big",
        "gd_str",
        "sd_rate",
        "ad_rate",
        "sd_format",
    ],
)
def test_bad_arguments_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_spatial_dropout_checks_rank():
    with pytest.raises(ValueError):
        kiln.layers.SpatialDropout2D(0.1)(np.ones((2, 3, 4), "float32"))


def test_layers_without_weights_are_built_at_construction():
    for layer in (
        kiln.layers.GaussianNoise(0.1),
        kiln.layers.GaussianDropout(0.1),
        kiln.layers.ActivityRegularization(0.1),
        kiln.layers.SpatialDropout1D(0.1),
        kiln.layers.AlphaDropout(0.1),
    ):
        assert layer.built and layer.get_build_config() is None
        assert layer.compute_output_shape((None, 3, 4)) == (None, 3, 4)
