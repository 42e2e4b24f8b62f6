import math

import keras
import numpy as np
import pytest

from kiln._src.initializers.variance_scaling import (
    GlorotNormal,
    GlorotUniform,
    HeNormal,
    HeUniform,
    LecunNormal,
    LecunUniform,
    VarianceScaling,
    compute_fans,
)


@pytest.mark.parametrize(
    "shape, axes, expected",
    [
        pytest.param((), None, (1, 1), id="scalar"),
        pytest.param((7,), None, (7, 7), id="vector"),
        pytest.param((3, 5), None, (3, 5), id="dense"),
        # Conv1D kernel (width, in, out): receptive field 4.
        pytest.param((4, 3, 8), None, (12, 32), id="conv1d"),
        # Conv2D kernel (3, 3, in=16, out=32): receptive field 9.
        pytest.param((3, 3, 16, 32), None, (144, 288), id="conv2d"),
        pytest.param((2, 3, 4, 5, 6), None, (120, 144), id="conv3d"),
        pytest.param((2, 3, 4), ([0, 1], [2]), (6, 4), id="explicit_axes"),
        # Only one of the two axis lists: ignored.
        pytest.param((2, 3, 4), ([0], None), (6, 8), id="one_axis_list"),
    ],
)
def test_compute_fans_by_hand(shape, axes, expected):
    input_axes, output_axes = axes or (None, None)
    assert compute_fans(shape, input_axes, output_axes) == expected


# (class, scale, mode, distribution) as documented for each preset.
PRESETS = [
    (GlorotUniform, 1.0, "fan_avg", "uniform"),
    (GlorotNormal, 1.0, "fan_avg", "truncated_normal"),
    (HeUniform, 2.0, "fan_in", "uniform"),
    (HeNormal, 2.0, "fan_in", "truncated_normal"),
    (LecunUniform, 1.0, "fan_in", "uniform"),
    (LecunNormal, 1.0, "fan_in", "truncated_normal"),
]


def _target_std(scale, mode, shape):
    fan_in, fan_out = compute_fans(shape)
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}
    return math.sqrt(scale / max(1.0, n[mode]))


@pytest.mark.parametrize(
    "cls, scale, mode, distribution", PRESETS, ids=[p[0].__name__ for p in PRESETS]
)
def test_presets_follow_the_formula(cls, scale, mode, distribution):
    shape = (5, 5, 20, 40)  # fan_in 500, fan_out 1000; 20,000 draws.
    values = np.asarray(cls(seed=9)(shape))
    std = _target_std(scale, mode, shape)
    assert abs(values.mean()) < 0.03 * std * 4
    assert abs(values.std() - std) < 0.02 * std
    if distribution == "uniform":
        assert np.abs(values).max() <= math.sqrt(3.0) * std
    else:
        # Truncated at two standard deviations of the *untruncated* normal.
        assert np.abs(values).max() <= 2.0 * std / 0.87962566103423978 + 1e-6


@pytest.mark.parametrize(
    "mode, distribution",
    [
        ("fan_out", "untruncated_normal"),
        ("fan_avg", "uniform"),
        ("fan_in", "truncated_normal"),
    ],
)
def test_variance_scaling_modes(mode, distribution):
    shape = (100, 400)
    values = np.asarray(VarianceScaling(3.0, mode, distribution, seed=2)(shape))
    std = _target_std(3.0, mode, shape)
    assert abs(values.std() - std) < 0.02 * std


def test_fan_below_one_is_clamped():
    # A (0, 0)-shaped weight has fans 0; the divisor is clamped to 1.
    assert VarianceScaling(seed=1)((0, 0)).shape == (0, 0)
    values = np.asarray(VarianceScaling(distribution="uniform", seed=1)(()))
    assert abs(values) <= math.sqrt(3.0)


def test_normal_means_truncated_normal():
    assert VarianceScaling(distribution="Normal").distribution == "truncated_normal"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"scale": 0.0}, "`scale` must be a positive"),
        ({"scale": -1}, "`scale` must be a positive"),
        ({"mode": "fan"}, "`mode` must be one of"),
        ({"distribution": "cauchy"}, "`distribution` must be one of"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        VarianceScaling(**kwargs)


@pytest.mark.parametrize("cls", [p[0] for p in PRESETS] + [VarianceScaling])
@pytest.mark.parametrize("shape", [(4, 6), (3, 3, 2, 4)])
def test_matches_keras_values_and_config(cls, shape):
    ours, theirs = cls(seed=17), getattr(keras.initializers, cls.__name__)(seed=17)
    np.testing.assert_array_equal(np.asarray(ours(shape)), np.asarray(theirs(shape)))
    assert ours.get_config() == theirs.get_config()
    assert (
        cls().get_config() == getattr(keras.initializers, cls.__name__)().get_config()
    )


def test_explicit_axes_match_keras():
    kwargs = dict(scale=2.0, mode="fan_out", seed=1, input_axes=[0], output_axes=[1, 2])
    ours = VarianceScaling(**kwargs)
    theirs = keras.initializers.VarianceScaling(**kwargs)
    np.testing.assert_array_equal(
        np.asarray(ours((3, 4, 5))), np.asarray(theirs((3, 4, 5)))
    )
    assert ours.get_config() == theirs.get_config()
    assert VarianceScaling.from_config(ours.get_config()).output_axes == [1, 2]


def test_preset_config_round_trip():
    init = HeNormal(seed=3, input_axes=[0], output_axes=[1])
    assert init.get_config() == {"seed": 3, "input_axes": [0], "output_axes": [1]}
    clone = init.clone()
    assert isinstance(clone, HeNormal)
    np.testing.assert_array_equal(np.asarray(clone((2, 3))), np.asarray(init((2, 3))))
