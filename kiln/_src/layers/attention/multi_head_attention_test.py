import numpy as np
import pytest

import kiln as keras
from kiln._src.testing.layer_harness import check_layer, h5_layout


def _qv(layer, x):
    return layer(x[0], x[1])


@pytest.mark.parametrize(
    "factory, shapes, call",
    [
        (
            lambda k: k.layers.MultiHeadAttention(2, 3, value_dim=5, use_bias=False),
            [(5, 4), (6, 4), (6, 2)],
            # Keras's fused path fails when value_dim != key_dim, so compare
            # on the path that returns scores.
            lambda layer, x: layer(x[0], x[1], key=x[2], return_attention_scores=True),
        ),
        (
            lambda k: k.layers.MultiHeadAttention(2, 2, output_shape=(2, 3)),
            [(4, 3), (4, 3)],
            _qv,
        ),
        (
            lambda k: k.layers.MultiHeadAttention(2, 2),
            [(4, 3)],
            lambda layer, x: layer(x, x, use_causal_mask=True),
        ),
        (
            lambda k: k.layers.MultiHeadAttention(2, 2, attention_axes=(1, 2)),
            [(3, 2, 4), (3, 2, 4)],
            _qv,
        ),
        (
            lambda k: k.layers.MultiHeadAttention(2, 2, sliding_window=2),
            [(5, 3)],
            lambda layer, x: layer(x, x, use_causal_mask=True),
        ),
    ],
    ids=[
        "key_value_dim_no_bias_scores",
        "output_tuple",
        "causal",
        "2d_attention",
        "sliding_window",
    ],
)
def test_matches_keras(tmp_path, factory, shapes, call):
    if len(shapes) == 1:
        shapes = shapes[0]
    check_layer(tmp_path, factory, input_shape=shapes, call=call)


@pytest.mark.parametrize(
    "causal, dropout",
    [(False, 0.0), (True, 0.1)],
    ids=["fused", "causal_softmax_path"],
)
def test_attention_mask_matches_keras(tmp_path, causal, dropout):
    check_layer(
        tmp_path,
        lambda k: k.layers.MultiHeadAttention(2, 3, dropout=dropout),
        input_shape=[(4, 3), (5, 3), (4, 5)],
        input_dtype=["float32", "float32", "int32"],
        int_high=2,
        call=lambda layer, x: layer(
            x[0], x[1], attention_mask=x[2], use_causal_mask=causal
        ),
    )


def test_gate_initializers_and_h5_paths_match_keras(tmp_path):
    check_layer(
        tmp_path,
        lambda k: k.layers.MultiHeadAttention(
            2,
            3,
            use_gate=True,
            kernel_initializer="he_normal",
            bias_initializer="ones",
            kernel_regularizer="l2",
        ),
        input_shape=[(5, 4), (6, 4)],
        call=_qv,
    )
    paths = sorted(h5_layout(str(tmp_path / "from_kiln.keras")))
    assert paths == sorted(
        f"layers/multi_head_attention/{name}/vars/{i}"
        for name in (
            "query_dense",
            "key_dense",
            "value_dense",
            "output_dense",
            "_gate_dense",
        )
        for i in (0, 1)
    )


def test_hand_computed_single_head():
    layer = keras.layers.MultiHeadAttention(1, 2, use_bias=False)
    q = np.array([[[1.0, 0.0]]], "float32")
    v = np.array([[[1.0, 0.0], [0.0, 1.0]]], "float32")
    layer(q, v)
    eye = np.eye(2, dtype="float32")
    layer.set_weights(
        [eye[:, None, :], eye[:, None, :], eye[:, None, :], eye[None, :, :]]
    )
    out, scores = layer(q, v, return_attention_scores=True)
    logits = np.array([1.0, 0.0]) / np.sqrt(2.0)
    weights = np.exp(logits) / np.exp(logits).sum()
    np.testing.assert_allclose(np.asarray(scores)[0, 0, 0], weights, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(out)[0, 0], weights @ v[0], rtol=1e-6)


def test_padding_masks_and_fused_path_agree():
    rng = np.random.default_rng(0)
    q = rng.normal(size=(2, 4, 3)).astype("float32")
    v = rng.normal(size=(2, 5, 3)).astype("float32")
    value_mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    # value_dim != key_dim: Keras's fused path fails there; kiln's does not.
    layer = keras.layers.MultiHeadAttention(2, 3, value_dim=5)
    fused = layer(q, v, value_mask=value_mask)
    explicit, scores = layer(q, v, value_mask=value_mask, return_attention_scores=True)
    assert fused.shape == (2, 4, 3)
    np.testing.assert_allclose(fused, explicit, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(scores)[0, :, :, 3:], 0.0, atol=1e-7)
    same = layer(
        q, v, attention_mask=np.broadcast_to(value_mask[:, None, :], (2, 4, 5))
    )
    np.testing.assert_allclose(same, fused, rtol=1e-6)


