import os

import numpy as np
import pytest

import kiln
from kiln._src.saving.errors import UnknownObjectError
from kiln._src.testing.layer_harness import check_layer, keras_module


def _double(x):
    return x * 2.0


@pytest.mark.parametrize(
    "factory, shape",
    [
        (lambda k: k.layers.Lambda(k.activations.relu), (4,)),
        (
            lambda k: k.layers.Lambda(
                k.activations.leaky_relu, arguments={"negative_slope": 0.3}
            ),
            (3, 2),
        ),
        (lambda k: k.layers.Lambda(k.activations.tanh, output_shape=(4,)), (4,)),
    ],
    ids=["relu", "arguments", "output_shape"],
)
def test_named_builtins_match_keras(tmp_path, factory, shape):
    check_layer(tmp_path, factory, shape)


def test_python_lambda_matches_keras_config_and_outputs(tmp_path):
    # Same code object in both libraries -> identical bytecode in the configs.
    check_layer(
        tmp_path,
        lambda k: k.layers.Lambda(lambda x: x * 2.0 + 1.0),
        (3,),
        exchange_files=False,
    )


def _lambda_models(lib):
    inputs = lib.Input((3,), name="x")
    outputs = lib.layers.Lambda(lambda x: x * 3.0 - 1.0, name="triple")(inputs)
    return lib.Model(inputs, outputs)


def _data():
    return np.random.default_rng(0).normal(size=(2, 3)).astype("float32")


def test_keras_lambda_file_loads_in_kiln_only_unsafe(tmp_path):
    keras = keras_module()
    path = os.path.join(str(tmp_path), "keras_lambda.keras")
    model = _lambda_models(keras)
    model.save(path)
    with pytest.raises(ValueError, match=r"'triple'.*safe_mode=False"):
        kiln.models.load_model(path)
    loaded = kiln.models.load_model(path, safe_mode=False)
    np.testing.assert_allclose(
        loaded.predict(_data(), verbose=0), _data() * 3 - 1, rtol=1e-6
    )


def test_kiln_lambda_file_loads_in_keras_only_unsafe(tmp_path):
    keras = keras_module()
    path = os.path.join(str(tmp_path), "kiln_lambda.keras")
    _lambda_models(kiln).save(path)
    with pytest.raises(ValueError, match="safe_mode=False"):
        keras.models.load_model(path)
    loaded = keras.models.load_model(path, safe_mode=False)
    np.testing.assert_allclose(
        loaded.predict(_data(), verbose=0), _data() * 3 - 1, rtol=1e-6
    )
    # And kiln reads its own file back the same way.
    with pytest.raises(ValueError, match="safe mode"):
        kiln.models.load_model(path)
    again = kiln.models.load_model(path, safe_mode=False)
    np.testing.assert_allclose(
        again.predict(_data(), verbose=0), _data() * 3 - 1, rtol=1e-6
    )


def test_registered_function_loads_in_safe_mode(tmp_path):
    keras = keras_module()
    kiln.saving.register_keras_serializable(package="KilnLambdaTest")(_double)
    keras.saving.register_keras_serializable(package="KilnLambdaTest")(_double)
    layer = kiln.layers.Lambda(_double)
    assert layer.get_config()["function"] == {
        "module": "builtins",
        "class_name": "function",
        "config": "KilnLambdaTest>_double",
        "registered_name": "function",
    }
    for writer, reader in ((kiln, kiln), (kiln, keras), (keras, kiln)):
        inputs = writer.Input((3,))
        model = writer.Model(inputs, writer.layers.Lambda(_double)(inputs))
        path = os.path.join(str(tmp_path), f"{writer.__name__}_{reader.__name__}.keras")
        model.save(path)
        loaded = reader.models.load_model(path)
        np.testing.assert_allclose(loaded.predict(_data(), verbose=0), _data() * 2)


