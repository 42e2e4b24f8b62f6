"""The child process of `sandbox.py` (run as a script, never imported).

Protocol (one line each): the parent writes the spec as JSON on the first
line of stdin; the child answers ``READY`` once kiln and JAX are imported and
warm, then for every ``GO i`` it reads, runs job ``i`` and answers
``RESULT {json}``. Between ``GO`` and ``RESULT`` nothing else runs in the
child, so the parent can attribute the file events it watches (inotify) to
that job.

Inside the child an audit hook (installed after the warm-up) records, per
job, every Python-level ``open`` outside the allowed read-only roots (the
Python installation, kiln's package, /proc, /sys, a few devices, and the
job's own files) and every event a load never needs (processes, sockets,
file-system changes, pickle, dlopen).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import sys
import time
import traceback

limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

spec = json.loads(sys.stdin.readline())
sys.path.insert(0, spec["gadgets"])
out = sys.stdout
sys.stdout = sys.stderr  # keep the protocol stream clean

import numpy as np  # noqa: E402

import kiln  # noqa: E402
import kiln.saving  # noqa: E402
from kiln._src.cli import main as cli_main  # noqa: E402
from kiln._src.saving import object_registration, serialization_lib  # noqa: E402

# Warm up what every load uses, so that a job's own events are the file's.
kiln.ops.add(np.ones(1, "float32"), 1.0)

# Events that loading a file never needs; any of them during a job is a breach.
FORBIDDEN_EVENTS = frozenset(
    {
        "os.system",
        "os.exec",
        "os.posix_spawn",
        "os.spawn",
        "os.fork",
        "os.forkpty",
        "os.kill",
        "os.killpg",
        "os.putenv",
        "os.unsetenv",
        "subprocess.Popen",
        "socket.connect",
        "socket.bind",
        "socket.sendto",
        "socket.getaddrinfo",
        "urllib.Request",
        "webbrowser.open",
        "pickle.find_class",
        "ctypes.dlopen",
        "os.remove",
        "os.rmdir",
        "os.rename",
        "shutil.rmtree",
        "shutil.copyfile",
        "shutil.move",
        "os.mkdir",
        "os.symlink",
        "os.link",
        "os.truncate",
        "os.chmod",
        "os.chown",
        "os.utime",
        "sys.addaudithook",
    }
)
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _roots() -> tuple[str, ...]:
    import site

    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix}
    roots.update(site.getsitepackages())
    roots.add(os.path.dirname(os.path.abspath(kiln.__file__)))
    return tuple(os.path.realpath(root) + os.sep for root in roots)


READ_ROOTS = _roots() + ("/proc/", "/sys/")
# This script is on every job's stack: JAX's traceback filtering reads the
# source lines of the stack (linecache) when a traced call raises.
READ_FILES = frozenset(
    {
        "/dev/null",
        "/dev/urandom",
        "/dev/random",
        "/etc/localtime",
        os.path.realpath(__file__),
    }
)


class Recorder:
    """The audit hook's per-job record (inactive between jobs)."""

    def __init__(self) -> None:
        self.active = False
        self.allowed: tuple[str, ...] = ()
        self.opened: list[str] = []
        self.events: list[str] = []

    def start(self, allowed: list[str]) -> None:
        self.allowed = tuple(os.path.realpath(path) for path in allowed)
        self.opened, self.events, self.active = [], [], True

    def stop(self) -> None:
        self.active = False

    def _allowed_read(self, path: str) -> bool:
        real = os.path.realpath(path)
        if real in READ_FILES or real.startswith(READ_ROOTS):
            return True
        return any(real == a or real.startswith(a + os.sep) for a in self.allowed)

    def __call__(self, event: str, args: tuple) -> None:
        if not self.active:
            return
        if event == "open":
            path, mode, flags = (tuple(args) + (None, None))[:3]
            if not isinstance(path, str | bytes):
                return  # an already open descriptor
            if isinstance(path, bytes):
                path = os.fsdecode(path)
            writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & _WRITE_FLAGS
            )
            if writes:
                self.events.append(f"open for writing: {path}")
            elif not self._allowed_read(path):
                self.opened.append(path)
        elif event in FORBIDDEN_EVENTS:
            self.events.append(f"{event}{tuple(str(a)[:200] for a in args)}")


recorder = Recorder()


