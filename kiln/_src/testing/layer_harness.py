"""One harness that checks every layer the same way against real Keras 3.

`check_layer` builds the same one-layer Functional model in kiln and in Keras,
copies Keras's weights into kiln (so the weight order must agree), compares
outputs on random input, compares the layer configs, and exchanges `.keras`
files both ways: kiln's file loaded in Keras and Keras's file loaded in kiln
must predict what their writer predicted, with the same H5 paths and shapes.

Tests use it like::

    def test_dense(tmp_path):
        check_layer(tmp_path, lambda k: k.layers.Dense(3), input_shape=(4,))

where the factory receives the library module (`kiln` or `keras`) and returns
a layer, so the same line builds both.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import h5py
import numpy as np

os.environ.setdefault("KERAS_BACKEND", "jax")


def keras_module() -> Any:
    import keras

    return keras


def _inputs(lib: Any, input_shape: Any, input_dtype: Any) -> Any:
    if isinstance(input_shape, list):
        dtypes = (
            input_dtype
            if isinstance(input_dtype, list)
            else [input_dtype] * len(input_shape)
        )
        return [
            lib.Input(shape=shape, dtype=dtype, name=f"in_{i}")
            for i, (shape, dtype) in enumerate(zip(input_shape, dtypes))
        ]
    return lib.Input(shape=input_shape, dtype=input_dtype, name="in_0")


def random_data(
    input_shape: Any, input_dtype: Any, batch: int, seed: int, int_high: int = 10
) -> Any:
    rng = np.random.default_rng(seed)
    if isinstance(input_shape, list):
        dtypes = (
            input_dtype
            if isinstance(input_dtype, list)
            else [input_dtype] * len(input_shape)
        )
        return [
            random_data(shape, dtype, batch, seed + i, int_high)
            for i, (shape, dtype) in enumerate(zip(input_shape, dtypes))
        ]
    shape = (batch, *input_shape)
    if np.dtype(input_dtype).kind in "iu":
        return rng.integers(0, int_high, size=shape).astype(input_dtype)
    return rng.normal(size=shape).astype(input_dtype)


def build_pair(
    factory: Callable[[Any], Any],
    input_shape: Any,
    input_dtype: Any = "float32",
    call: Callable[[Any, Any], Any] | None = None,
) -> tuple[Any, Any]:
    """The same one-layer Functional model in kiln and in Keras."""
    import kiln

    keras = keras_module()
    models = []
    for lib in (kiln, keras):
        inputs = _inputs(lib, input_shape, input_dtype)
        layer = factory(lib)
        outputs = call(layer, inputs) if call else layer(inputs)
        models.append(lib.Model(inputs, outputs))
    return models[0], models[1]


def _normalize(config: Any) -> Any:
    """JSON round trip (tuples -> lists), without names and auto-named parts."""
    config = json.loads(json.dumps(config))

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("name",)}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(config)


def h5_layout(path: str) -> dict[str, tuple[int, ...]]:
    """``{dataset path: shape}`` of the weights inside a `.keras` file."""
    import io
    import zipfile

    with zipfile.ZipFile(path) as archive:
        data = archive.read("model.weights.h5")
    layout: dict[str, tuple[int, ...]] = {}
    with h5py.File(io.BytesIO(data), "r") as file:
        file.visititems(
            lambda name, obj: (
                layout.__setitem__(name, tuple(obj.shape))
                if isinstance(obj, h5py.Dataset)
                else None
            )
        )
    return layout


def check_layer(
    tmp_path: Any,
    factory: Callable[[Any], Any],
    input_shape: Any,
    input_dtype: Any = "float32",
    call: Callable[[Any, Any], Any] | None = None,
    batch: int = 3,
    rtol: float = 1e-5,
    atol: float = 1e-5,
    int_high: int = 10,
    compare_config: bool = True,
    ignore_config_keys: tuple[str, ...] = (),
    exchange_files: bool = True,
    seed: int = 0,
) -> tuple[Any, Any]:
    """Checks a kiln layer against Keras's; returns ``(kiln_model, keras_model)``.

    Args:
        tmp_path: a directory for the exchanged files.
        factory: ``lib -> layer``, called with `kiln` and with `keras`.
        input_shape: one sample's shape, or a list of them for several inputs.
        input_dtype: the inputs' dtype (or a list).
        call: ``(layer, inputs) -> outputs`` when the layer is not called as
            ``layer(inputs)`` (e.g. attention with query and value).
        rtol / atol: tolerances for outputs.
        int_high: exclusive upper bound of random integer inputs.
        compare_config: compare the layer configs (names excluded).
        ignore_config_keys: config keys not compared.
        exchange_files: exchange `.keras` files both ways.
    """
    keras = keras_module()
    kiln_model, keras_model = build_pair(factory, input_shape, input_dtype, call)
    keras_weights = keras_model.get_weights()
    kiln_shapes = [w.shape for w in kiln_model.get_weights()]
    assert kiln_shapes == [w.shape for w in keras_weights], (
        f"weight shapes differ: kiln {kiln_shapes} vs Keras "
        f"{[w.shape for w in keras_weights]}"
    )
    kiln_model.set_weights(keras_weights)
    data = random_data(input_shape, input_dtype, batch, seed, int_high)
    expected = keras_model.predict(data, verbose=0)
    actual = kiln_model.predict(data, verbose=0)
    _assert_close(actual, expected, rtol, atol, "kiln vs Keras outputs")

    if compare_config:
        kiln_layer = kiln_model.layers[-1]
        keras_layer = keras_model.layers[-1]
        kiln_config = _normalize(kiln_layer.get_config())
        keras_config = _normalize(keras_layer.get_config())
        for key in ignore_config_keys + ("quantization_config",):
            kiln_config.pop(key, None)
            keras_config.pop(key, None)
        assert kiln_config == keras_config, (
            f"configs differ:\nkiln:  {kiln_config}\nKeras: {keras_config}"
        )

    if exchange_files:
        import kiln

        kiln_file = os.path.join(str(tmp_path), "from_kiln.keras")
        keras_file = os.path.join(str(tmp_path), "from_keras.keras")
        kiln_model.save(kiln_file)
        keras_model.save(keras_file)
        assert h5_layout(kiln_file) == h5_layout(keras_file), (
            f"H5 layouts differ:\nkiln:  {h5_layout(kiln_file)}\n"
            f"Keras: {h5_layout(keras_file)}"
        )
        in_keras = keras.models.load_model(kiln_file)
        _assert_close(
            in_keras.predict(data, verbose=0),
            actual,
            rtol,
            atol,
            "kiln file loaded in Keras",
        )
        in_kiln = kiln.models.load_model(keras_file)
        _assert_close(
            in_kiln.predict(data, verbose=0),
            expected,
            rtol,
            atol,
            "Keras file loaded in kiln",
        )
    return kiln_model, keras_model


def _assert_close(
    actual: Any, expected: Any, rtol: float, atol: float, what: str
) -> None:
    if isinstance(expected, dict):
        for key in expected:
            _assert_close(actual[key], expected[key], rtol, atol, f"{what}[{key}]")
        return
    if isinstance(expected, list | tuple):
        assert len(actual) == len(expected), f"{what}: output counts differ"
        for i, (a, e) in enumerate(zip(actual, expected)):
            _assert_close(a, e, rtol, atol, f"{what}[{i}]")
        return
    np.testing.assert_allclose(
        np.asarray(actual), np.asarray(expected), rtol=rtol, atol=atol, err_msg=what
    )
