"""`ProgbarLogger` output, compared with Keras's ProgbarLogger given the same events.

Times differ between runs, and so does the width of every line that shows one:
a redraw erases the previous line with one backspace per character and pads
itself with spaces to that width. `_normalize` checks that padding rule on the
raw text, then replaces the times and the width-dependent runs in both outputs.
"""

from __future__ import annotations

import re

import keras
import numpy as np
import pytest

from kiln._src.callbacks.progbar_logger import ProgbarLogger

_ANSI = re.compile(r"\x1b\[\d+m")


# One redraw of a verbose=1 bar: backspaces over the previous line, a carriage
# return, the line, its padding, and a line break on the final update. A line
# never ends with a space of its own (it ends with a value, "step" or "Unknown").
_REDRAW = re.compile(r"(\x08*)\r([^\x08\r\n]*?)( *)(?=\x08|\r|\n|$)")


def _check_redraws(text: str) -> None:
    """Asserts Keras's redraw rule on raw output, whatever the times were.

    A redraw erases exactly the previous line of its bar (or nothing, for a new
    bar) and pads itself with spaces up to the previous line's width.
    """
    previous = 0
    for erased, line, padding in _REDRAW.findall(text):
        width = len(_ANSI.sub("", line))
        expected = max(0, len(erased) - width)
        assert len(erased) in (0, previous), (
            f"erased {len(erased)} characters, previous line had {previous}: {line!r}"
        )
        assert len(padding) == expected, (
            f"padded with {len(padding)} spaces, expected {expected}: {line!r}"
        )
        previous = width


def _normalize(text: str) -> str:
    _check_redraws(text)
    text = _REDRAW.sub(lambda m: ("<BS>" if m[1] else "") + "\r" + m[2], text)
    text = re.sub(r"\d+(ms|us|s)/step", "T/step", text)
    text = re.sub(r"\x1b\[1m[\d:]+s?\x1b\[0m", "\x1b[1mCLOCK\x1b[0m", text)
    return re.sub(r" - \d+s - ", " - CLOCK - ", text)


def _no_throttle(logger):
    # Draw every update (the default 50 ms throttle makes output timing-dependent).
    if logger.progbar is not None:
        logger.progbar.interval = 0


def _fit(logger, verbose, epochs=3, steps=4, validation=True):
    logger.set_params({"verbose": verbose, "epochs": epochs, "steps": steps})
    logger.on_train_begin()
    for epoch in range(epochs):
        logger.on_epoch_begin(epoch)
        _no_throttle(logger)
        for batch in range(steps or 5):
            logger.on_train_batch_end(batch, {"loss": 1.0 / (batch + 1), "mae": 0.01})
        logs = {"loss": 0.4232, "mae": 0.1234}
        if validation:
            logger.on_test_begin()
            logger.on_test_batch_end(0, {"loss": 9.0})
            logger.on_test_end({"loss": 9.0})
            logs["val_loss"] = 0.5
        logger.on_epoch_end(epoch, logs)
    logger.on_train_end()


def _evaluate(logger, verbose, steps=3):
    logger.set_params({"verbose": verbose, "epochs": 1, "steps": steps})
    logger.on_test_begin()
    _no_throttle(logger)
    for batch in range(steps):
        logger.on_test_batch_end(batch, {"accuracy": 0.5, "loss": 2.0 - batch})
    logger.on_test_end({"accuracy": 0.5, "loss": 1.0})


def _predict(logger, verbose, steps=2):
    logger.set_params({"verbose": verbose, "epochs": 1, "steps": steps})
    logger.on_predict_begin()
    _no_throttle(logger)
    for batch in range(steps):
        logger.on_predict_batch_end(batch, {"outputs": np.ones((2, 1))})
    logger.on_predict_end()


SCENARIOS = {
    "fit_verbose_1": lambda lg: _fit(lg, 1),
    "fit_verbose_auto": lambda lg: _fit(lg, "auto"),
    "fit_verbose_2": lambda lg: _fit(lg, 2),
    "fit_one_epoch": lambda lg: _fit(lg, 1, epochs=1),
    "fit_unknown_steps": lambda lg: _fit(lg, 1, epochs=2, steps=None, validation=False),
    "evaluate_verbose_1": lambda lg: _evaluate(lg, 1),
    "evaluate_verbose_2": lambda lg: _evaluate(lg, 2),
    "predict_verbose_1": lambda lg: _predict(lg, 1),
    "predict_verbose_2": lambda lg: _predict(lg, 2),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_matches_keras(name, capsys):
    SCENARIOS[name](ProgbarLogger())
    ours = capsys.readouterr().out
    SCENARIOS[name](keras.callbacks.ProgbarLogger())
    theirs = capsys.readouterr().out
    assert ours  # Every scenario prints something.
    assert _normalize(ours) == _normalize(theirs)


def test_fit_verbose_2_lines(capsys):
    _fit(ProgbarLogger(), 2, epochs=2)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/2"
    assert re.fullmatch(
        r"4/4 - \d+s - \d+(ms|us|s)/step - loss: 0\.4232 - mae: 0\.1234 - val_loss: "
        r"0\.5000",
        lines[1],
    )
    assert lines[2] == "Epoch 2/2" and len(lines) == 4


def test_fit_verbose_1_final_line(capsys):
    _fit(ProgbarLogger(), 1, epochs=1, validation=False)
    final = _ANSI.sub("", capsys.readouterr().out.split("\r")[-1])
    # One epoch: no "Epoch 1/1" header; the logs are shown as given.
    assert re.fullmatch(
        r"4/4 ━{20} \d+s \d+(ms|us|s)/step - loss: 0\.4232 - mae: 0\.1234\n", final
    )


def test_predict_shows_no_metrics(capsys):
    _predict(ProgbarLogger(), 1)
    out = _ANSI.sub("", capsys.readouterr().out)
    assert "2/2 ━" in out and "outputs" not in out and " - " not in out


def test_validation_inside_fit_is_silent(capsys):
    logger = ProgbarLogger()
    logger.set_params({"verbose": 1, "epochs": 1, "steps": 1})
    logger.on_train_begin()
    logger.on_test_begin()
    logger.on_test_batch_end(0, {"loss": 1.0})
    logger.on_test_end({"loss": 1.0})
    assert capsys.readouterr().out == ""


def test_unknown_steps_learns_the_target(capsys):
    logger = ProgbarLogger()
    _fit(logger, 1, epochs=2, steps=None, validation=False)
    out = _ANSI.sub("", capsys.readouterr().out)
    assert "      1/Unknown" in out
    assert logger.target == 5 and "5/5 ━" in out
