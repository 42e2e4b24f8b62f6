import numpy as np
import pytest

import kiln
from kiln._src.layers.rnn.testing_utils import (
    assert_outputs_close,
    masked_pair,
    masked_sequences,
    strip_keys,
)
from kiln._src.testing.layer_harness import check_layer


def _same_configs(kiln_model, keras_model):
    # Keras's nested Dense also writes "quantization_config": null.
    assert strip_keys(kiln_model.layers[-1].get_config()) == strip_keys(
        keras_model.layers[-1].get_config()
    )


@pytest.mark.parametrize(
    "factory, shape, exchange",
    [
        (lambda k: k.layers.TimeDistributed(k.layers.Dense(3)), (4, 2), False),
        (
            lambda k: k.layers.TimeDistributed(k.layers.Dense(3, activation="relu")),
            (4, 2, 3),
            False,
        ),
        (lambda k: k.layers.TimeDistributed(k.layers.Dropout(0.5)), (4, 2), False),
        (lambda k: k.layers.TimeDistributed(k.layers.LSTM(3)), (3, 4, 2), True),
        (
            lambda k: k.layers.TimeDistributed(
                k.layers.Bidirectional(
                    k.layers.GRU(2, return_sequences=True), merge_mode="sum"
                )
            ),
            (3, 4, 2),
            False,
        ),
    ],
    ids=["dense", "dense_4d", "dropout", "lstm", "bidirectional_gru"],
)
def test_time_distributed_matches_keras(tmp_path, factory, shape, exchange):
    kiln_model, keras_model = check_layer(
        tmp_path,
        factory,
        input_shape=shape,
        compare_config=False,
        exchange_files=exchange,
    )
    _same_configs(kiln_model, keras_model)


def test_masked_time_distributed_then_rnn_matches_keras():
    data = masked_sequences()

    def factory(lib):
        inner = lib.layers.TimeDistributed(lib.layers.Dense(3))
        rnn = lib.layers.LSTM(2, return_sequences=True)
        return lambda x: rnn(inner(x))

    kiln_model, keras_model = masked_pair(factory, data)
    assert_outputs_close(
        kiln_model.predict(data, verbose=0), keras_model.predict(data, verbose=0)
    )
    # The mask goes through TimeDistributed unchanged.
    assert kiln_model.layers[2].output._keras_mask is not None


def test_mask_slices_reach_the_inner_layer():
    class Recorder(kiln.layers.Layer):
        def call(self, inputs, mask=None):
            return inputs * mask[:, None].astype(inputs.dtype)

    layer = kiln.layers.TimeDistributed(Recorder())
    x = np.ones((2, 3, 4), "float32")
    mask = np.array([[True, False, True], [False, True, True]])
    out = np.asarray(layer(x, mask=mask))
    np.testing.assert_array_equal(out[..., 0], mask.astype("float32"))


def test_shapes_weights_and_config():
    layer = kiln.layers.TimeDistributed(kiln.layers.Dense(5))
    y = layer(kiln.Input((7, 3)))
    assert y.shape == (None, 7, 5)
    assert layer.compute_output_shape((None, 7, 3)) == (None, 7, 5)
    assert [w.path for w in layer.weights] == [
        f"{layer.name}/{layer.layer.name}/kernel",
        f"{layer.name}/{layer.layer.name}/bias",
    ]
    assert layer.get_build_config() == {"input_shape": [None, 7, 3]}
    config = layer.get_config()
    assert config["layer"]["build_config"] == {"input_shape": [None, 3]}
    clone = kiln.layers.TimeDistributed.from_config(config)
    assert isinstance(clone.layer, kiln.layers.Dense) and clone.layer.units == 5


def test_errors():
    with pytest.raises(ValueError, match="Layer` instance"):
        kiln.layers.TimeDistributed(lambda x: x)
    with pytest.raises(ValueError, match="at least 3 dimensions"):
        kiln.layers.TimeDistributed(kiln.layers.Dense(2))(kiln.Input((3,)))
    layer = kiln.layers.TimeDistributed(kiln.layers.Dense(2))
    x = np.ones((2, 3, 4), "float32")
    with pytest.raises(ValueError, match="incompatible"):
        layer(x, mask=np.ones((2, 4), bool))
    with pytest.raises(ValueError, match="at least 2D"):
        layer(x, mask=np.ones((2,), bool))


def test_symbolic_call_does_not_loop_over_timesteps():
    # Building (or rebuilding from a file) only needs shapes: a million
    # timesteps trace once, not once per step (a file chooses the length).
    inputs = kiln.Input((1_000_000, 4))
    outputs = kiln.layers.TimeDistributed(kiln.layers.Dense(2))(inputs)
    assert outputs.shape == (None, 1_000_000, 2)
    rnn = kiln.layers.SimpleRNN(3, unroll=True, return_sequences=True)(inputs)
    assert rnn.shape == (None, 1_000_000, 3)
