import keras
import numpy as np
import pytest

from kiln._src.backend import random as kiln_random
from kiln._src.initializers.random_initializers import (
    Orthogonal,
    RandomNormal,
    RandomUniform,
    TruncatedNormal,
)

SHAPE = (200, 300)  # 60,000 draws: sample moments within ~1% of the formula.


def test_random_normal_moments():
    values = np.asarray(RandomNormal(mean=1.0, stddev=2.0, seed=3)(SHAPE))
    assert values.dtype == np.float32
    assert abs(values.mean() - 1.0) < 0.03
    assert abs(values.std() - 2.0) < 0.03


def test_random_uniform_bounds_and_moments():
    values = np.asarray(RandomUniform(minval=-1.0, maxval=3.0, seed=3)(SHAPE))
    assert values.min() >= -1.0 and values.max() < 3.0
    assert abs(values.mean() - 1.0) < 0.03
    # Variance of U(a, b) is (b - a)^2 / 12.
    assert abs(values.std() - 4.0 / np.sqrt(12.0)) < 0.02


def test_truncated_normal_bounds_and_moments():
    values = np.asarray(TruncatedNormal(mean=0.5, stddev=2.0, seed=3)(SHAPE))
    # Cut at two standard deviations around the mean.
    assert values.min() >= 0.5 - 4.0 and values.max() <= 0.5 + 4.0
    assert abs(values.mean() - 0.5) < 0.03
    # A standard normal truncated to [-2, 2] has std 0.8796256610342398.
    assert abs(values.std() - 2.0 * 0.8796256610342398) < 0.03


@pytest.mark.parametrize("shape", [(3, 7), (3, 3, 2, 5)])
def test_orthogonal_is_orthogonal(shape):
    values = np.asarray(Orthogonal(gain=2.0, seed=5)(shape), dtype=np.float64)
    assert values.shape == shape
    flat = values.reshape(-1, shape[-1])
    rows, cols = flat.shape
    gram = flat @ flat.T if rows < cols else flat.T @ flat
    np.testing.assert_allclose(gram, 4.0 * np.eye(min(rows, cols)), atol=1e-5)


def test_orthogonal_needs_rank_2():
    with pytest.raises(ValueError, match="rank 2 or more"):
        Orthogonal()((5,))


@pytest.mark.parametrize(
    "cls", [RandomNormal, RandomUniform, TruncatedNormal, Orthogonal]
)
def test_int_seed_repeats_values_and_matches_keras(cls):
    ours = cls(seed=42)
    first = np.asarray(ours((5, 6)))
    np.testing.assert_array_equal(first, np.asarray(ours((5, 6))))
    theirs = getattr(keras.initializers, cls.__name__)(seed=42)
    np.testing.assert_array_equal(first, np.asarray(theirs((5, 6))))
    assert not np.array_equal(first, np.asarray(cls(seed=43)((5, 6))))


def test_unseeded_initializer_is_fixed_per_instance():
    # As in Keras: seed=None picks a seed once, at construction.
    init = RandomNormal()
    np.testing.assert_array_equal(np.asarray(init((3,))), np.asarray(init((3,))))
    assert not np.array_equal(np.asarray(init((3,))), np.asarray(RandomNormal()((3,))))
    assert init.get_config()["seed"] is None


def test_unseeded_initializer_follows_python_random_seed():
    import random

    random.seed(7)
    first = np.asarray(RandomUniform()((4,)))
    random.seed(7)
    np.testing.assert_array_equal(first, np.asarray(RandomUniform()((4,))))


def test_seed_generator_gives_new_values_each_call():
    init = RandomNormal(seed=kiln_random.SeedGenerator(1))
    assert not np.array_equal(np.asarray(init((4,))), np.asarray(init((4,))))
    config = init.get_config()
    assert config["seed"]["class_name"] == "SeedGenerator"
    assert config["seed"]["module"] == "keras.random"
    clone = RandomNormal.from_config(config)
    assert isinstance(clone.seed, kiln_random.SeedGenerator)


@pytest.mark.parametrize("seed", ["1", 1.5, True])
def test_bad_seed(seed):
    with pytest.raises(ValueError, match="`seed` must be"):
        RandomNormal(seed=seed)


def test_integer_dtype_is_rejected():
    with pytest.raises(ValueError, match="float dtype"):
        RandomNormal(seed=1)((2,), dtype="int32")


def test_float16_dtype():
    assert RandomUniform(seed=1)((2, 2), dtype="float16").dtype == np.float16


@pytest.mark.parametrize(
    "ours, theirs",
    [
        pytest.param(RandomNormal(), keras.initializers.RandomNormal(), id="normal"),
        pytest.param(
            RandomUniform(-1.0, 2.0, seed=3),
            keras.initializers.RandomUniform(-1.0, 2.0, seed=3),
            id="uniform",
        ),
        pytest.param(
            TruncatedNormal(0.1, 0.2, seed=4),
            keras.initializers.TruncatedNormal(0.1, 0.2, seed=4),
            id="truncated",
        ),
        pytest.param(
            Orthogonal(gain=0.5, seed=1),
            keras.initializers.Orthogonal(gain=0.5, seed=1),
            id="orthogonal",
        ),
    ],
)
def test_config_matches_keras(ours, theirs):
    assert ours.get_config() == theirs.get_config()
    clone = ours.clone()
    assert type(clone) is type(ours) and clone.get_config() == ours.get_config()
