"""The safe-mode allowlist (`name_allowlist`): what a file may name, pinned,
and what it may not (kiln's saving, config, utility and ops functions, other
classes), through every way a name reaches the resolver."""

import inspect

import numpy as np
import pytest

import kiln
import kiln.models
import kiln.saving
import kiln.utils  # noqa: F401 - their exports are in the table a file sees
from kiln._src import api_export
from kiln._src.saving import serialization_lib
from kiln._src.saving.errors import (
    ConfigTypeError,
    InvalidFileError,
    UnknownObjectError,
)
from kiln._src.saving.safety import name_allowlist
from kiln._src.saving.safety.name_allowlist import safe_builtin_names
from kiln._src.saving.serialization_lib import (
    check_all_classes_resolvable,
    deserialize_keras_object,
)

# The whole allowlist, by export family. A new export that the rule lets in
# fails this test: check that it is a pure modeling object before adding it.
SAFE_BUILTINS = {
    "keras": """
        DTypePolicy Initializer Layer Loss Metric Model Optimizer Regularizer
        Sequential
    """,
    "keras.activations": """
        celu elu exponential gelu glu hard_shrink hard_sigmoid hard_silu
        hard_swish hard_tanh leaky_relu linear log_sigmoid log_softmax mish relu
        relu6 selu sigmoid silu soft_shrink softmax softplus softsign sparse_plus
        sparse_sigmoid sparsemax squareplus swish tanh tanh_shrink threshold
    """,
    "keras.constraints": """
        Constraint MaxNorm MinMaxNorm NonNeg UnitNorm max_norm min_max_norm
        non_neg unit_norm
    """,
    "keras.dtype_policies": """
        DTypePolicy
    """,
    "keras.initializers": """
        Constant GlorotNormal GlorotUniform HeNormal HeUniform Identity
        IdentityInitializer Initializer LecunNormal LecunUniform Ones Orthogonal
        OrthogonalInitializer RandomNormal RandomUniform TruncatedNormal
        VarianceScaling Zeros constant glorot_normal glorot_uniform he_normal
        he_uniform identity lecun_normal lecun_uniform ones orthogonal
        random_normal random_uniform truncated_normal variance_scaling zeros
    """,
    "keras.layers": """
        Activation ActivityRegularization Add AdditiveAttention AlphaDropout
        Attention Average AveragePooling1D AveragePooling2D AveragePooling3D
        AvgPool1D AvgPool2D AvgPool3D BatchNormalization Bidirectional
        CategoryEncoding Concatenate Conv1D Conv1DTranspose Conv2D Conv2DTranspose
        Conv3D Conv3DTranspose Convolution1D Convolution1DTranspose Convolution2D
        Convolution2DTranspose Convolution3D Convolution3DTranspose Cropping1D
        Cropping2D Cropping3D Dense DepthwiseConv1D DepthwiseConv2D Dot Dropout
        ELU EinsumDense Embedding Flatten GRU GRUCell GaussianDropout
        GaussianNoise GlobalAveragePooling1D GlobalAveragePooling2D
        GlobalAveragePooling3D GlobalAvgPool1D GlobalAvgPool2D GlobalAvgPool3D
        GlobalMaxPool1D GlobalMaxPool2D GlobalMaxPool3D GlobalMaxPooling1D
        GlobalMaxPooling2D GlobalMaxPooling3D GroupNormalization Identity
        InputLayer LSTM LSTMCell Lambda Layer LayerNormalization LeakyReLU Masking
        MaxPool1D MaxPool2D MaxPool3D MaxPooling1D MaxPooling2D MaxPooling3D
        Maximum Minimum MultiHeadAttention Multiply Normalization PReLU Permute
        RMSNormalization RNN ReLU RepeatVector Rescaling Reshape SeparableConv1D
        SeparableConv2D SeparableConvolution1D SeparableConvolution2D SimpleRNN
        SimpleRNNCell Softmax SpatialDropout1D SpatialDropout2D SpatialDropout3D
        StackedRNNCells Subtract TimeDistributed UnitNormalization UpSampling1D
        UpSampling2D UpSampling3D ZeroPadding1D ZeroPadding2D ZeroPadding3D
    """,
    "keras.losses": """
        BCE BinaryCrossentropy CategoricalCrossentropy CategoricalHinge
        CosineSimilarity Hinge Huber KLD KLDivergence LogCosh Loss MAE MAPE MSE
        MSLE MeanAbsoluteError MeanAbsolutePercentageError MeanSquaredError
        MeanSquaredLogarithmicError Poisson SparseCategoricalCrossentropy
        SquaredHinge bce binary_crossentropy categorical_crossentropy
        categorical_hinge cosine_similarity hinge huber kl_divergence kld log_cosh
        logcosh mae mape mean_absolute_error mean_absolute_percentage_error
        mean_squared_error mean_squared_logarithmic_error mse msle poisson
        sparse_categorical_crossentropy squared_hinge
    """,
    "keras.metrics": """
        Accuracy BinaryAccuracy BinaryCrossentropy CategoricalAccuracy
        CategoricalCrossentropy CategoricalHinge CosineSimilarity Hinge KLD
        KLDivergence LogCoshError MAE MAPE MSE MSLE Mean MeanAbsoluteError
        MeanAbsolutePercentageError MeanMetricWrapper MeanSquaredError
        MeanSquaredLogarithmicError Metric Poisson RootMeanSquaredError
        SparseCategoricalAccuracy SparseCategoricalCrossentropy
        SparseTopKCategoricalAccuracy SquaredHinge Sum TopKCategoricalAccuracy
        accuracy binary_accuracy binary_crossentropy categorical_accuracy
        categorical_crossentropy categorical_hinge hinge huber kl_divergence kld
        log_cosh logcosh mae mape mean_absolute_error
        mean_absolute_percentage_error mean_squared_error
        mean_squared_logarithmic_error mse msle poisson
        sparse_categorical_accuracy sparse_categorical_crossentropy
        sparse_top_k_categorical_accuracy squared_hinge top_k_categorical_accuracy
    """,
    "keras.models": """
        Model Sequential
    """,
    "keras.optimizers": """
        Adagrad Adam AdamW Optimizer RMSprop SGD
    """,
    "keras.optimizers.schedules": """
        CosineDecay CosineDecayRestarts ExponentialDecay InverseTimeDecay
        LearningRateSchedule PiecewiseConstantDecay PolynomialDecay
    """,
    "keras.random": """
        SeedGenerator
    """,
    "keras.regularizers": """
        L1 L1L2 L2 OrthogonalRegularizer Regularizer l1 l1_l2 l2
        orthogonal_regularizer
    """,
    "keras.src.activations.activations": """
        Mish ReLU
    """,
    "keras.src.losses.losses": """
        LossFunctionWrapper
    """,
    "keras.src.models.functional": """
        Functional
    """,
    "keras.src.ops.core": """
        Cast Slice StopGradient
    """,
    "keras.src.ops.nn": """
        BinaryCrossentropy CategoricalCrossentropy Celu Elu Gelu Glu HardShrink
        HardSigmoid HardSilu HardTanh LeakyRelu LogSigmoid LogSoftmax Moments
        OneHot Relu Relu6 Selu Sigmoid Silu SoftShrink Softmax Softplus Softsign
        SparseCategoricalCrossentropy SparsePlus SparseSigmoid Sparsemax
        Squareplus TanhShrink Threshold
    """,
    "keras.src.ops.numpy": """
        Abs Add All Any Arange Argmax Argmin Argsort Ceil Clip Concatenate Cos
        Cumsum Diag Divide Dot Einsum Equal Exp ExpandDims Expm1 Eye Flip Floor
        FloorDivide Greater GreaterEqual Isfinite Isnan Less LessEqual Log Log1p
        LogicalAnd LogicalNot LogicalOr Matmul Max Maximum Mean Min Minimum Mod
        Multiply Negative Norm NotEqual OnesLike Outer Pad Power Prod Reciprocal
        Repeat Reshape Round Sign Sin Sort Split Sqrt Square Squeeze Stack Std
        Subtract Sum Take TakeAlongAxis Tanh Tensordot Tile Transpose TrueDivide
        Var Where ZerosLike
    """,
}


