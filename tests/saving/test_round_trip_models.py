"""Every model kind, optimizer and loss survives save -> load unchanged:
predictions bit-identical, `get_config()` equal, weights and optimizer
variables equal, compile state equal."""

import inspect

import jax
import numpy as np
import pytest

import kiln
from kiln import layers


def _data(seed=0, n=8, features=6, outputs=2):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype("float32")
    y = rng.normal(size=(n, outputs)).astype("float32")
    return x, y


def _leaves(value):
    return [np.asarray(v) for v in jax.tree_util.tree_leaves(value)]


def assert_same_model(model, loaded, x, same_config=True):
    """The whole contract of a round trip. (Predictions are compared on an
    eager call: the same computation as `predict`, without compiling it.)"""
    expected = model(x, training=False)
    got = loaded(x, training=False)
    assert jax.tree_util.tree_structure(got) == jax.tree_util.tree_structure(expected)
    for a, b in zip(_leaves(expected), _leaves(got)):
        np.testing.assert_array_equal(b, a)
    assert type(loaded) is type(model)
    if same_config:
        assert loaded.get_config() == model.get_config()
        assert loaded.get_compile_config() == model.get_compile_config()
    assert len(loaded.weights) == len(model.weights)
    for a, b in zip(model.weights, loaded.weights):
        assert (b.name, b.shape, b.dtype) == (a.name, a.shape, a.dtype)
        np.testing.assert_array_equal(np.asarray(b), np.asarray(a))
    if model.optimizer is not None:
        if same_config:
            assert loaded.optimizer.get_config() == model.optimizer.get_config()
        saved = model.optimizer.variables
        restored = loaded.optimizer.variables
        assert [v.shape for v in restored] == [v.shape for v in saved]
        for a, b in zip(saved, restored):
            np.testing.assert_array_equal(np.asarray(b), np.asarray(a))


def _train_save_load(model, x, y, optimizer="adam", loss="mse", steps=2, **load):
    model.compile(optimizer=optimizer, loss=loss)
    model.fit(
        x,
        y,
        batch_size=len(jax.tree_util.tree_leaves(x)[0]),
        epochs=steps,
        shuffle=False,
        verbose=0,
    )
    model.save("model.keras")
    return kiln.models.load_model("model.keras", **load)


# -- model kinds -------------------------------------------------------------------