def test_dropout_training_statistics():
    layer = keras.layers.MultiHeadAttention(1, 2, dropout=0.5, seed=4)
    q = np.zeros((32, 8, 2), "float32")
    _, scores = layer(q, q, return_attention_scores=True, training=True)
    _, eval_scores = layer(q, q, return_attention_scores=True)
    # Scores are returned before dropout; outputs differ between modes.
    np.testing.assert_allclose(scores, eval_scores, rtol=1e-6)
    out_train = layer(q + 1.0, q + np.arange(2, dtype="float32"), training=True)
    out_eval = layer(q + 1.0, q + np.arange(2, dtype="float32"))
    assert not np.allclose(out_train, out_eval)


def test_config_build_config_and_properties():
    layer = keras.layers.MultiHeadAttention(2, 3, attention_axes=-2)
    assert layer.get_config()["attention_axes"] == (-2,)
    q, v = keras.Input((5, 4)), keras.Input((6, 4))
    out = layer(q, v)
    assert out.shape == (None, 5, 4)
    assert layer.get_config()["attention_axes"] == (1,)
    assert layer.get_build_config() == {
        "shapes_dict": {"query_shape": [None, 5, 4], "value_shape": [None, 6, 4]}
    }
    assert (layer.num_heads, layer.key_dim, layer.value_dim) == (2, 3, 3)
    assert layer.query_dense.kernel.shape == (4, 2, 3)
    assert layer.output_dense.kernel.shape == (2, 3, 4)
    clone = keras.layers.MultiHeadAttention.from_config(layer.get_config())
    clone.build_from_config(layer.get_build_config())
    assert [w.shape for w in clone.weights] == [w.shape for w in layer.weights]
    assert layer.compute_output_shape((None, 5, 4), (None, 6, 4)) == (None, 5, 4)


def test_output_mask_is_query_mask():
    class MaskFirst(keras.layers.Layer):
        def compute_mask(self, inputs, previous_mask=None):
            return inputs[..., 0] > 0

        def call(self, inputs):
            return inputs

    q = MaskFirst()(keras.Input((5, 4)))
    out = keras.layers.MultiHeadAttention(2, 3)(q, q)
    assert out._keras_mask is not None and out._keras_mask.shape == (None, 5)


def test_errors():
    with pytest.raises(ValueError, match="num_heads"):
        keras.layers.MultiHeadAttention(0, 2)
    with pytest.raises(ValueError, match="key_dim"):
        keras.layers.MultiHeadAttention(2, "a")
    with pytest.raises(ValueError, match="value_dim"):
        keras.layers.MultiHeadAttention(2, 2, value_dim=-1)
    with pytest.raises(ValueError, match="attention_axes"):
        keras.layers.MultiHeadAttention(2, 2, attention_axes="1")
    with pytest.raises(ValueError, match="sliding_window"):
        keras.layers.MultiHeadAttention(2, 2, sliding_window=0)
    with pytest.raises(ValueError, match="flash attention"):
        keras.layers.MultiHeadAttention(2, 2, dropout=0.1, flash_attention=True)
    with pytest.raises(ValueError, match=r"value_shape=\(None, 5, 3\).*key_shape"):
        keras.layers.MultiHeadAttention(2, 2)(
            keras.Input((4, 3)), keras.Input((5, 3)), key=keras.Input((6, 3))
        )


def test_trains_in_a_model_with_dropout():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(8, 4, 3)).astype("float32")
    y = rng.normal(size=(8, 4, 3)).astype("float32")
    inputs = keras.Input((4, 3))
    outputs = keras.layers.MultiHeadAttention(2, 2, dropout=0.2, seed=1)(
        inputs, inputs, use_causal_mask=True
    )
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="mse")
    before = [np.array(w) for w in model.get_weights()]
    history = model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    after = model.get_weights()
    # Kernels (even positions) all learn; the key bias gets no gradient
    # (softmax ignores a constant added to every score of a row).
    assert all(not np.allclose(b, a) for b, a in zip(before[::2], after[::2]))
