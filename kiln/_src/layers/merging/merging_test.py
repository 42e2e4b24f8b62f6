import numpy as np
import pytest

import kiln as keras
from kiln._src.testing.layer_harness import check_layer

_ELEMENTWISE = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"]


@pytest.mark.parametrize("name", _ELEMENTWISE)
@pytest.mark.parametrize(
    "shapes",
    [[(4,), (4,)], [(3, 4), (3, 4)], [(3, 4), (1, 4)], [(3, 4), (4,)]],
    ids=["vectors", "matrices", "broadcast_1", "lower_rank"],
)
def test_elementwise_match_keras(tmp_path, name, shapes):
    check_layer(tmp_path, lambda k: getattr(k.layers, name)(), input_shape=shapes)


@pytest.mark.parametrize("name", ["Add", "Multiply", "Average", "Maximum", "Minimum"])
def test_three_inputs_match_keras(tmp_path, name):
    check_layer(tmp_path, lambda k: getattr(k.layers, name)(), input_shape=[(2, 3)] * 3)


@pytest.mark.parametrize(
    "factory, shapes",
    [
        (lambda k: k.layers.Concatenate(), [(4,), (3,)]),
        (lambda k: k.layers.Concatenate(axis=1), [(2, 3), (4, 3)]),
        (lambda k: k.layers.Concatenate(axis=-2), [(2, 3), (1, 3), (2, 3)]),
        (lambda k: k.layers.Dot(axes=1), [(4,), (4,)]),
        (lambda k: k.layers.Dot(axes=-1, normalize=True), [(4,), (4,)]),
        (lambda k: k.layers.Dot(axes=(2, 2)), [(3, 4), (5, 4)]),
        (lambda k: k.layers.Dot(axes=[1, 2]), [(4, 3), (5, 4)]),
        (lambda k: k.layers.Dot(axes=(1, 1)), [(4,), (4, 2)]),
        (lambda k: k.layers.Dot(axes=(3, 2), normalize=True), [(2, 3, 4), (2, 4)]),
    ],
    ids=[
        "concat_last",
        "concat_axis1",
        "concat_three",
        "dot_vectors",
        "dot_cosine",
        "dot_3d",
        "dot_mixed_axes",
        "dot_2d_3d",
        "dot_4d_3d",
    ],
)
def test_concatenate_dot_match_keras(tmp_path, factory, shapes):
    check_layer(tmp_path, factory, input_shape=shapes)


@pytest.mark.parametrize(
    "fn, kwargs, shapes",
    [
        ("add", {}, [(3,), (3,)]),
        ("subtract", {}, [(3,), (3,)]),
        ("multiply", {}, [(3,), (3,)]),
        ("average", {}, [(3,), (3,)]),
        ("maximum", {}, [(3,), (3,)]),
        ("minimum", {}, [(3,), (3,)]),
        ("concatenate", {"axis": 1}, [(3,), (2,)]),
        ("dot", {"axes": 1}, [(3,), (3,)]),
    ],
)
def test_functional_forms_match_keras(tmp_path, fn, kwargs, shapes):
    check_layer(
        tmp_path,
        lambda k: None,
        input_shape=shapes,
        call=lambda _, inputs: getattr(_library_of(inputs[0]).layers, fn)(
            inputs, **kwargs
        ),
    )


def _library_of(tensor):
    """`kiln` or `keras`, whichever made this symbolic tensor."""
    import importlib

    return importlib.import_module(type(tensor).__module__.split(".")[0])


def test_hand_computed_values():
    a = np.array([[1.0, -2.0, 3.0]], "float32")
    b = np.array([[4.0, 5.0, -6.0]], "float32")
    np.testing.assert_allclose(keras.layers.add([a, b]), a + b)
    np.testing.assert_allclose(keras.layers.subtract([a, b]), a - b)
    np.testing.assert_allclose(keras.layers.multiply([a, b]), a * b)
    np.testing.assert_allclose(keras.layers.average([a, b]), (a + b) / 2)
    np.testing.assert_allclose(keras.layers.maximum([a, b]), np.maximum(a, b))
    np.testing.assert_allclose(keras.layers.minimum([a, b]), np.minimum(a, b))
    np.testing.assert_allclose(keras.layers.concatenate([a, b]), np.hstack([a, b]))
    np.testing.assert_allclose(keras.layers.dot([a, b], axes=1), [[4 - 10 - 18]])
    cosine = (a @ b.T) / (np.linalg.norm(a) * np.linalg.norm(b))
    np.testing.assert_allclose(
        keras.layers.Dot(axes=1, normalize=True)([a, b]), cosine, rtol=1e-6
    )


def test_dot_batched_matrices():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 4)).astype("float32")
    y = rng.normal(size=(2, 5, 4)).astype("float32")
    out = keras.layers.Dot(axes=(2, 2))([x, y])
    np.testing.assert_allclose(out, np.einsum("bik,bjk->bij", x, y), rtol=1e-5)
    assert keras.layers.Dot(axes=(2, 2)).compute_output_shape(
        [(None, 3, 4), (None, 5, 4)]
    ) == (None, 3, 5)


