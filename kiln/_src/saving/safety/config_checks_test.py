import json

import numpy as np
import pytest

import kiln
from kiln._src.saving.errors import ConfigTypeError, InvalidFileError
from kiln._src.saving.safety import config_checks
from kiln._src.saving.safety.config_checks import check_config
from kiln._src.saving.saving_lib import serialize_model_config
from kiln._src.saving.serialization_lib import deserialize_keras_object


def layer(**fields):
    """A layer envelope inside a Sequential, so it sits in a layer slot."""
    config = {"name": "lay", **fields}
    return {
        "module": "keras",
        "class_name": "Sequential",
        "config": {
            "name": "seq",
            "layers": [
                {"module": "keras.layers", "class_name": "Thing", "config": config}
            ],
        },
    }


GOOD = [
    ("units", 1),
    ("units", 2**31 - 1),
    ("value_dim", None),
    ("kernel_size", 3),
    ("kernel_size", [3, 1]),
    ("strides", None),
    ("padding", "same"),
    ("padding", "CAUSAL"),
    ("padding", [[1, 2], [0, 0]]),
    ("padding", 0),
    ("cropping", [[1, 0], [0, 1]]),
    ("batch_shape", [None, 3]),
    ("batch_shape", [None] * 16),
    ("shape", [0]),
    ("noise_shape", None),
    ("target_shape", [-1, 3]),
    ("dims", [2, 1]),
    ("output_shape", [None, 5]),
    ("output_shape", 3),
    ("rate", 0),
    ("rate", 1.0),
    ("momentum", 0.99),
    ("epsilon", 0.0),
    ("use_bias", False),
    ("data_format", "channels_first"),
    ("data_format", None),
    ("dtype", "float32"),
    ("dtype", "mixed_bfloat16"),
    ("dtype", "int8_from_float32"),
    ("dtype", "float8_from_mixed_bfloat16"),
    ("dtype", None),
    ("name", "a" * 256),
]

BAD = [
    ("units", True, "not a boolean"),
    ("units", "2", "positive integer"),
    ("units", 2.0, "positive integer"),
    ("units", 0, "positive integer"),
    ("units", 2**31, "at most 2147483647"),
    ("units", None, "positive integer"),
    ("kernel_size", [3, 0], "positive integer"),
    ("kernel_size", [True], "positive integer"),
    ("kernel_size", [[3]], "positive integer"),
    ("kernel_size", [1] * 17, "at most 16"),
    ("padding", "sideways", "one of"),
    ("padding", [-1], "non-negative"),
    ("cropping", [[[1]]], "non-negative"),
    ("batch_shape", [None, 2**31], "shape"),
    ("batch_shape", [None] * 17, "at most 16"),
    ("batch_shape", [None, True], "shape"),
    ("batch_shape", [None, 3.0], "shape"),
    ("batch_shape", "[None, 3]", "shape"),
    ("target_shape", [None], "shape"),
    ("target_shape", [-2], "shape"),
    ("dims", [0, 1], "shape"),
    ("rate", 1.5, "in \\[0, 1\\]"),
    ("rate", -0.1, "in \\[0, 1\\]"),
    ("rate", True, "not a boolean"),
    ("epsilon", -1e-3, ">= 0"),
    ("momentum", "0.9", "finite number"),
    ("use_bias", 1, "boolean"),
    ("use_bias", "true", "boolean"),
    ("data_format", "NHWC", "channels_last"),
    ("dtype", "U500000000", "dtype name"),
    ("dtype", "<f4", "dtype name"),
    ("dtype", 32, "dtype name"),
    ("name", "a/b", "'/'"),
    ("name", "a\x00b", "NUL"),
    ("name", "a" * 257, "256"),
    ("name", "", "1 to 256"),
    ("name", 5, "string"),
]


@pytest.mark.parametrize("field,value", GOOD, ids=str)
def test_good_values_pass(field, value):
    check_config(layer(**{field: value}))


@pytest.mark.parametrize("field,value,match", BAD, ids=str)
def test_bad_values_rejected(field, value, match):
    with pytest.raises(InvalidFileError, match=match) as error:
        check_config(layer(**{field: value}))
    message = str(error.value)
    assert message.startswith("config.json: layer ")
    assert f"(Thing) field '{field}'" in message


def test_message_shows_the_value():
    with pytest.raises(InvalidFileError) as error:
        check_config(layer(units=True))
    assert str(error.value).startswith(
        "config.json: layer 'lay' (Thing) field 'units' must be a positive "
        "integer of at most 2147483647 (a JSON number, not a boolean or "
        "string); got true."
    )