def config_state() -> dict:
    registry = object_registration.get_custom_objects()
    return {
        "floatx": kiln.config.floatx(),
        "epsilon": kiln.config.epsilon(),
        "image_data_format": kiln.config.image_data_format(),
        "backend": kiln.config.backend(),
        "safe_mode_scope": repr(serialization_lib.in_safe_mode()),
        "custom_objects": sorted(f"{k}={v!r}" for k, v in registry.items()),
    }


def files_under(root: str) -> dict[str, list[int]]:
    """relative path -> [size, mtime_ns, inode] of everything under `root`."""
    found = {}
    for base, dirs, names in os.walk(root):
        for name in dirs + names:
            full = os.path.join(base, name)
            try:
                info = os.lstat(full)
            except OSError:
                continue
            found[os.path.relpath(full, root)] = [
                info.st_size,
                info.st_mtime_ns,
                info.st_ino,
            ]
    return found


def run_cli(argv: list[str]) -> tuple[int, str]:
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
        try:
            code = cli_main.main(argv)
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 2
    return int(code or 0), captured.getvalue()


def run_job(job: dict) -> dict:
    """Runs one entry point; returns the fields it sets on the result."""
    kind, path = job["kind"], job["path"]
    if kind == "model":
        model = kiln.saving.load_model(path)
        if not isinstance(model, kiln.Model):
            raise AssertionError(f"load_model returned {type(model)}")
    elif kind == "weights":
        model = kiln.saving.load_model(job["model"])
        model.load_weights(path)
    elif kind == "model_from_json":
        with open(path, encoding="utf-8", errors="surrogateescape") as file:
            text = file.read()
        model = kiln.models.model_from_json(text)
        if not isinstance(model, kiln.Model):
            raise AssertionError(f"model_from_json returned {type(model)}")
    elif kind == "open_weights":
        with kiln.saving.open_weights(path) as opened:
            for info in opened.variables():
                opened.read(info.path)
    elif kind == "weights_subset":
        model = kiln.saving.load_model(job["model"])
        kiln.saving.load_weights_subset(model, path)
    elif kind in ("inspect", "verify", "verify_build"):
        argv = {
            "inspect": ["inspect", path],
            "verify": ["verify", path],
            "verify_build": ["verify", "--build", path],
        }[kind]
        code, output = run_cli(argv)
        return {"status": "exited", "exit_code": code, "message": output[-4000:]}
    elif kind == "script":  # the sandbox's own tests: misbehave on purpose
        with open(path, encoding="utf-8") as file:
            exec(compile(file.read(), path, "exec"), {})  # noqa: S102
    else:
        raise ValueError(f"unknown job kind {kind!r}")
    return {"status": "loaded"}


def main() -> None:
    out.write("READY\n")
    out.flush()
    sys.addaudithook(recorder)
    for line in sys.stdin:
        index = int(line.split()[1])
        job = spec["jobs"][index]
        files_before = files_under(spec["root"])
        modules_before = set(sys.modules)
        config_before = config_state()
        result = {"index": index, "path": job["path"], "kind": job["kind"]}
        started = time.monotonic()
        recorder.start(job["allowed"])
        try:
            result.update(run_job(job))
            failure = None
        except BaseException as error:  # noqa: BLE001 - report everything
            failure = error
        recorder.stop()  # formatting a traceback reads source files
        if failure is not None:
            result.update(
                status="raised",
                exception=type(failure).__name__,
                mro=[f"{c.__module__}.{c.__qualname__}" for c in type(failure).__mro__],
                message=str(failure)[:4000],
                traceback="".join(traceback.format_exception(failure))[-4000:],
            )
        result["elapsed_s"] = time.monotonic() - started
        result["opened_outside"] = sorted(set(recorder.opened))
        result["forbidden_events"] = recorder.events[:50]
        result["new_modules"] = sorted(set(sys.modules) - modules_before)
        result["config_before"] = config_before
        result["config_after"] = config_state()
        files_after = files_under(spec["root"])
        result["created_files"] = sorted(set(files_after) - set(files_before))
        result["deleted_files"] = sorted(set(files_before) - set(files_after))
        result["modified_files"] = sorted(
            name
            for name in set(files_before) & set(files_after)
            if files_before[name] != files_after[name]
            and not os.path.isdir(os.path.join(spec["root"], name))
        )
        result["canary"] = os.path.exists(spec["canary"])
        if result["canary"]:
            os.remove(spec["canary"])  # judge each job on its own
        out.write("RESULT " + json.dumps(result) + "\n")
        out.flush()


main()
