"""Runs calls that could block forever (opening a FIFO) or exhaust memory in
one child process under a wall-clock timeout and, optionally, an address-space
limit, so that a regression fails its test instead of hanging or killing the
suite.

`run_calls({"label": "code", ...})` runs each snippet in order in a fresh
``python`` (with this repository on ``sys.path``) and returns, per label, an
`Outcome`: ``"returned"`` (with whatever the snippet put in ``result``),
``"raised"`` (the exception's class and message), or ``"timeout"`` /
``"crashed"`` for every call that had not finished when the child stopped.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INVALID_FILE_ERROR = "kiln._src.saving.errors.InvalidFileError"

_CHILD = textwrap.dedent(
    """
    import json, resource, sys
    limit = int(sys.argv[1])
    if limit:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    calls = json.loads(sys.stdin.read())
    for label, code in calls:
        scope = {}
        try:
            exec(code, scope)
            line = {"status": "returned", "result": repr(scope.get("result"))}
        except BaseException as error:
            line = {
                "status": "raised",
                "exception": type(error).__name__,
                "mro": [f"{c.__module__}.{c.__qualname__}"
                        for c in type(error).__mro__],
                "message": str(error)[:2000],
            }
        print(json.dumps({"label": label, **line}), flush=True)
    """
)


@dataclasses.dataclass
class Outcome:
    status: str  # "returned", "raised", "timeout" or "crashed"
    result: str = ""
    exception: str = ""
    mro: list[str] = dataclasses.field(default_factory=list)
    message: str = ""

    @property
    def invalid_file_error(self) -> bool:
        return self.status == "raised" and INVALID_FILE_ERROR in self.mro

    def __str__(self) -> str:
        return f"{self.status} {self.exception}: {self.message or self.result}"


def run_calls(
    calls: dict[str, str], timeout_s: float = 120.0, memory_limit: int = 0
) -> dict[str, Outcome]:
    """Runs the snippets in one child; see the module doc."""
    env = dict(os.environ, PYTHONPATH=REPO_ROOT, JAX_PLATFORMS="cpu")
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(memory_limit)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    status = "crashed"
    try:
        stdout, _ = child.communicate(
            json.dumps(list(calls.items())), timeout=timeout_s
        )
    except subprocess.TimeoutExpired:
        child.kill()
        stdout, _ = child.communicate()
        status = "timeout"
    outcomes: dict[str, Outcome] = {}
    for line in stdout.splitlines():
        if line.startswith("{"):
            data = json.loads(line)
            label = data.pop("label")
            outcomes[label] = Outcome(**data)
    for label in calls:
        outcomes.setdefault(label, Outcome(status))
    return outcomes
