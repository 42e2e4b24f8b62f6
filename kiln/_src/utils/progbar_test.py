"""`Progbar` against real Keras's `keras.utils.Progbar`, fed the same updates.

Measured times differ between runs, so both outputs go through `_normalize`,
which replaces the times (and the redraw padding that depends on their width).
"""

from __future__ import annotations

import io
import re
import sys

import keras
import pytest

from kiln._src.utils import progbar as progbar_lib
from kiln._src.utils.progbar import Progbar

_ANSI = re.compile(r"\x1b\[\d+m")


def _normalize(text: str) -> str:
    text = re.sub(r"\d+(ms|us|s)/(step|sample)", r"T/\2", text)
    text = re.sub(r"\x1b\[1m[\d:]+s?\x1b\[0m", "\x1b[1mCLOCK\x1b[0m", text)
    text = re.sub(r" - \d+s - ", " - CLOCK - ", text)
    # Both bars pad a line with spaces to the width of the previous one, and
    # that width depends on the measured times: trailing spaces are timing.
    text = re.sub(r" +(?=[\n\r])", "", text)
    return re.sub(r" *(\x08+)", "<BS>", text)


def _run(cls, steps, **kwargs) -> str:
    out, saved = io.StringIO(), sys.stdout
    sys.stdout = out
    try:
        bar = cls(interval=0, **kwargs)
        for step in steps:
            if step[0] == "add":
                bar.add(*step[1:])
            else:
                bar.update(*step)
    finally:
        sys.stdout = saved
    return out.getvalue()


CASES = {
    "known_target": (
        {"target": 4},
        [
            (1, [("loss", 0.5), ("mae", 0.1)]),
            (2, [("loss", 0.25), ("mae", 0.0001)]),
            (4, [("loss", 0.1), ("mae", -0.2)]),
        ],
    ),
    "unknown_target": (
        {"target": None},
        [(1, [("loss", 0.5)]), (5, [("loss", 0.3)]), (7, [("loss", 0.3)], True)],
    ),
    "verbose_2": (
        {"target": 12, "verbose": 2, "stateful_metrics": ["acc"]},
        [(3, [("loss", 0.5), ("acc", 0.9)]), (12, [("loss", -0.4), ("acc", 0.8)])],
    ),
    "verbose_2_small_values": (
        {"target": 2, "verbose": 2},
        [(1, [("loss", 1e-5)]), (2, [("loss", 2e-5)])],
    ),
    "add_samples_narrow": (
        {"target": 150, "width": 10, "unit_name": "sample"},
        [("add", 50, [("x", 2.0)]), ("add", 50, [("x", 1.0)]), ("add", 50)],
    ),
    "stateless_list": (
        {"target": 3, "stateless_metrics": ["a"]},
        [
            (1, [("a", 1.0), ("b", 5.0)]),
            (3, [("a", 3.0), ("b", 1.0)], False),
            (3, [("a", 2.0), ("b", 2.0)], True),
        ],
    ),
    "shrinking_line_is_padded": (
        {"target": 1000},
        [(1, [("loss", 123456.0)]), (2, [("loss", -123456.0)]), (999, []), (1000, [])],
    ),
    "silent": ({"target": 3, "verbose": 0}, [(1, [("loss", 1.0)]), (3, [])]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_matches_keras(name):
    kwargs, steps = CASES[name]
    ours = _run(Progbar, steps, **kwargs)
    theirs = _run(keras.utils.Progbar, steps, **kwargs)
    assert _normalize(ours) == _normalize(theirs)


def test_final_line_text(capsys):
    bar = Progbar(4, interval=0)
    for step in range(1, 5):
        bar.update(step, [("loss", 0.4232), ("mae", 0.1234)])
    last = _ANSI.sub("", capsys.readouterr().out.split("\r")[-1])
    assert re.fullmatch(
        r"4/4 ━{20} 0s \d+(ms|us|s)/step - loss: 0\.4232 - mae: 0\.1234\n", last
    )
    # The redraw width counts the visible characters only.
    assert bar._prev_total_width == len(last) - 1


def test_averages_and_stateful_metrics(capsys):
    bar = Progbar(3, interval=0, stateful_metrics=["acc"])
    bar.update(1, [("loss", 1.0), ("acc", 0.5)])
    bar.update(3, [("loss", 4.0), ("acc", 0.75)], finalize=False)
    # loss averaged over steps: (1 * 1 + 4 * 2) / 3; acc shown as given.
    assert bar._values["loss"] == [9.0, 3]
    assert "loss: 3.0000 - acc: 0.7500" in capsys.readouterr().out


def test_only_one_metric_list():
    with pytest.raises(ValueError, match="Only one of"):
        Progbar(3, stateful_metrics=["a"], stateless_metrics=["b"])


def test_interval_skips_quick_redraws(capsys):
    bar = Progbar(10, interval=3600)
    bar.update(1)  # First draw: the previous one is "long ago".
    bar.update(2)
    bar.update(10)  # The final update always draws.
    out = capsys.readouterr().out
    assert out.count("\r") == 2
    assert "10/10" in out


@pytest.mark.parametrize(
    "seconds, expected",
    [
        pytest.param(0, " 0s/step", id="zero"),
        pytest.param(2.4, " 2s/step", id="seconds"),
        pytest.param(0.008, " 8ms/step", id="milliseconds"),
        pytest.param(5e-6, " 5us/step", id="microseconds"),
    ],
)
def test_format_time(seconds, expected):
    assert progbar_lib._format_time(seconds, "step") == expected
    assert keras.utils.Progbar(1)._format_time(seconds, "step") == expected


@pytest.mark.parametrize(
    "eta, expected",
    [
        pytest.param(30.7, "30s", id="seconds"),
        pytest.param(125, "2:05", id="minutes"),
        pytest.param(3725, "1:02:05", id="hours"),
    ],
)
def test_format_eta(eta, expected):
    assert progbar_lib._format_eta(eta) == expected


def test_print_msg_follows_redirected_stdout(capsys):
    progbar_lib.print_msg("hello")
    progbar_lib.print_msg("bar", line_break=False)
    assert capsys.readouterr().out == "hello\nbar"
