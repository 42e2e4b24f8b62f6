"""The walk that names weight groups. Expected paths are Keras 3.15.1's (the
same models saved by Keras give these groups; `tests/saving` compares whole
files with Keras's)."""

import kiln
from kiln import layers
from kiln._src.saving.saveable_walk import vars_path, walk


def _paths(model):
    return [path for path, _ in walk(model)]


def test_functional_layers_are_named_by_class_with_counters():
    inputs = kiln.Input((3,), name="x")
    hidden = layers.Dense(4, name="hidden")(inputs)
    outputs = layers.Dense(2, name="out")(layers.Dropout(0.1)(hidden))
    model = kiln.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mse")
    walked = dict((path, obj) for path, obj in walk(model))
    assert list(walked) == [
        "",
        "layers/input_layer",
        "layers/dense",
        "layers/dropout",
        "layers/dense_1",
        "optimizer",
    ]
    # Named by position and class, not by layer name.
    assert walked["layers/dense_1"].name == "out"


def test_sequential_layers_exclude_the_input_layer():
    model = kiln.Sequential(
        [kiln.Input((3,)), layers.Dense(2), layers.Flatten(), layers.Dense(1)]
    )
    assert _paths(model) == ["", "layers/dense", "layers/flatten", "layers/dense_1"]


class Block(layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.inner = [layers.Dense(3), layers.Dense(3)]

    def call(self, x):
        for layer in self.inner:
            x = layer(x)
        return x


class Subclassed(kiln.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.alpha = layers.Dense(4)
        self.zeta = layers.Dense(4)
        self.blocks = [layers.Dense(4), Block()]
        self.nested = kiln.Sequential([layers.Dense(4), layers.Dense(2)])
        self._private = layers.Dense(2)

    def call(self, x):
        x = self.zeta(self.alpha(x))
        for block in self.blocks:
            x = block(x)
        return self._private(self.nested(x))


def test_subclassed_model_attribute_order_and_the_layers_race():
    model = Subclassed()
    model.build((None, 5))
    model.compile(optimizer="adam", loss="mse")
    assert _paths(model) == [
        "",
        "alpha",
        "blocks/dense",
        "blocks/block",
        "blocks/block/inner/dense",
        "blocks/block/inner/dense_1",
        # `layers` (the public property) sorts before `nested` and `zeta`, so
        # the sublayers not yet visited land under layers/<class>[_k].
        "layers/dense_1",
        "layers/sequential",
        "layers/sequential/layers/dense",
        "layers/sequential/layers/dense_1",
        "layers/dense_3",
        "optimizer",
    ]


def test_nested_containers_and_dicts():
    class Holder(layers.Layer):
        def __init__(self):
            super().__init__()
            self.blocks = [[layers.Dense(2)], [layers.Dense(2), layers.Dropout(0.1)]]
            self.by_key = {"z": layers.Dense(2), "a": layers.Dense(2)}

    paths = _paths(Holder())
    assert paths == [
        "",
        "blocks/container/dense",
        "blocks/container_1/dense",
        "blocks/container_1/dropout",
        # Dict values in insertion order; the keys are not used.
        "by_key/dense",
        "by_key/dense_1",
    ]


def test_shared_object_is_saved_once_at_its_first_path():
    class Aliased(layers.Layer):
        def __init__(self):
            super().__init__()
            shared = layers.Dense(2)
            self._hidden = shared
            self.visible = shared
            self.again = [shared, layers.Dense(2)]

    walked = _paths(Aliased())
    # `again` sorts first; the counter still advances past the visited one.
    assert walked == ["", "again/dense", "again/dense_1"]


def test_public_alias_beats_private_name():
    class Aliased(layers.Layer):
        def __init__(self):
            super().__init__()
            self._query = layers.Dense(2)

        @property
        def query(self):
            return self._query

    assert _paths(Aliased()) == ["", "query"]


def test_vars_path():
    assert vars_path("") == "vars"
    assert vars_path("layers/dense") == "layers/dense/vars"
