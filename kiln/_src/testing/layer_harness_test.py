import pytest

from kiln._src.testing.layer_harness import check_layer


@pytest.mark.parametrize(
    "factory, shape",
    [
        (lambda k: k.layers.Dense(3, activation="relu"), (4,)),
        (lambda k: k.layers.Dense(2, use_bias=False), (5, 4)),
        (lambda k: k.layers.Flatten(), (2, 3)),
        (lambda k: k.layers.Reshape((3, 2)), (6,)),
        (lambda k: k.layers.Activation("tanh"), (4,)),
        (lambda k: k.layers.Identity(), (4,)),
        (lambda k: k.layers.Dropout(0.5), (4,)),
    ],
    ids=[
        "dense",
        "dense_3d_no_bias",
        "flatten",
        "reshape",
        "activation",
        "identity",
        "dropout",
    ],
)
def test_core_layers_match_keras(tmp_path, factory, shape):
    check_layer(tmp_path, factory, shape)