@kiln.saving.register_keras_serializable(package="RoundTrip")
class WithConfig(kiln.Model):
    def __init__(self, units=2, hidden=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.hidden = hidden
        self.encoder = layers.Dense(hidden, activation="relu")
        self.head = layers.Dense(units)

    def call(self, x):
        return self.head(self.encoder(x))

    def get_config(self):
        return {**super().get_config(), "units": self.units, "hidden": self.hidden}


class AutoConfig(kiln.Model):
    """No get_config: plain __init__ arguments are recorded automatically,
    whatever the name of the `**kwargs` parameter."""

    def __init__(self, units=2, activation="tanh", **options):
        super().__init__(**options)
        self.dense = layers.Dense(units, activation=activation)

    def call(self, x):
        return self.dense(x)


@kiln.saving.register_keras_serializable(package="RoundTrip")
class Wrapper(layers.Layer):
    """The guide's layer that holds a layer."""

    def __init__(self, sublayer, **kwargs):
        super().__init__(**kwargs)
        self.sublayer = sublayer

    def call(self, x):
        return self.sublayer(x)

    def get_config(self):
        config = super().get_config()
        config["sublayer"] = kiln.saving.serialize_keras_object(self.sublayer)
        return config

    @classmethod
    def from_config(cls, config):
        sublayer = kiln.saving.deserialize_keras_object(config.pop("sublayer"))
        return cls(sublayer, **config)


def _sequential_with_input():
    return kiln.Sequential(
        [
            kiln.Input((6,)),
            layers.Dense(4, activation="relu"),
            layers.Dropout(0.5, seed=3),
            layers.Dense(2),
        ]
    )


def _sequential_input_shape_argument():
    return kiln.Sequential([layers.Dense(4, input_shape=(6,)), layers.Dense(2)])


def _sequential_deferred():
    # Built by fit, on the first batch.
    return kiln.Sequential([layers.Dense(4, activation="relu"), layers.Dense(2)])


def _functional_lists_with_shared_layer():
    a, b = kiln.Input((6,), name="a"), kiln.Input((6,), name="b")
    shared = layers.Dense(3, name="shared")
    out_a = layers.Dense(2, name="out_a")(shared(a))
    out_b = layers.Dense(2, name="out_b")(layers.Concatenate()([shared(b), shared(a)]))
    return kiln.Model([a, b], [out_a, out_b])


def _functional_dicts():
    a, b = kiln.Input((6,), name="a"), kiln.Input((6,), name="b")
    z = layers.Dense(2, name="z_dense")(layers.Add()([a, b]))
    y = layers.Dense(2, name="y_dense")(b)
    # Insertion order differs from sorted order on purpose.
    return kiln.Model({"b": b, "a": a}, {"z_out": z, "a_out": y})


def _functional_nested():
    inner_in = kiln.Input((4,))
    inner = kiln.Model(
        inner_in, layers.Dense(4, name="inner_dense")(inner_in), name="inner_functional"
    )
    stack = kiln.Sequential([kiln.Input((6,)), layers.Dense(4)], name="inner_seq")
    x = kiln.Input((6,))
    h = inner(inner(stack(x)))  # a nested model called twice
    return kiln.Model(x, layers.Dense(2)(h))


def _functional_with_ops_and_wrapper():
    x = kiln.Input((6,))
    h = Wrapper(layers.Dense(6, name="wrapped"))(x)
    h = kiln.ops.multiply(kiln.ops.add(h, x), 0.5)
    return kiln.Model(x, layers.Dense(2)(h))


def _functional_tied(wrapper_first):
    """One Dense used in the graph and held by a custom layer (weight tying):
    it must come back as one layer, whichever reference is saved first."""
    x = kiln.Input((6,))
    tied = layers.Dense(6, name="tied")
    if wrapper_first:
        h = tied(Wrapper(tied, name="wrapper")(x))
    else:
        h = Wrapper(tied, name="wrapper")(tied(x))
    return kiln.Model(x, layers.Dense(2)(h))


MODEL_CASES = {
    "sequential_with_input": (_sequential_with_input, {}),
    "sequential_input_shape_argument": (_sequential_input_shape_argument, {}),
    "sequential_deferred_build": (_sequential_deferred, {}),
    "functional_lists_with_shared_layer": (_functional_lists_with_shared_layer, {}),
    "functional_dicts": (_functional_dicts, {}),
    "functional_nested_models": (_functional_nested, {}),
    "functional_ops_and_layer_holding_layer": (_functional_with_ops_and_wrapper, {}),
    "functional_tied_layer_graph_first": (lambda: _functional_tied(False), {}),
    "functional_tied_layer_wrapper_first": (lambda: _functional_tied(True), {}),
    "subclassed_with_get_config": (lambda: WithConfig(units=2, hidden=5), {}),
    "subclassed_auto_config": (
        lambda: AutoConfig(units=2, activation="relu", name="auto"),
        {"custom_objects": {"AutoConfig": AutoConfig}},
    ),
}


def _model_data(model):
    x, y = _data()
    inputs = getattr(model, "_inputs_struct", None)
    if isinstance(inputs, list):
        return [x, x * 2], [y, y * 3]
    if isinstance(inputs, dict):
        return {"a": x, "b": x * 2}, {"z_out": y, "a_out": y * 3}
    return x, y


@pytest.mark.parametrize("case", sorted(MODEL_CASES))
def test_model_kind_round_trip(case):
    make, load_kwargs = MODEL_CASES[case]
    model = make()
    x, y = _model_data(model)
    loaded = _train_save_load(model, x, y, **load_kwargs)
    assert_same_model(model, loaded, x)
    if case.startswith("functional_tied"):
        assert loaded.get_layer("wrapper").sublayer is loaded.get_layer("tied")


def test_unbuilt_sequential_round_trip_then_trains():
    model = kiln.Sequential([layers.Dense(4), layers.Dense(2)])
    model.save("model.keras")
    loaded = kiln.models.load_model("model.keras")
    assert not loaded.built
    assert loaded.get_config() == model.get_config()
    x, y = _data()
    loaded.compile(optimizer="sgd", loss="mse")
    loaded.fit(x, y, epochs=1, verbose=0)
    assert loaded.built and len(loaded.weights) == 4


def test_weights_only_round_trip_includes_the_optimizer():
    x, y = _data()
    model = _sequential_with_input()
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    model.save_weights("model.weights.h5")
    fresh = _sequential_with_input()
    fresh.compile(optimizer="adam", loss="mse")
    fresh.optimizer.build(fresh.trainable_variables)
    fresh.load_weights("model.weights.h5")
    assert_same_model(model, fresh, x, same_config=False)


# -- optimizers -------------------------------------------------------------------

schedules = kiln.optimizers.schedules

OPTIMIZER_CASES = {
    "SGD": lambda: kiln.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
    "SGD_schedule": lambda: kiln.optimizers.SGD(
        schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.9), momentum=0.9
    ),
    "Adam": lambda: kiln.optimizers.Adam(0.01),
    "Adam_amsgrad": lambda: kiln.optimizers.Adam(0.01, amsgrad=True),
    "Adam_schedule_ema_accumulation": lambda: kiln.optimizers.Adam(
        schedules.CosineDecay(0.01, decay_steps=20),
        use_ema=True,
        gradient_accumulation_steps=2,
    ),
    "AdamW": lambda: kiln.optimizers.AdamW(0.01, weight_decay=0.1),
    "RMSprop": lambda: kiln.optimizers.RMSprop(0.01, momentum=0.5, centered=True),
    "Adagrad": lambda: kiln.optimizers.Adagrad(0.1),
}