def test_ops_function_needs_unsafe_mode_or_custom_objects(tmp_path):
    """An op is not a modeling function a file may pick in safe mode (ops are
    outside the allowlist): a Lambda over `ops.square` loads with
    safe_mode=False or custom_objects. Keras loads it only with
    custom_objects."""
    keras = keras_module()
    for lib in (kiln, keras):
        inputs = lib.Input((3,))
        model = lib.Model(inputs, lib.layers.Lambda(lib.ops.square)(inputs))
        path = os.path.join(str(tmp_path), f"square_{lib.__name__}.keras")
        model.save(path)
        with pytest.raises(UnknownObjectError, match="'square' is an op"):
            kiln.models.load_model(path)
        for loaded in (
            kiln.models.load_model(path, safe_mode=False),
            kiln.models.load_model(path, custom_objects={"square": kiln.ops.square}),
        ):
            np.testing.assert_allclose(
                loaded.predict(_data(), verbose=0), _data() ** 2, rtol=1e-6
            )
    with pytest.raises(TypeError):  # Keras: the same file, custom_objects needed
        keras.models.load_model(path)
    keras.models.load_model(path, custom_objects={"square": keras.ops.square})


def test_from_config_refuses_lambdas_outside_an_unsafe_scope():
    layer = kiln.layers.Lambda(lambda x, b=1.0: x + b, name="adder")
    config = layer.get_config()
    assert config["function"]["class_name"] == "__lambda__"
    assert config["function"]["config"]["defaults"] == (1.0,)
    with pytest.raises(ValueError, match="'adder'"):
        kiln.layers.Lambda.from_config(dict(config))
    revived = kiln.layers.Lambda.from_config(dict(config), safe_mode=False)
    np.testing.assert_allclose(revived(np.ones((1, 2), "float32")), [[2.0, 2.0]])


def test_closure_defaults_and_output_shape_function_round_trip():
    scale = 3.0
    layer = kiln.layers.Lambda(
        lambda x, b=0.5: x * scale + b,
        output_shape=lambda shape: shape,
    )
    config = layer.get_config()
    assert config["function"]["config"]["closure"] == (3.0,)
    revived = kiln.layers.Lambda.from_config(config, safe_mode=False)
    x = np.ones((1, 2), "float32")
    np.testing.assert_allclose(revived(x), x * 3.0 + 0.5)
    assert revived.compute_output_shape((None, 2)) == (None, 2)
    named = kiln.layers.Lambda(_double, output_shape=lambda shape: shape)
    with (
        kiln.saving.custom_object_scope({"_double": _double}),
        pytest.raises(ValueError, match="`output_shape` is a Python lambda"),
    ):
        kiln.layers.Lambda.from_config(named.get_config())


def test_arguments_mask_and_training_are_passed():
    seen = {}

    def fn(x, mask=None, training=None, offset=0.0):
        seen.update(mask=mask, training=training)
        return x + offset

    layer = kiln.layers.Lambda(fn, arguments={"offset": 1.0})
    out = layer(np.zeros((1, 2), "float32"), training=True)
    np.testing.assert_allclose(out, [[1.0, 1.0]])
    assert seen == {"mask": None, "training": True}


def test_mask_argument():
    x = np.array([[0.0, 1.0]], "float32")
    layer = kiln.layers.Lambda(lambda t: t, mask=lambda t, m: t > 0)
    np.testing.assert_array_equal(layer.compute_mask(x, None), [[False, True]])
    assert kiln.layers.Lambda(lambda t: t).compute_mask(x, None) is None
    out = layer(kiln.Input((2,)))
    assert out._keras_mask is not None and out._keras_mask.shape == (None, 2)


def test_output_shapes():
    layer = kiln.layers.Lambda(lambda t: t[:, :2])
    assert layer.compute_output_shape((None, 5)) == (None, 2)
    assert kiln.layers.Lambda(lambda t: t, output_shape=(7,)).compute_output_shape(
        (4, 3)
    ) == (4, 7)
    two = kiln.layers.Lambda(lambda t: t, output_shape=[(2,), (3,)])
    assert two.compute_output_shape([(None, 1), (None, 1)]) == [(None, 2), (None, 3)]


def test_errors():
    with pytest.raises(TypeError, match="callable"):
        kiln.layers.Lambda(3)
    with pytest.raises(TypeError, match="arguments"):
        kiln.layers.Lambda(_double, arguments=[1])
