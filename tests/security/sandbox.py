"""Loads untrusted files in fresh, memory-capped child processes.

Each `Sandbox` owns a root directory laid out as::

    root/home/      the child's cwd and $HOME (starts empty)
    root/tmp/       the child's $TMPDIR
    root/gadgets/   on the child's sys.path: a module that writes the canary
                    when imported (catches any import of a name from a file)
    root/PWNED      the canary: hostile payloads try to create it

`Sandbox.load_all(jobs)` starts one child, which sets `RLIMIT_AS` before it
imports kiln, then loads the jobs one after the other. For every job it
reports the outcome and what the load changed: modules imported, global
config, files created anywhere under the root, and the canary. When a job
crashes or hangs the child, that job is reported as such and a fresh child
carries on with the rest, so one bad file never hides the others.

Memory limit: on a 2-core Linux x86-64 box with jax 0.4/0.5-era wheels, JAX
and kiln import and load a small model under a 1.5 GiB address-space limit
and abort under 1.375 GiB (XLA reserves address space for its thread pool,
which grows with the core count). `MEMORY_LIMIT_BYTES` is 3 GiB: twice that,
still far below what any bomb in the attack tests asks for.
"""

from __future__ import annotations

import dataclasses
import json
import os
import queue
import subprocess
import sys
import textwrap
import threading
from typing import Any

MEMORY_LIMIT_BYTES = 3 * 2**30
LOWEST_WORKING_LIMIT_BYTES = 3 * 2**29  # 1.5 GiB, measured (see module doc)
TIMEOUT_S = 90.0  # per job; the first job also pays for importing JAX
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GADGET_MODULE = "kiln_sandbox_gadget"
INVALID_FILE_ERROR = "kiln._src.saving.errors.InvalidFileError"

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

# The child: line-oriented protocol on stdout ("START i" / "RESULT {json}").
_CHILD = textwrap.dedent(
    """
    import resource, sys
    limit = int(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    import json, os, traceback
    spec = json.loads(sys.stdin.read())
    sys.path.insert(0, spec["gadgets"])
    out = sys.stdout
    sys.stdout = sys.stderr  # keep the protocol stream clean

    import kiln
    from kiln._src.saving import object_registration, serialization_lib

    def config_state():
        registry = object_registration.get_custom_objects()
        return {
            "floatx": kiln.config.floatx(),
            "epsilon": kiln.config.epsilon(),
            "image_data_format": kiln.config.image_data_format(),
            "backend": kiln.config.backend(),
            "safe_mode_scope": repr(serialization_lib.in_safe_mode()),
            "custom_objects": sorted(f"{k}={v!r}" for k, v in registry.items()),
        }

    def files_under(root):
        found = []
        for base, dirs, names in os.walk(root):
            for name in dirs + names:
                full = os.path.join(base, name)
                found.append(os.path.relpath(full, root))
        return found

    for index, job in enumerate(spec["jobs"]):
        if index < spec["start"]:
            continue
        out.write(f"START {index}\\n")
        out.flush()
        files_before = set(files_under(spec["root"]))
        modules_before = set(sys.modules)
        config_before = config_state()
        result = {"index": index, "path": job["path"]}
        try:
            if job["kind"] == "model":
                kiln.saving.load_model(job["path"])
            else:
                model = kiln.saving.load_model(job["model"])
                model.load_weights(job["path"])
            result.update(status="loaded", exception=None, mro=[], message="")
        except BaseException as error:  # noqa: BLE001 - report everything
            result.update(
                status="raised",
                exception=type(error).__name__,
                mro=[f"{c.__module__}.{c.__qualname__}" for c in type(error).__mro__],
                message=str(error)[:4000],
                traceback=traceback.format_exc()[-4000:],
            )
        result["new_modules"] = sorted(set(sys.modules) - modules_before)
        result["config_before"] = config_before
        result["config_after"] = config_state()
        result["created_files"] = sorted(
            set(files_under(spec["root"])) - files_before
        )
        result["canary"] = os.path.exists(spec["canary"])
        if result["canary"]:
            os.remove(spec["canary"])  # judge each job on its own
        out.write("RESULT " + json.dumps(result) + "\\n")
        out.flush()
    """
)


@dataclasses.dataclass
class LoadResult:
    """What loading one file did, seen from inside the child."""

    path: str
    status: str  # "loaded", "raised", "crashed" (child died) or "timeout"
    exception: str | None = None
    mro: list[str] = dataclasses.field(default_factory=list)
    message: str = ""
    traceback: str = ""
    new_modules: list[str] = dataclasses.field(default_factory=list)
    config_before: dict[str, Any] = dataclasses.field(default_factory=dict)
    config_after: dict[str, Any] = dataclasses.field(default_factory=dict)
    created_files: list[str] = dataclasses.field(default_factory=list)
    canary: bool = False
    returncode: int | None = None
    stderr: str = ""

    @property
    def loaded(self) -> bool:
        return self.status == "loaded"

    @property
    def invalid_file_error(self) -> bool:
        """The load raised `InvalidFileError` or a subclass of it."""
        return self.status == "raised" and INVALID_FILE_ERROR in self.mro

    def describe(self) -> str:
        text = f"{self.path}: {self.status}"
        if self.exception:
            text += f" {self.exception}: {self.message[:600]}"
        if self.status in ("crashed", "timeout"):
            text += f" (rc={self.returncode}) stderr tail:\n{self.stderr[-1500:]}"
        elif self.status == "raised" and not self.invalid_file_error:
            text += f"\n{self.traceback[-1500:]}"
        return text


@dataclasses.dataclass
class Job:
    """Load `path` as a model (`kind="model"`), or as weights into the model
    loaded from the honest `.keras` file `model` (`kind="weights"`)."""

    path: str
    kind: str = "model"
    model: str | None = None


class Sandbox:
    """A root directory (see the module doc) and a way to load files in it."""

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
        """Loads each job in order; one result per job, in the same order."""
        results: list[LoadResult] = []
        while len(results) < len(jobs):
            results.extend(self._run_child(jobs, len(results), timeout_s, memory_limit))
        return results

    def _run_child(
        self, jobs: list[Job], start: int, timeout_s: float, memory_limit: int
    ) -> list[LoadResult]:
        spec = {
            "jobs": [dataclasses.asdict(job) for job in jobs],
            "start": start,
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
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(memory_limit)],
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
        child.stdin.write(json.dumps(spec))
        child.stdin.close()

        results: list[LoadResult] = []
        current: int | None = None
        try:
            while True:
                try:
                    line = lines.get(timeout=timeout_s)
                except queue.Empty:
                    child.kill()
                    child.wait()
                    index = start if current is None else current
                    return results + [self._failed(jobs[index], "timeout", child)]
                if line is None:
                    break
                if line.startswith("START "):
                    current = int(line.split()[1])
                elif line.startswith("RESULT "):
                    data = json.loads(line[len("RESULT ") :])
                    data.pop("index")
                    results.append(LoadResult(**data))
                    current = None
            child.wait()
            for thread in threads:
                thread.join(timeout=5)
            if current is not None or not results:
                index = start if current is None else current
                return results + [
                    self._failed(jobs[index], "crashed", child, "".join(stderr_parts))
                ]
            return results
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()

    @staticmethod
    def _failed(
        job: Job, status: str, child: subprocess.Popen, stderr: str = ""
    ) -> LoadResult:
        return LoadResult(
            path=job.path, status=status, returncode=child.returncode, stderr=stderr
        )