def test_allowlist_is_pinned():
    expected = sorted(
        f"{family}.{short}"
        for family, shorts in SAFE_BUILTINS.items()
        for short in shorts.split()
    )
    assert safe_builtin_names() == expected


def test_allowlist_rule_excludes_every_non_modeling_export():
    allowed = set(safe_builtin_names())
    for name in api_export.exported_names():
        family, _, short = name.rpartition(".")
        obj = api_export.get_exported_object(name)
        if name in allowed:
            continue
        if inspect.isclass(obj):
            assert not issubclass(obj, name_allowlist._safe_bases()), name
        else:  # every function outside the families, and their utilities
            assert (
                family not in name_allowlist.SAFE_FUNCTION_FAMILIES
                or short in name_allowlist.FAMILY_UTILITY_NAMES
            ), name
    for name in [
        "keras.saving.save_model",
        "keras.saving.load_model",
        "keras.models.load_model",
        "keras.utils.set_random_seed",
        "keras.losses.get",
        "keras.layers.deserialize",
        "keras.Input",
        "keras.layers.concatenate",
        "keras.callbacks.History",
        "keras.Variable",
        "keras.KerasTensor",
    ]:
        assert api_export.get_exported_object(name) is not None, name
        assert name not in allowed, name


def _fn(name, module="builtins"):
    return {
        "module": module,
        "class_name": "function",
        "config": name,
        "registered_name": "function",
    }


