"""Deep graphs: a long chain of layers and models nested in models.

A graph's length must cost no recursion anywhere on the way from building to
loading (ordering, running, the config, the graph check, the rebuild, the
variable walk, `kiln verify` and `kiln inspect`): 1,200 layers used to hit
`RecursionError`. Nesting Functional models costs a few frames per level (as
in Keras) and is bounded by the file's JSON nesting limit; past Python's
recursion limit it fails with a clear `ValueError`, never a `RecursionError`.
"""

import contextlib
import io

import numpy as np
import pytest

import kiln
from kiln import layers
from kiln._src.cli.main import main
from kiln._src.saving.errors import InvalidFileError


def chain(length, make_layer):
    x = inputs = kiln.Input((2,))
    for i in range(length):
        x = make_layer(i)(x)
    return kiln.Model(inputs, x)


def nested(depth):
    inputs = kiln.Input((2,))
    model = kiln.Model(inputs, layers.Dense(2, name="dense")(inputs), name="m0")
    for level in range(1, depth):
        inputs = kiln.Input((2,))
        model = kiln.Model(inputs, model(inputs), name=f"m{level}")
    return model


def cli(*argv):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(list(argv))
    return code, out.getvalue()


DATA = np.linspace(-1, 1, 6, dtype="float32").reshape(3, 2)


def test_chain_past_the_old_recursion_limit(tmp_path):
    # 1,500 > the 1,200 layers that used to raise RecursionError.
    model = chain(1_500, lambda i: layers.Activation("tanh", name=f"act_{i}"))
    assert len(model.layers) == 1_501
    path = str(tmp_path / "chain.keras")
    model.save(path)
    loaded = kiln.saving.load_model(path)
    assert [layer.name for layer in loaded.layers] == [
        layer.name for layer in model.layers
    ]
    np.testing.assert_allclose(loaded(DATA), model(DATA), rtol=1e-6)


@pytest.mark.slow
def test_chain_of_5000_dense_layers(tmp_path):
    # Eager predict: XLA takes minutes to compile 5,000 layers, which is not
    # what this test is about.
    model = chain(5_000, lambda i: layers.Dense(2, name=f"dense_{i}"))
    model.summary(print_fn=lambda *args, **kwargs: None)
    path = str(tmp_path / "chain.keras")
    model.save(path)
    model.compile(run_eagerly=True)  # after saving: no optimizer in the file
    expected = model.predict(DATA, verbose=0)
    loaded = kiln.saving.load_model(path)
    assert len(loaded.layers) == 5_001
    loaded.compile(run_eagerly=True)
    np.testing.assert_allclose(loaded.predict(DATA, verbose=0), expected, rtol=1e-6)
    code, report = cli("verify", path)
    assert code == 0, report
    assert "no problem found" in report
    code, listing = cli("inspect", path)
    assert code == 0
    assert "layers (5001)" in listing
    assert "dense_4999 (Dense)" in listing


def test_nested_models_round_trip(tmp_path):
    # 30 levels: within the file's JSON nesting limit (about 3 JSON levels
    # per nested model, at most 100: 31 levels is the most a file holds).
    model = nested(30)
    path = str(tmp_path / "nested.keras")
    model.save(path)
    loaded = kiln.saving.load_model(path)
    np.testing.assert_allclose(loaded(DATA), model(DATA), rtol=1e-6)
    rebuilt = kiln.Model.from_config(model.get_config())
    rebuilt.set_weights(model.get_weights())
    np.testing.assert_allclose(rebuilt(DATA), model(DATA), rtol=1e-6)


def test_deeply_nested_models_give_clear_errors(tmp_path):
    model = nested(200)
    np.testing.assert_allclose(
        model.predict(DATA, verbose=0), np.asarray(model(DATA)), rtol=1e-6
    )
    with pytest.raises(ValueError, match="nested too deeply") as error:
        model.get_config()
    assert "model 'm199'" in str(error.value)
    assert "sys.setrecursionlimit" in str(error.value)
    # A file holds at most 100 levels of JSON: the loader and `kiln verify`
    # refuse deeper ones before building anything.
    path = str(tmp_path / "nested.keras")
    model.save(path)
    with pytest.raises(InvalidFileError, match="nested deeper than 100 levels"):
        kiln.saving.load_model(path)
    code, _ = cli("verify", path)
    assert code == 1