def test_non_layer_names_may_hold_a_slash():
    # Keras forbids '/' only in layer names; a metric may be called "m/se".
    metric = {
        "module": "keras.metrics",
        "class_name": "Mean",
        "config": {"name": "m/se"},
    }
    check_config(layer(metric=metric))
    with pytest.raises(InvalidFileError, match="object 'm\x00' \\(Mean\\)"):
        check_config(layer(metric=dict(metric, config={"name": "m\x00"})))


def test_layers_nested_in_wrappers_are_layers():
    inner = {"module": "keras.layers", "class_name": "LSTM", "config": {"name": "a/b"}}
    with pytest.raises(InvalidFileError, match="layer 'a/b' \\(LSTM\\) field 'name'"):
        check_config(layer(layer=inner))


def test_build_config_shapes_checked():
    envelope = layer()
    entry = envelope["config"]["layers"][0]
    entry["build_config"] = {"input_shape": [[None, 4], [None, 2]]}
    check_config(envelope)
    entry["build_config"] = {"shapes_dict": {"query_shape": [None, 3], "key": None}}
    check_config(envelope)
    entry["build_config"] = {"input_shape": {"a": [None, 2**40]}}
    with pytest.raises(InvalidFileError, match="field 'build_config.input_shape'"):
        check_config(envelope)


def _array(value, dtype):
    return {"class_name": "__numpy__", "config": {"value": value, "dtype": dtype}}


@pytest.mark.parametrize("dtype", sorted(config_checks.ARRAY_DTYPES))
def test_every_allowed_array_dtype_passes(dtype):
    check_config(layer(arguments={"v": _array([[1, 0], [0, 1]], dtype)}))


@pytest.mark.parametrize(
    "marker,match",
    [
        (_array([1], "U500000000"), "array dtype"),
        (_array([1], "complex64"), "array dtype"),
        (_array([1], None), "array dtype"),
        (_array([[1], [1, 2]], "float32"), "regular"),
        (_array([[1], 2], "float32"), "regular"),
        (_array([None], "float32"), "numbers or booleans"),
        (_array([[0] * 1001] * 1000, "float32"), "1000000 elements"),
        (_array([[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]], "float32"), "16 dimensions"),
        ({"class_name": "__numpy__", "config": [1]}, "'value' and 'dtype'"),
        ({"class_name": "__typespec__", "config": {}}, "__typespec__"),
        ({"class_name": "__lambda__", "config": {"code": "AA=="}}, "safe_mode=False"),
        ({"class_name": "__slice__", "config": {"start": "a"}}, "__slice__"),
        ({"class_name": "__bytes__", "config": {"value": 1}}, "__bytes__"),
        (
            {
                "class_name": "__keras_tensor__",
                "config": {
                    "shape": [None, 3],
                    "dtype": "float32",
                    "keras_history": ["a", 0],
                },
            },
            "keras_history",
        ),
        (
            {
                "class_name": "__keras_tensor__",
                "config": {
                    "shape": [None, -1],
                    "dtype": "float32",
                    "keras_history": ["a", 0, 0],
                },
            },
            "shape",
        ),
    ],
    ids=lambda value: str(value)[:40],
)
def test_bad_markers_rejected(marker, match):
    with pytest.raises(InvalidFileError, match=match) as error:
        check_config(layer(arguments={"v": marker}))
    assert "layer 'lay' (Thing) field 'arguments.v'" in str(error.value)


def test_good_markers_pass():
    check_config(
        layer(
            arguments={
                "scalar": _array(1.5, "float64"),
                "empty": _array([[], []], "float32"),
                "bytes": {"class_name": "__bytes__", "config": {"value": "ab"}},
                "slice": {
                    "class_name": "__slice__",
                    "config": {"start": 1, "stop": None, "step": -1},
                },
                "ellipsis": {"class_name": "__ellipsis__", "config": {}},
            }
        )
    )


def test_deserialize_checks_array_markers_too():
    with pytest.raises(InvalidFileError, match="array dtype"):
        deserialize_keras_object(_array([1, 2], "U500000000"))
    assert deserialize_keras_object(_array([1, 2], "int8")).dtype == np.int8
    with pytest.raises(ValueError, match="__typespec__"):
        deserialize_keras_object({"class_name": "__typespec__", "config": {}})


def test_deep_nesting_needs_no_recursion():
    value: list = []
    for _ in range(50_000):
        value = [value]
    check_config(layer(extra=value))