def _cls(module, class_name, config=None):
    return {
        "module": module,
        "class_name": class_name,
        "config": {} if config is None else config,
        "registered_name": None,
    }


# (envelope, the name the error must show). Function envelopes and class
# envelopes (`module` + `class_name`) both reach kiln's export table.
REFUSED = {
    "save_model-class": (_cls("keras.saving", "save_model"), "keras.saving.save_model"),
    "load_model-class": (_cls("keras.models", "load_model"), "keras.saving.load_model"),
    "set_random_seed-class": (
        _cls("keras.utils", "set_random_seed"),
        "keras.utils.set_random_seed",
    ),
    "losses-get-function": (_fn("get"), "keras.activations.get"),
    "deserialize-function": (_fn("deserialize"), "keras.activations.deserialize"),
    "metrics-get-class": (_cls("keras.metrics", "get"), "keras.metrics.get"),
    "layers-deserialize-class": (
        _cls("keras.layers", "deserialize"),
        "keras.layers.deserialize",
    ),
    "callback-class": (_cls("keras.callbacks", "History"), "keras.callbacks.History"),
    "variable-class": (_cls("keras", "Variable"), "keras.Variable"),
    "input-function-class": (_cls("keras", "Input", {"shape": [2]}), "keras.Input"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_safe_mode_refuses_non_modeling_builtins(case):
    envelope, shown = REFUSED[case]
    with pytest.raises(InvalidFileError, match="not a modeling object") as caught:
        deserialize_keras_object(envelope)
    assert shown in str(caught.value)
    assert "safe_mode=False" in str(caught.value)
    assert "custom_objects" in str(caught.value)
    # The pre-load check of every name refuses it too (kiln verify uses it).
    with pytest.raises(InvalidFileError, match="not a modeling object"):
        check_all_classes_resolvable({"nested": [envelope]})


def test_family_lookups_refuse_utilities():
    # Each family's `deserialize` passes its own table; a utility reached
    # through it is refused like any other.
    for family in (kiln.activations, kiln.losses, kiln.metrics):
        with pytest.raises(InvalidFileError, match="not a modeling object"):
            family.deserialize(_fn("deserialize"))
    with pytest.raises(InvalidFileError, match="not a modeling object"):
        kiln.layers.deserialize(_fn("concatenate"))


def test_modeling_builtins_still_resolve():
    assert deserialize_keras_object(_fn("relu")) is kiln.activations.relu
    assert (
        deserialize_keras_object(_fn("mean_squared_error", "keras.losses"))
        is kiln.losses.mean_squared_error
    )
    dense = deserialize_keras_object(_cls("keras.layers", "Dense", {"units": 2}))
    assert isinstance(dense, kiln.layers.Dense)
    add = deserialize_keras_object(_cls("keras.src.ops.numpy", "Add", {"name": "add"}))
    assert type(add).__name__ == "Add"
    # A function named as a class, as Keras allows, when it is a modeling one.
    assert deserialize_keras_object(_cls("keras.activations", "relu")) is (
        kiln.activations.relu
    )


def test_ops_need_unsafe_mode_or_custom_objects():
    with pytest.raises(UnknownObjectError, match="'square' is an op"):
        deserialize_keras_object(_fn("square"))
    with pytest.raises(UnknownObjectError, match="are ops"):
        check_all_classes_resolvable(_fn("square"))
    assert deserialize_keras_object(_fn("square"), safe_mode=False) is kiln.ops.square
    mine = {"square": kiln.ops.square}
    assert deserialize_keras_object(_fn("square"), custom_objects=mine) is (
        kiln.ops.square
    )


def test_callers_objects_are_not_checked():
    # The registry, custom_objects and scopes are the caller's choice.
    def save_everything(x):
        return x

    found = deserialize_keras_object(
        _cls("keras.saving", "save_model"), custom_objects={"save_model": len}
    )
    assert found is len
    with kiln.saving.custom_object_scope({"Custom>save_everything": save_everything}):
        assert deserialize_keras_object(_fn("Custom>save_everything")) is (
            save_everything
        )


def test_unsafe_mode_keeps_todays_resolution():
    found = deserialize_keras_object(
        _cls("keras.utils", "set_random_seed"), safe_mode=False
    )
    assert found is api_export.get_exported_object("keras.utils.set_random_seed")


def test_a_file_cannot_turn_safe_mode_off():
    # safe_mode is the caller's argument only: a nested envelope saying
    # otherwise changes nothing, and an inner from_config passing
    # safe_mode=False keeps the outer call's mode.
    lam = {
        "module": "keras.layers",
        "class_name": "Lambda",
        "config": {"name": "l", "function": _fn("square"), "safe_mode": False},
        "registered_name": None,
    }
    with pytest.raises(InvalidFileError):
        deserialize_keras_object(lam)


MALFORMED = {
    "missing-class-name-key": {"class_name": "Dense", "config": {"units": "x"}},
    "lambda-without-function": _cls("keras.layers", "Lambda", {"name": "l"}),
    "bytes-without-value": {"class_name": "__bytes__", "config": {}},
    "slice-not-dict": {"class_name": "__slice__", "config": [1, 2]},
    "non-dict-config": {"class_name": "Dense", "module": "keras.layers", "config": 3},
    "function-config-not-str": {"class_name": "function", "config": [1]},
    "class-name-not-str": {"class_name": 3, "config": {}},
    "unknown-class": _cls("my.module", "Nope"),
    "unknown-marker": {"class_name": "__evil__", "config": {}},
    "bad-build-config": {
        **_cls("keras.layers", "Dense", {"units": 2}),
        "build_config": {"input_shape": "x"},
    },
    "sequential-layers-not-list": _cls("keras", "Sequential", {"layers": 3}),
    "functional-no-layers": _cls(
        "keras.src.models.functional", "Functional", {"name": "f"}
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_configs_raise_the_error_family(case):
    with pytest.raises(InvalidFileError) as caught:
        deserialize_keras_object(MALFORMED[case])
    assert str(caught.value)


def test_type_errors_stay_type_errors():
    with pytest.raises(ConfigTypeError) as caught:
        deserialize_keras_object(_cls("keras.layers", "Dense", {"name": "d"}))
    assert isinstance(caught.value, TypeError)
    assert "Dense" in str(caught.value)
    with pytest.raises(UnknownObjectError) as unknown:
        deserialize_keras_object(_cls("my.module", "Nope"))
    assert isinstance(unknown.value, TypeError)


def test_benign_configs_still_round_trip():
    layer = kiln.layers.Dense(2, activation="relu", name="d")
    again = deserialize_keras_object(serialization_lib.serialize_keras_object(layer))
    assert again.get_config() == layer.get_config()
    np.testing.assert_allclose(
        deserialize_keras_object(
            {"class_name": "__numpy__", "config": {"value": [1, 2], "dtype": "int32"}}
        ),
        [1, 2],
    )