def test_every_optimizer_has_a_case():
    public = {
        name
        for name in kiln.optimizers.__all__
        if inspect.isclass(getattr(kiln.optimizers, name))
        and issubclass(getattr(kiln.optimizers, name), kiln.optimizers.Optimizer)
        and name != "Optimizer"
    }
    covered = {case.split("_")[0] for case in OPTIMIZER_CASES}
    assert public <= covered, (
        f"Optimizers without a round-trip case: {sorted(public - covered)}. Add "
        "one to OPTIMIZER_CASES in tests/saving/test_round_trip_models.py."
    )


@pytest.mark.parametrize("case", sorted(OPTIMIZER_CASES))
def test_optimizer_round_trip(case):
    x, y = _data()
    model = kiln.Sequential([kiln.Input((6,)), layers.Dense(3), layers.Dense(2)])
    loaded = _train_save_load(model, x, y, optimizer=OPTIMIZER_CASES[case](), steps=3)
    assert int(np.asarray(loaded.optimizer.iterations)) == int(
        np.asarray(model.optimizer.iterations)
    )
    assert len(loaded.optimizer.variables) > 2  # slots were saved, not rebuilt
    assert_same_model(model, loaded, x)


# -- losses -----------------------------------------------------------------------


def _loss_classes():
    losses = kiln.losses
    return {
        name: getattr(losses, name)
        for name in losses.__all__
        if inspect.isclass(getattr(losses, name))
        and issubclass(getattr(losses, name), losses.Loss)
        and getattr(losses, name) not in (losses.Loss, losses.LossFunctionWrapper)
    }


# The function (and string) for a class whose default name differs from it.
_FUNCTION_NAMES = {"Huber": "huber"}


def _loss_forms(form):
    forms = {}
    for name, cls in sorted(_loss_classes().items()):
        function_name = _FUNCTION_NAMES.get(name, cls().name)
        if form == "class":
            forms[name] = cls()
        elif form == "function":
            forms[name] = getattr(kiln.losses, function_name)
        else:
            forms[name] = function_name
    return forms


