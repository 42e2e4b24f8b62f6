import numpy as np
import pytest

import kiln as keras
from kiln._src.testing.layer_harness import check_layer


@pytest.mark.parametrize(
    "factory, shapes",
    [
        (lambda k: k.layers.Attention(), [(3, 4), (5, 4)]),
        (lambda k: k.layers.Attention(use_scale=True), [(3, 4), (5, 4), (5, 4)]),
        (lambda k: k.layers.Attention(score_mode="concat"), [(3, 4), (5, 4)]),
        (
            lambda k: k.layers.Attention(use_scale=True, score_mode="concat"),
            [(3, 4), (5, 2), (5, 4)],
        ),
        (lambda k: k.layers.Attention(dropout=0.5, seed=1), [(3, 4), (5, 4)]),
        (lambda k: k.layers.AdditiveAttention(), [(3, 4), (5, 4)]),
        (lambda k: k.layers.AdditiveAttention(use_scale=False), [(3, 4), (5, 4)]),
        (lambda k: k.layers.AdditiveAttention(), [(3, 4), (5, 2), (5, 4)]),
    ],
    ids=[
        "dot",
        "dot_scale_key",
        "concat",
        "concat_scale_key",
        "dropout_inference",
        "additive",
        "additive_no_scale",
        "additive_key",
    ],
)
def test_matches_keras(tmp_path, factory, shapes):
    check_layer(tmp_path, factory, input_shape=shapes)


@pytest.mark.parametrize("name", ["Attention", "AdditiveAttention"])
def test_causal_and_scores_match_keras(tmp_path, name):
    check_layer(
        tmp_path,
        lambda k: getattr(k.layers, name)(),
        input_shape=[(4, 3), (4, 3)],
        call=lambda layer, x: layer(
            x, use_causal_mask=True, return_attention_scores=True
        ),
    )


@pytest.mark.parametrize("causal", [False, True], ids=["padding", "padding_causal"])
def test_masks_match_keras(tmp_path, causal):
    check_layer(
        tmp_path,
        lambda k: k.layers.Attention(),
        input_shape=[(4, 3), (4, 3), (4,), (4,)],
        input_dtype=["float32", "float32", "bool", "bool"],
        call=lambda layer, x: layer(
            [x[0], x[1]], mask=[x[2], x[3]], use_causal_mask=causal
        ),
    )


def test_dot_attention_hand_computed():
    q = np.array([[[1.0, 0.0]]], "float32")
    v = np.array([[[1.0, 2.0], [3.0, 4.0]]], "float32")
    k = np.array([[[2.0, 0.0], [0.0, 0.0]]], "float32")
    out, w = keras.layers.Attention()([q, v, k], return_attention_scores=True)
    expected_w = np.exp([2.0, 0.0]) / np.exp([2.0, 0.0]).sum()
    np.testing.assert_allclose(np.asarray(w)[0, 0], expected_w, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(out)[0, 0], expected_w @ v[0], rtol=1e-6)


def test_value_mask_and_query_mask():
    rng = np.random.default_rng(0)
    q = rng.normal(size=(1, 2, 3)).astype("float32")
    v = rng.normal(size=(1, 3, 3)).astype("float32")
    layer = keras.layers.Attention()
    out, w = layer(
        [q, v],
        mask=[np.array([[True, False]]), np.array([[True, True, False]])],
        return_attention_scores=True,
    )
    w = np.asarray(w)
    np.testing.assert_allclose(w[0, :, 2], 0.0, atol=1e-7)
    np.testing.assert_allclose(w.sum(-1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(out)[0, 1], 0.0)
    assert layer.compute_mask([q, v], None) is None
    mask = layer.compute_mask([q, v], [np.array([[True, False]]), None])
    np.testing.assert_array_equal(mask, [[True, False]])


def test_causal_weights_are_lower_triangular():
    x = np.random.default_rng(1).normal(size=(2, 4, 3)).astype("float32")
    _, w = keras.layers.Attention()(
        [x, x], use_causal_mask=True, return_attention_scores=True
    )
    np.testing.assert_allclose(np.triu(np.asarray(w), k=1), 0.0, atol=1e-7)


def test_dropout_training_statistics():
    layer = keras.layers.Attention(dropout=0.5, seed=3)
    q = np.zeros((64, 8, 4), "float32")  # uniform weights 1/8
    v = np.ones((64, 8, 4), "float32")
    _, w_eval = layer([q, v], return_attention_scores=True)
    np.testing.assert_allclose(w_eval, 1 / 8, rtol=1e-6)
    _, w = layer([q, v], return_attention_scores=True, training=True)
    w = np.asarray(w)
    kept = w > 0
    assert 0.4 < kept.mean() < 0.6
    np.testing.assert_allclose(w[kept], 2 / 8, rtol=1e-6)


def test_symbolic_shapes():
    q, v, k = keras.Input((3, 4)), keras.Input((5, 2)), keras.Input((5, 4))
    out, w = keras.layers.Attention()([q, v, k], return_attention_scores=True)
    assert out.shape == (None, 3, 2) and w.shape == (None, 3, 5)
    assert keras.layers.Attention().compute_output_shape(
        [(None, 3, 4), (None, 5, 2)]
    ) == (None, 3, 2)


def test_errors():
    with pytest.raises(ValueError, match="score_mode"):
        keras.layers.Attention(score_mode="add")
    with pytest.raises(ValueError, match="list of inputs"):
        keras.layers.Attention()(np.zeros((1, 2, 3)))
    with pytest.raises(ValueError, match="length 2 or 3"):
        keras.layers.Attention()([np.zeros((1, 2, 3))])
    with pytest.raises(ValueError, match="mask must be a list"):
        keras.layers.Attention()([np.zeros((1, 2, 3))] * 2, mask=np.ones((1, 2)))
    with pytest.raises(ValueError, match="dropout"):
        keras.layers.AdditiveAttention(dropout=2.0)
    assert "score_mode" not in keras.layers.AdditiveAttention().get_config()
