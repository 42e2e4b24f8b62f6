import math

import jax
import keras
import numpy as np
import pytest

from kiln._src.optimizers.schedules import learning_rate_schedule as lrs

STEPS = [0, 1, 3, 7, 10, 15, 40]

# name -> (constructor arguments, hand-computed formula of the step)
CASES = {
    "exponential": (
        (
            "ExponentialDecay",
            dict(initial_learning_rate=0.1, decay_steps=10, decay_rate=0.5),
        ),
        lambda s: 0.1 * 0.5 ** (s / 10),
    ),
    "exponential_staircase": (
        (
            "ExponentialDecay",
            dict(
                initial_learning_rate=0.1,
                decay_steps=10,
                decay_rate=0.5,
                staircase=True,
            ),
        ),
        lambda s: 0.1 * 0.5 ** (s // 10),
    ),
    "piecewise": (
        ("PiecewiseConstantDecay", dict(boundaries=[3, 10], values=[1.0, 0.5, 0.1])),
        lambda s: 1.0 if s <= 3 else (0.5 if s <= 10 else 0.1),
    ),
    "polynomial": (
        (
            "PolynomialDecay",
            dict(
                initial_learning_rate=0.1,
                decay_steps=10,
                end_learning_rate=0.01,
                power=2.0,
            ),
        ),
        lambda s: (0.1 - 0.01) * (1 - min(s, 10) / 10) ** 2 + 0.01,
    ),
    "polynomial_cycle": (
        (
            "PolynomialDecay",
            dict(
                initial_learning_rate=0.1,
                decay_steps=10,
                end_learning_rate=0.01,
                cycle=True,
            ),
        ),
        lambda s: (0.1 - 0.01) * (1 - s / (10 * max(1, math.ceil(s / 10)))) + 0.01,
    ),
    "inverse_time": (
        (
            "InverseTimeDecay",
            dict(initial_learning_rate=0.1, decay_steps=5, decay_rate=0.5),
        ),
        lambda s: 0.1 / (1 + 0.5 * s / 5),
    ),
    "inverse_time_staircase": (
        (
            "InverseTimeDecay",
            dict(
                initial_learning_rate=0.1, decay_steps=5, decay_rate=0.5, staircase=True
            ),
        ),
        lambda s: 0.1 / (1 + 0.5 * (s // 5)),
    ),
    "cosine": (
        ("CosineDecay", dict(initial_learning_rate=0.1, decay_steps=10, alpha=0.1)),
        lambda s: 0.1 * (0.9 * 0.5 * (1 + math.cos(math.pi * min(s, 10) / 10)) + 0.1),
    ),
    "cosine_warmup": (
        (
            "CosineDecay",
            dict(
                initial_learning_rate=0.0,
                decay_steps=10,
                warmup_target=0.2,
                warmup_steps=4,
            ),
        ),
        lambda s: (
            0.2 * s / 4
            if s < 4
            else 0.2 * 0.5 * (1 + math.cos(math.pi * (min(s, 14) - 4) / 10))
        ),
    ),
    "cosine_restarts": (
        ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=4)),
        None,
    ),
    "cosine_restarts_constant_period": (
        (
            "CosineDecayRestarts",
            dict(initial_learning_rate=0.1, first_decay_steps=4, t_mul=1.0, m_mul=0.5),
        ),
        lambda s: 0.1 * 0.5 ** (s // 4) * 0.5 * (1 + math.cos(math.pi * (s % 4) / 4)),
    ),
}


def _pair(case):
    (class_name, kwargs), formula = CASES[case]
    ours = getattr(lrs, class_name)(**kwargs)
    theirs = getattr(keras.optimizers.schedules, class_name)(**kwargs)
    return ours, theirs, formula


@pytest.mark.parametrize("case", CASES)
def test_values_match_keras(case):
    ours, theirs, _ = _pair(case)
    for step in STEPS:
        np.testing.assert_allclose(
            np.asarray(ours(np.int32(step))),
            np.asarray(theirs(np.int32(step))),
            rtol=0,
            atol=1e-6,
            err_msg=f"step {step}",
        )


@pytest.mark.parametrize("case", [c for c in CASES if CASES[c][1] is not None])
def test_values_match_hand_computed_formula(case):
    ours, _, formula = _pair(case)
    for step in STEPS:
        np.testing.assert_allclose(
            float(ours(step)),
            formula(step),
            rtol=1e-5,
            atol=1e-7,
            err_msg=f"step {step}",
        )


@pytest.mark.parametrize("case", CASES)
def test_values_under_jit(case):
    ours, _, _ = _pair(case)
    jitted = jax.jit(ours.__call__)
    for step in STEPS:
        np.testing.assert_allclose(
            jitted(np.int32(step)), ours(np.int32(step)), atol=1e-7
        )


@pytest.mark.parametrize("case", CASES)
def test_config_and_envelope_match_keras(case):
    ours, theirs, _ = _pair(case)
    assert list(ours.get_config().items()) == list(theirs.get_config().items())
    assert lrs.serialize(ours) == keras.optimizers.schedules.serialize(theirs)
    restored = lrs.deserialize(keras.optimizers.schedules.serialize(theirs))
    assert type(restored) is type(ours)
    assert restored.get_config() == ours.get_config()


def test_float32_result_dtype():
    assert lrs.ExponentialDecay(0.1, 10, 0.5)(3).dtype == np.float32


@pytest.mark.parametrize(
    "class_name,kwargs,match",
    [
        (
            "ExponentialDecay",
            dict(initial_learning_rate=0.1, decay_steps=0, decay_rate=0.5),
            "decay_steps=0",
        ),
        (
            "PolynomialDecay",
            dict(initial_learning_rate=0.1, decay_steps=-1),
            "decay_steps=-1",
        ),
        (
            "InverseTimeDecay",
            dict(initial_learning_rate=0.1, decay_steps=0, decay_rate=1.0),
            "decay_steps=0",
        ),
        (
            "CosineDecay",
            dict(initial_learning_rate=0.1, decay_steps=0),
            "decay_steps=0",
        ),
        (
            "CosineDecayRestarts",
            dict(initial_learning_rate=0.1, first_decay_steps=0),
            "first_decay_steps=0",
        ),
        (
            "PiecewiseConstantDecay",
            dict(boundaries=[1, 2], values=[1.0, 2.0]),
            "one more element",
        ),
    ],
)
def test_rejects_bad_arguments(class_name, kwargs, match):
    with pytest.raises(ValueError, match=match):
        getattr(lrs, class_name)(**kwargs)


def test_base_class_requires_call_and_get_config():
    schedule = lrs.LearningRateSchedule()
    with pytest.raises(NotImplementedError, match="__call__"):
        schedule(0)
    with pytest.raises(NotImplementedError, match="get_config"):
        schedule.get_config()