@pytest.mark.parametrize("form", ["string", "function", "class"])
def test_every_loss_round_trip(form):
    """One model with an output per loss, so every loss is compiled, saved and
    restored in one go; each restored loss must compute what the original
    computes (a lost argument, such as Huber's delta, would show)."""
    losses = _loss_forms(form)
    inputs = kiln.Input((5,))
    outputs = {
        name: layers.Dense(3, activation="softmax", name=name)(inputs)
        for name in losses
    }
    model = kiln.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss=losses)
    model.save("model.keras")
    loaded = kiln.models.load_model("model.keras")
    rng = np.random.default_rng(1)
    assert_same_model(model, loaded, rng.normal(size=(2, 5)).astype("float32"))
    assert set(loaded.loss) == set(losses)

    y_pred = rng.uniform(0.1, 0.9, size=(4, 3)).astype("float32")
    for name, original in losses.items():
        restored = loaded.loss[name]
        if form == "string":
            assert restored == original
        elif form == "function":
            assert restored is original
        else:
            assert type(restored) is type(original)
            assert restored.get_config() == original.get_config()
        if name == "SparseCategoricalCrossentropy":
            y_true = np.array([[0], [2], [1], [1]])
        else:
            y_true = rng.uniform(0.1, 0.9, size=(4, 3)).astype("float32")
        expected = kiln.losses.get(original)(y_true, y_pred)
        np.testing.assert_array_equal(
            kiln.losses.get(restored)(y_true, y_pred), expected
        )


_KERAS_DROPS_IT = pytest.mark.xfail(
    strict=True,
    reason="Keras 3.15.1's get_config() drops this argument too, so the file "
    "never holds it; the fix belongs in kiln/_src/losses (outside the saving "
    "code).",
)


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(
            lambda: kiln.losses.CategoricalCrossentropy(label_smoothing=0.2),
            id="categorical_crossentropy_label_smoothing",
        ),
        pytest.param(
            lambda: kiln.losses.BinaryCrossentropy(from_logits=True),
            id="binary_crossentropy_from_logits",
        ),
        pytest.param(
            lambda: kiln.losses.Huber(delta=0.25),
            id="huber_delta",
            marks=_KERAS_DROPS_IT,
        ),
        pytest.param(
            lambda: kiln.losses.CosineSimilarity(axis=0),
            id="cosine_similarity_axis",
            marks=_KERAS_DROPS_IT,
        ),
    ],
)
def test_loss_arguments_round_trip(make):
    loss = make()
    inputs = kiln.Input((3,))
    model = kiln.Model(inputs, layers.Dense(3, activation="softmax")(inputs))
    model.compile(optimizer="sgd", loss=loss)
    model.save("model.keras")
    restored = kiln.models.load_model("model.keras").loss
    rng = np.random.default_rng(2)
    y_true = rng.uniform(0.1, 0.9, size=(4, 3)).astype("float32")
    y_pred = rng.uniform(-0.9, 0.9, size=(4, 3)).astype("float32")
    np.testing.assert_array_equal(restored(y_true, y_pred), loss(y_true, y_pred))


def test_compile_false_loads_an_uncompiled_model():
    x, y = _data()
    model = _sequential_with_input()
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    model.fit(x, y, epochs=1, verbose=0)
    model.save("model.keras")
    loaded = kiln.models.load_model("model.keras", compile=False)
    assert not loaded.compiled and loaded.optimizer is None
    np.testing.assert_array_equal(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0)
    )


def test_metrics_are_restored_by_compile():
    x, y = _data()
    model = _sequential_with_input()
    model.compile(
        optimizer="adam",
        loss="mse",
        metrics=["mae", kiln.metrics.RootMeanSquaredError()],
    )
    model.fit(x, y, epochs=1, verbose=0)
    model.save("model.keras")
    loaded = kiln.models.load_model("model.keras")
    assert loaded.get_compile_config() == model.get_compile_config()
    assert loaded.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)


def test_unzipped_directory_round_trip():
    x, y = _data()
    model = _functional_nested()
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=1, verbose=0)
    model.save("saved_model", zipped=False)
    loaded = kiln.models.load_model("saved_model")
    assert_same_model(model, loaded, x)
