import numpy as np
import pytest

import kiln as keras


def test_identity_at_inference_and_scaled_mask_in_training():
    layer = keras.layers.Dropout(0.5, seed=1)
    x = np.ones((1000,), "float32")
    np.testing.assert_array_equal(layer(x), x)
    y = np.asarray(layer(x, training=True))
    assert set(np.unique(y)) <= {0.0, 2.0}
    assert 0.4 < (y == 0).mean() < 0.6


def test_masks_differ_between_calls():
    layer = keras.layers.Dropout(0.5, seed=3)
    x = np.ones((64,), "float32")
    first, second = layer(x, training=True), layer(x, training=True)
    assert not np.array_equal(first, second)


def test_has_no_weights_and_config():
    layer = keras.layers.Dropout(0.2, seed=4)
    assert layer.weights == []
    config = layer.get_config()
    assert (config["rate"], config["seed"], config["noise_shape"]) == (0.2, 4, None)


@pytest.mark.parametrize("rate", [-0.1, 1.5, "x"])
def test_rejects_bad_rate(rate):
    with pytest.raises(ValueError, match="rate"):
        keras.layers.Dropout(rate)