def test_kiln_configs_pass():
    x = kiln.Input((5, 4))
    y = kiln.layers.Conv1D(3, 2, padding="causal")(x)
    y = kiln.layers.LSTM(2, return_sequences=True, dropout=0.5)(y)
    y = kiln.layers.Bidirectional(kiln.layers.GRU(2))(y)
    y = kiln.layers.Dropout(0.3)(kiln.layers.BatchNormalization()(y))
    model = kiln.Model(x, kiln.layers.Dense(1)(y))
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    check_config(json.loads(serialize_model_config(model)))


def test_build_error_names_the_object():
    error = TypeError("bad argument")
    error.kiln_failed_object = ("Dense", "dense_1")
    wrapped = config_checks.build_error(error)
    assert isinstance(wrapped, ConfigTypeError) and isinstance(wrapped, TypeError)
    assert str(wrapped) == (
        "config.json: layer 'dense_1' (Dense) could not be rebuilt from its "
        "config: TypeError: bad argument"
    )
    plain = config_checks.build_error(ValueError("no"))
    assert type(plain) is InvalidFileError
    assert "the model could not be rebuilt" in str(plain)


def test_model_from_json_is_checked():
    model = kiln.Sequential([kiln.Input((3,)), kiln.layers.Dense(2, name="d")])
    text = model.to_json()
    assert kiln.models.model_from_json(text).layers[-1].units == 2
    with pytest.raises(InvalidFileError, match="model_from_json\\(\\): layer 'd'"):
        kiln.models.model_from_json(text.replace('"units": 2', '"units": true'))


def test_field_rules_are_not_applied_to_custom_classes():
    # A custom class may use Keras's field names with its own meaning; its
    # module is not keras.*, so it can only resolve to a user-given class.
    custom = {
        "module": "my_package.layers",
        "class_name": "Mixer",
        "registered_name": "my_package>Mixer",
        "config": {"name": "mixer", "rate": 2.5, "units": "auto"},
    }
    config_checks.check_config(custom)
    builtin = dict(custom, module="keras.layers", registered_name=None)
    with pytest.raises(InvalidFileError, match="'rate'"):
        config_checks.check_config(builtin)


def _rnn(timesteps, unroll=True, build=True):
    envelope = layer(units=2, unroll=unroll)
    inner = envelope["config"]["layers"][0]
    inner["class_name"] = "SimpleRNN"
    if build:
        inner["build_config"] = {"input_shape": [None, timesteps, 1]}
    return envelope


def test_unroll_over_the_bound_rejected():
    bound = config_checks.MAX_UNROLL_STEPS
    check_config(_rnn(bound))
    with pytest.raises(InvalidFileError, match="'lay' \\(SimpleRNN\\) field 'unroll'"):
        check_config(_rnn(bound + 1))
    # unroll=False, an unknown length, or the caller's safe_mode=False: no bound.
    check_config(_rnn(10**6, unroll=False))
    check_config(_rnn(None))
    check_config(_rnn(10**6), safe_mode=False)


def test_unroll_bound_enforced_when_built_from_a_file():
    # A file may leave out build_config: the RNN checks when it is built,
    # while a file is loaded in safe mode.
    def model(timesteps):
        return {
            "module": "keras",
            "class_name": "Sequential",
            "config": {
                "name": "seq",
                "layers": [
                    {
                        "module": "keras.layers",
                        "class_name": "InputLayer",
                        "config": {"batch_shape": [None, timesteps, 1], "name": "i"},
                    },
                    {
                        "module": "keras.layers",
                        "class_name": "SimpleRNN",
                        "config": {"units": 2, "unroll": True, "name": "r"},
                    },
                ],
            },
        }

    bound = config_checks.MAX_UNROLL_STEPS
    with pytest.raises(InvalidFileError, match=f"over {bound + 1} timesteps"):
        deserialize_keras_object(model(bound + 1))
    assert deserialize_keras_object(model(bound + 1), safe_mode=False).built
    assert deserialize_keras_object(model(8)).built
    # Code is not limited (Keras has no limit).
    inputs = kiln.Input((bound + 1, 1))
    kiln.layers.SimpleRNN(2, unroll=True)(inputs)


def test_split_sections_field_bounded():
    def split(value):
        return {
            "module": "keras.src.ops.numpy",
            "class_name": "Split",
            "config": {"name": "s", "indices_or_sections": value, "axis": 1},
        }

    check_config(split(2))
    check_config(split([1, 4]))
    with pytest.raises(InvalidFileError, match="'indices_or_sections' must be"):
        check_config(split(10**9))