def test_output_shapes():
    assert keras.layers.Add().compute_output_shape([(None, 3, 4), (None, 1, 4)]) == (
        None,
        3,
        4,
    )
    assert keras.layers.Add().compute_output_shape([(2, 4), (None, 3, 4)]) == (2, 3, 4)
    assert keras.layers.Concatenate(axis=1).compute_output_shape(
        [(None, 2, 3), (None, 4, 3)]
    ) == (None, 6, 3)
    assert keras.layers.Concatenate().compute_output_shape(
        [(None, 2), (None, None)]
    ) == (None, None)
    out = keras.layers.Add()([keras.Input((3, 4)), keras.Input((4,))])
    assert out.shape == (None, 3, 4)


def test_add_mismatched_shapes_names_them():
    with pytest.raises(ValueError, match=r"incompatible shapes.*\(4,\) and \(5,\)"):
        keras.layers.Add()([keras.Input((4,)), keras.Input((5,))])
    with pytest.raises(ValueError, match=r"\(3, 4\) and \(2, 4\)"):
        keras.layers.Add()([np.zeros((2, 3, 4)), np.zeros((2, 2, 4))])


def test_errors():
    with pytest.raises(ValueError, match="should be called on a list"):
        keras.layers.Add()(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="exactly 2 inputs"):
        keras.layers.Subtract()([np.zeros((2, 3))] * 3)
    with pytest.raises(ValueError, match="different batch sizes"):
        keras.layers.Add()([np.zeros((2, 3)), np.zeros((3, 3))])
    with pytest.raises(ValueError, match="matching shapes except for the concat"):
        keras.layers.Concatenate()([keras.Input((2, 3)), keras.Input((3, 3))])
    with pytest.raises(ValueError, match="matching shapes"):
        keras.layers.Concatenate()([keras.Input((2, 3)), keras.Input((3,))])
    with pytest.raises(ValueError, match=r"axis values 4 \(at axis 1\) != 5"):
        keras.layers.Dot(axes=1)([keras.Input((4,)), keras.Input((5,))])
    with pytest.raises(ValueError, match="two elements"):
        keras.layers.Dot(axes=(1, 2, 3))
    with pytest.raises(TypeError, match="`axes`"):
        keras.layers.Dot(axes="last")
    with pytest.raises(ValueError, match="list of 2 inputs"):
        keras.layers.Dot(axes=1)([keras.Input((3,))] * 3)


def test_masks_or_combined():
    m1 = np.array([[True, False, False]])
    m2 = np.array([[False, False, True]])
    x = np.zeros((1, 3, 2), "float32")
    assert keras.layers.Add().compute_mask([x, x], None) is None
    assert keras.layers.Add().compute_mask([x, x], [m1, None]) is None
    np.testing.assert_array_equal(
        keras.layers.Add().compute_mask([x, x], [m1, m2]), [[True, False, True]]
    )
    assert keras.layers.Dot(axes=2).compute_mask([x, x], [m1, m2]) is None
    with pytest.raises(ValueError, match="same length"):
        keras.layers.Add().compute_mask([x, x], [m1])
    # Concatenate on the feature axis keeps a timestep if any input keeps it.
    out = keras.layers.Concatenate().compute_mask([x, x], [m1, None])
    np.testing.assert_array_equal(out, [[True, True, True]])
    out = keras.layers.Concatenate(axis=1).compute_mask([x, x], [m1, m2])
    np.testing.assert_array_equal(out, [[True, False, False, False, False, True]])


def test_masked_values_match_keras():
    import keras as real

    rng = np.random.default_rng(1)
    a = rng.normal(size=(2, 3, 2)).astype("float32")
    b = rng.normal(size=(2, 3, 2)).astype("float32")
    ma = np.array([[True, False, True], [False, False, True]])
    mb = np.array([[False, False, True], [True, False, True]])
    for name in ["Maximum", "Minimum", "Multiply"]:
        for masks in ([ma, mb], [ma, None]):
            expected = _keras_masked(real, name, [a, b], masks)
            actual = getattr(keras.layers, name)()([a, b], mask=masks)
            np.testing.assert_allclose(actual, expected, rtol=1e-6, err_msg=name)


def _keras_masked(real, name, inputs, masks):
    # Keras reads each input's mask from the tensor itself (`_keras_mask`).
    from keras.src import backend

    tensors = []
    for x, m in zip(inputs, masks):
        t = real.ops.convert_to_tensor(x)
        if m is not None:
            backend.set_keras_mask(t, real.ops.convert_to_tensor(m))
        tensors.append(t)
    return np.asarray(getattr(real.layers, name)()._merge_function(tensors))


class _MaskPositive(keras.layers.Layer):
    """Marks timesteps whose first feature is positive as real."""

    def compute_mask(self, inputs, previous_mask=None):
        return inputs[..., 0] > 0

    def call(self, inputs):
        return inputs


def test_symbolic_masks_propagate():
    a = _MaskPositive()(keras.Input((5, 3)))
    b = _MaskPositive()(keras.Input((5, 3)))
    plain = keras.Input((5, 3))
    assert keras.layers.Add()([a, b])._keras_mask.shape == (None, 5)
    assert getattr(keras.layers.Add()([a, plain]), "_keras_mask", None) is None
    assert keras.layers.Concatenate()([a, plain])._keras_mask.shape == (None, 5)
    assert keras.layers.Maximum()([a, b])._keras_mask.shape == (None, 5)
    assert getattr(keras.layers.Dot(axes=2)([a, b]), "_keras_mask", None) is None
