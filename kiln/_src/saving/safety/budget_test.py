"""The variable budget, on real (lazily built) models: shapes are summed,
nothing is allocated."""

import pytest

import kiln
from kiln._src.saving.errors import InvalidFileError
from kiln._src.saving.safety import budget
from kiln._src.saving.safety.limits import LoadLimits


def _dense(units: int, width: int, dtype: str = "float32") -> kiln.Model:
    return kiln.Sequential(
        [kiln.Input((width,)), kiln.layers.Dense(units, name="dense", dtype=dtype)]
    )


def test_total_is_shape_times_itemsize():
    model = _dense(4, 3)
    assert budget.check_variable_budget(model, 0, "test") == (3 * 4 + 4) * 4
    assert budget.check_variable_budget(_dense(4, 3, "bfloat16"), 0, "test") == 32


def test_over_what_the_weights_file_could_hold():
    model = _dense(1000, 1000)  # 4 004 000 bytes: more than 1 MiB of slack
    assert budget.check_variable_budget(model, 4_000_000, "test") == 4_004_000
    with pytest.raises(InvalidFileError) as error:
        budget.check_variable_budget(model, 1000, "test")
    message = str(error.value)
    assert "4004000 bytes in total" in message
    assert "'dense/kernel' (1000, 1000) = 4000000 bytes" in message
    assert "it is 1000 bytes" in message


def test_over_the_hard_cap_even_with_a_big_file():
    # 60000 x 60000 float32 = 14.4 GB; nothing is allocated to find that out.
    model = _dense(60_000, 60_000)
    with pytest.raises(InvalidFileError, match="over the limit of 8589934592 bytes"):
        budget.check_variable_budget(model, 1 << 40, "test")
    with pytest.raises(InvalidFileError, match="over the limit of 1000 bytes"):
        budget.check_variable_budget(
            _dense(100, 100), 1 << 30, "test", LoadLimits(max_variable_bytes=1000)
        )


class _FakeVariable:
    def __init__(self, shape, dtype="float32"):
        self.shape = shape
        self.dtype = dtype
        self.path = "v"


@pytest.mark.parametrize(
    "shape, rule",
    [
        ((1,) * 17, "rank 17, over the limit of 16"),
        ((2**31,), "every dimension must be an integer from 0"),
        ((-1,), "every dimension"),
        ((True,), "every dimension"),
        ((None,), "every dimension"),
    ],
)
def test_shape_rules(shape, rule):
    with pytest.raises(InvalidFileError, match=rule):
        budget._variable_bytes(_FakeVariable(shape), "test")


def test_zero_variable_models_fit_the_slack():
    model = kiln.Sequential([kiln.Input((3,)), kiln.layers.ReLU()])
    assert budget.check_variable_budget(model, 0, "test") == 0
