"""Runs kiln's entry points on untrusted files in fresh, memory-capped child
processes, and records everything each run did, from inside and outside.

Each `Sandbox` owns a root directory laid out as::

    root/home/      the child's cwd and $HOME (starts empty)
    root/tmp/       the child's $TMPDIR
    root/gadgets/   on the child's sys.path: a module that writes the canary
                    when imported (catches any import of a name from a file)
    root/PWNED      the canary: hostile payloads try to create it

Tests put their files (hostile, benign, and the "secrets" that payloads try
to read) under the root too, so that every file event of a job is seen.

`Sandbox.load_all(jobs)` (or `run_with_twins`, for attack files and their
benign twins) starts one child (`sandbox_child.py`), which sets
`RLIMIT_AS` before it imports kiln, then runs the jobs one after the other,
each under a wall-clock limit. A `Job` names an entry point (its `kind`):

    model            kiln.saving.load_model(path)
    weights          load_model(job.model).load_weights(path)
    model_from_json  kiln.models.model_from_json(<text of path>)
    open_weights     kiln.saving.open_weights(path), reading every variable
    weights_subset   kiln.saving.load_weights_subset(load_model(job.model), path)
    inspect          the `kiln inspect path` command, in the child
    verify           the `kiln verify path` command
    verify_build     the `kiln verify --build path` command
    script           runs the Python file `path` (only for the sandbox's own
                     tests, which show that every kind of breach is seen)

For every job the `LoadResult` reports the outcome and what the run did:

- inside the child: modules imported, global config before and after, files
  created, deleted or modified anywhere under the root, the canary, and
  through an audit hook every Python-level `open` outside the Python
  installation and the job's own files, and every event a load never needs
  (processes, sockets, file-system changes, pickle, dlopen);
- outside the child: an inotify watch on every directory of the root, which
  sees what libhdf5 and other C code do too: every file opened, created,
  modified, moved or deleted under the root that is not one of the job's own
  files.

When a job crashes or hangs the child, that job is reported as such and a
fresh child carries on with the rest, so one bad file never hides the others.

Memory limit: on a 2-core Linux x86-64 box with jax 0.4/0.5-era wheels, JAX
and kiln import and load a small model under a 1.5 GiB address-space limit
and abort under 1.375 GiB (XLA reserves address space for its thread pool,
which grows with the core count). `MEMORY_LIMIT_BYTES` is 3 GiB: twice that,
still far below what any bomb in the attack tests asks for.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
import queue
import subprocess
import sys
import textwrap
import threading
import time
from typing import Any

from inotify_watch import InotifyWatch

MEMORY_LIMIT_BYTES = 3 * 2**30
LOWEST_WORKING_LIMIT_BYTES = 3 * 2**29  # 1.5 GiB, measured (see module doc)
TIMEOUT_S = 90.0  # per job (importing JAX in a new child has its own limit)
START_TIMEOUT_S = 180.0  # a new child: import JAX and kiln, warm up
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHILD_SCRIPT = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "sandbox_child.py"
)
GADGET_MODULE = "kiln_sandbox_gadget"
INVALID_FILE_ERROR = "kiln._src.saving.errors.InvalidFileError"
KINDS = (
    "model",
    "weights",
    "model_from_json",
    "open_weights",
    "weights_subset",
    "inspect",
    "verify",
    "verify_build",
    "script",
)
CLI_KINDS = ("inspect", "verify", "verify_build")

_GADGET_SOURCE = textwrap.dedent(
    """
    # Imported only if a loader imports a module named in a file.
    import os

    def _pwn(*args, **kwargs):
        with open({canary!r}, "a") as f:
            f.write("imported " + __name__ + "\\n")
        return args[0] if args else None

    _pwn()
    run = _pwn


    class Evil:
        def __init__(self, *args, **kwargs):
            _pwn()

        @classmethod
        def from_config(cls, config):
            return cls()
    """
)


@dataclasses.dataclass
class LoadResult:
    """What running one job did, seen from inside and outside the child."""

    path: str
    kind: str = "model"
    # "loaded" (an API returned), "exited" (a CLI returned `exit_code`),
    # "raised", "crashed" (the child died) or "timeout"
    status: str = ""
    exception: str | None = None
    mro: list[str] = dataclasses.field(default_factory=list)
    message: str = ""
    traceback: str = ""
    exit_code: int | None = None
    elapsed_s: float | None = None
    new_modules: list[str] = dataclasses.field(default_factory=list)
    config_before: dict[str, Any] = dataclasses.field(default_factory=dict)
    config_after: dict[str, Any] = dataclasses.field(default_factory=dict)
    created_files: list[str] = dataclasses.field(default_factory=list)
    deleted_files: list[str] = dataclasses.field(default_factory=list)
    modified_files: list[str] = dataclasses.field(default_factory=list)
    opened_outside: list[str] = dataclasses.field(default_factory=list)
    forbidden_events: list[str] = dataclasses.field(default_factory=list)
    # Seen from outside (inotify): "EVENT relative/path" for every event on a
    # file under the root that is not one of the job's own files.
    file_events_outside: list[str] = dataclasses.field(default_factory=list)
    canary: bool = False
    returncode: int | None = None
    stderr: str = ""

    @property
    def loaded(self) -> bool:
        """The entry point succeeded (a CLI command exited with 0)."""
        return self.status == "loaded" or (
            self.status == "exited" and self.exit_code == 0
        )

    @property
    def invalid_file_error(self) -> bool:
        """The load raised `InvalidFileError` or a subclass of it."""
        return self.status == "raised" and INVALID_FILE_ERROR in self.mro

    @property
    def refused_cleanly(self) -> bool:
        """An API raised `InvalidFileError`; a CLI command exited with 1 and
        printed no traceback."""
        if self.kind in CLI_KINDS:
            return (
                self.status == "exited"
                and self.exit_code == 1
                and "Traceback (most recent call last)" not in self.message
            )
        return self.invalid_file_error

    def breaches(self) -> list[str]:
        """Everything the run did that no load of a file may do (empty when
        it kept the promise, whatever its outcome)."""
        found = []
        if self.canary:
            found.append("the canary was written (a payload ran)")
        for label, items in [
            ("created", self.created_files),
            ("deleted", self.deleted_files),
            ("modified", self.modified_files),
            ("opened outside its files", self.opened_outside),
            ("forbidden events", self.forbidden_events),
            ("file events outside its files (inotify)", self.file_events_outside),
        ]:
            if items:
                found.append(f"{label}: {items[:10]}")
        if self.config_after != self.config_before:
            found.append(f"global config {self.config_before} -> {self.config_after}")
        return found

    def describe(self) -> str:
        text = f"{self.kind} {self.path}: {self.status}"
        if self.exit_code is not None:
            text += f" (exit {self.exit_code}) {self.message[-1500:]}"
        if self.exception:
            text += f" {self.exception}: {self.message[:600]}"
        if self.status in ("crashed", "timeout"):
            text += f" (rc={self.returncode}) stderr tail:\n{self.stderr[-1500:]}"
        elif self.status == "raised" and not self.invalid_file_error:
            text += f"\n{self.traceback[-1500:]}"
        breaches = self.breaches()
        if breaches:
            text += "\nbreaches: " + "; ".join(breaches)
        return text


@dataclasses.dataclass
class Job:
    """Run entry point `kind` (see the module doc) on `path`; `model` is the
    honest `.keras` file that the "weights" and "weights_subset" kinds load
    into; `reads` are further files the job may open (a sharded index's
    shards beside it are allowed without naming them)."""

    path: str
    kind: str = "model"
    model: str | None = None
    reads: list[str] = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Unknown job kind {self.kind!r}; one of {KINDS}")

    def own_files(self) -> list[str]:
        """The files this job may open: its path (a directory's whole tree),
        a sharded index's shards, its model, and `reads`."""
        files = [self.path, *self.reads]
        if self.model:
            files.append(self.model)
        if self.path.endswith(".weights.json"):
            stem = self.path[: -len(".weights.json")]
            files.extend(glob.glob(glob.escape(stem) + "_*.weights.h5"))
        return [os.path.abspath(path) for path in files]


class Sandbox:
    """A root directory (see the module doc) and a way to run jobs in it."""

    def __init__(self, root: str):
        self.root = os.path.abspath(root)
        self.home = os.path.join(self.root, "home")
        self.tmp = os.path.join(self.root, "tmp")
        self.gadgets = os.path.join(self.root, "gadgets")
        self.canary = os.path.join(self.root, "PWNED")
        for directory in (self.home, self.tmp, self.gadgets):
            os.makedirs(directory, exist_ok=True)
        with open(os.path.join(self.gadgets, GADGET_MODULE + ".py"), "w") as f:
            f.write(_GADGET_SOURCE.format(canary=self.canary))

    def load_all(
        self,
        jobs: list[Job],
        timeout_s: float = TIMEOUT_S,
        memory_limit: int = MEMORY_LIMIT_BYTES,
    ) -> list[LoadResult]:
        """Runs each job in order, each under `timeout_s` of wall-clock time;
        one result per job, in the same order."""
        results: list[LoadResult] = []
        while len(results) < len(jobs):
            results.extend(self._run_child(jobs, len(results), timeout_s, memory_limit))
        return results

    def run_with_twins(
        self,
        pairs: dict[Any, tuple[Job, Job]],
        timeout_s: float = TIMEOUT_S,
        run_last: Any = None,
    ) -> dict[Any, tuple[LoadResult, LoadResult]]:
        """key -> (hostile result, twin result) for key -> (hostile job, twin
        job). Each distinct twin runs once, all before the hostile jobs (they
        set the baseline of imported modules); hostile jobs for which
        `run_last(job)` is true (the likeliest to crash the child) run last."""
        twins = list({(t.path, t.kind): t for _, t in pairs.values()}.values())
        keys = list(pairs)
        if run_last is not None:
            keys.sort(key=lambda key: bool(run_last(pairs[key][0])))
        results = self.load_all(twins + [pairs[k][0] for k in keys], timeout_s)
        by_twin = {(r.path, r.kind): r for r in results[: len(twins)]}
        hostile = dict(zip(keys, results[len(twins) :], strict=True))
        return {
            key: (hostile[key], by_twin[(twin.path, twin.kind)])
            for key, (_, twin) in pairs.items()
        }

    def _run_child(
        self, jobs: list[Job], start: int, timeout_s: float, memory_limit: int
    ) -> list[LoadResult]:
        spec = {
            "jobs": [
                {**dataclasses.asdict(job), "allowed": job.own_files()} for job in jobs
            ],
            "root": self.root,
            "canary": self.canary,
            "gadgets": self.gadgets,
        }
        env = dict(os.environ)
        env.update(
            HOME=self.home,
            TMPDIR=self.tmp,
            PYTHONPATH=REPO_ROOT,
            JAX_PLATFORMS="cpu",
            PYTHONDONTWRITEBYTECODE="1",
        )
        watch = InotifyWatch(self.root)
        child = subprocess.Popen(
            [sys.executable, CHILD_SCRIPT, str(memory_limit)],
            cwd=self.home,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        lines: queue.Queue[str | None] = queue.Queue()
        stderr_parts: list[str] = []

        def pump_stdout() -> None:
            for line in child.stdout:
                lines.put(line)
            lines.put(None)

        def pump_stderr() -> None:
            stderr_parts.append(child.stderr.read())

        threads = [
            threading.Thread(target=pump_stdout, daemon=True),
            threading.Thread(target=pump_stderr, daemon=True),
        ]
        for thread in threads:
            thread.start()

        def next_line(limit: float) -> str | None:
            deadline = time.monotonic() + limit
            while True:
                try:
                    return lines.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    raise TimeoutError from None

        def failed(index: int, status: str) -> LoadResult:
            if child.poll() is None:
                child.kill()
            child.wait()
            for thread in threads:
                thread.join(timeout=5)
            return LoadResult(
                path=jobs[index].path,
                kind=jobs[index].kind,
                status=status,
                returncode=child.returncode,
                stderr="".join(stderr_parts),
                file_events_outside=watch.events_outside(jobs[index].own_files()),
            )

        results: list[LoadResult] = []
        try:
            child.stdin.write(json.dumps(spec) + "\n")
            child.stdin.flush()
            try:
                line = next_line(START_TIMEOUT_S)
            except TimeoutError:
                return [failed(start, "timeout")]
            if line is None or not line.startswith("READY"):
                return [failed(start, "crashed")]
            for index in range(start, len(jobs)):
                watch.events_outside([])  # drop what happened between jobs
                child.stdin.write(f"GO {index}\n")
                child.stdin.flush()
                try:
                    line = next_line(timeout_s)
                except TimeoutError:
                    return results + [failed(index, "timeout")]
                if line is None or not line.startswith("RESULT "):
                    return results + [failed(index, "crashed")]
                data = json.loads(line[len("RESULT ") :])
                data.pop("index")
                result = LoadResult(**data)
                result.file_events_outside = watch.events_outside(
                    jobs[index].own_files()
                )
                results.append(result)
            child.stdin.close()
            child.wait(timeout=30)
            return results
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
            watch.close()
