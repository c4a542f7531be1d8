"""Where processes spend their time, sampled by py-spy while a benchmark runs.

py-spy is a measuring tool, not a dependency of the product: ``make bench``
(``scripts/bench.sh``) installs it from PyPI into the tools cache outside the clone and
names its binary in ``ATELIER_BENCH_PYSPY``. It reads the processes' memory through
ptrace: where the machine forbids that (a container without ``CAP_SYS_PTRACE``, Yama's
``ptrace_scope``), :func:`stop` says so in :attr:`Profile.note` instead of a profile.

Two views per process, both as shares of its busy samples (samples of an event loop or a
thread pool waiting for work do not count):

- self time: the function a sample was running (where the CPU goes);
- inclusive time: every function of ours, Rasa's or rasa-sdk's on a sample's stack (which
  of our functions, which of Rasa's stages hold the time), without the servers' entry
  points that every request runs under (:data:`SERVING`).
"""

from __future__ import annotations

import collections
import re
import signal
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

RATE = 200
"""Samples per second."""

IDLE = ("serve (sanic/server/runners.py", "_run_server_forever (sanic/server/runners.py",
        "_PollLikeSelector.select", "select (selectors.py", "Runner.run (asyncio/runners.py",
        "Condition.wait (threading.py", "Connection._recv (multiprocessing", "_worker (concurrent",
        "SimpleQueue.get", "Queue.get (queue.py")
"""Frames where a process waits for work: an event loop's selector, a thread pool's queue,
Sanic's worker manager."""

OURS = ("actions/", "channels/", "commerce_core/", "knowledge/", "atelier_", "rasa/",
        "rasa_sdk/")
"""Files of the inclusive view: the product's own (``atelier_*`` are the bot's modules in
Rasa), Rasa's and rasa-sdk's; the libraries' own time shows in the self-time view."""
SERVING = ("rasa/__main__.py", "rasa/api.py", "rasa/cli/", "rasa/core/run.py",
           "rasa_sdk/__main__.py", "rasa_sdk/cli/")
"""Files of the frames under which every request runs (the servers' entry points): left
out of the inclusive view, which is about what a turn does, not that the process serves
it."""
PROCESS = re.compile(r'process \d+:".*?";')
"""py-spy's frame for a process (``--subprocesses``); its command line may hold ``;``."""


@dataclass
class Profile:
    samples: int = 0
    """Busy samples (waiting for work left out)."""
    self_time: list[tuple[str, float]] = field(default_factory=list)
    inclusive: list[tuple[str, float]] = field(default_factory=list)
    note: str = ""
    """Why there is no profile (py-spy could not attach), else empty."""


@dataclass
class Recording:
    workdir: Path
    recorders: dict[str, subprocess.Popen[bytes]]


def record(processes: dict[str, subprocess.Popen[bytes]], workdir: Path,
           pyspy: str) -> Recording:
    """Start sampling each process and its children (Sanic's workers) until :func:`stop`."""
    recorders = {}
    for name, process in processes.items():
        with (workdir / f"{name}.pyspy.err").open("wb") as err:
            recorders[name] = subprocess.Popen(
                [pyspy, "record", "--format", "raw", "--subprocesses", "--nonblocking",
                 "--nolineno", "--rate", str(RATE),
                 "--output", str(workdir / f"{name}.pyspy.txt"), "--pid", str(process.pid)],
                stdout=subprocess.DEVNULL, stderr=err)
    return Recording(workdir, recorders)


def stop(recording: Recording, top: int = 12) -> dict[str, Profile]:
    """Stop the samplers and read, per process, its :class:`Profile`."""
    found = {}
    for name, recorder in recording.recorders.items():
        if recorder.poll() is None:
            recorder.send_signal(signal.SIGINT)
        try:
            recorder.wait(60)
        except subprocess.TimeoutExpired:
            recorder.kill()
            recorder.wait()
        path = recording.workdir / f"{name}.pyspy.txt"
        if path.exists() and path.stat().st_size:
            found[name] = summarise(path.read_text(errors="replace").splitlines(), top)
        else:
            err = (recording.workdir / f"{name}.pyspy.err").read_text(errors="replace")
            found[name] = Profile(note=failure(err, recorder.returncode))
    return found


def failure(stderr: str, returncode: int | None) -> str:
    """What to say when py-spy wrote no samples, from its error output."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    said = lines[-1] if lines else f"py-spy exited with status {returncode} and said nothing"
    if any(w in stderr.lower() for w in ("permission", "ptrace", "operation not permitted")):
        return (f"py-spy could not attach ({said}): reading another process needs ptrace, "
                "which this machine refuses (root with CAP_SYS_PTRACE, or "
                "/proc/sys/kernel/yama/ptrace_scope 0, lets it)")
    return f"py-spy recorded nothing: {said}"


def summarise(lines: Iterable[str], top: int = 12) -> Profile:
    """A :class:`Profile` from py-spy's raw output: one ``frame;frame;...;leaf COUNT`` line
    per distinct stack, the outermost frame first."""
    self_time: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    busy = 0
    for line in lines:
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [_function(frame) for frame in PROCESS.sub("", stack).split(";")]
        if frames[-1].startswith(IDLE):
            continue
        n = int(count)
        busy += n
        self_time[frames[-1]] += n
        for frame in set(frames):  # a recursive function counts once per sample
            if _does_work(frame):
                inclusive[frame] += n
    total = busy or 1
    return Profile(busy, [(f, n / total) for f, n in self_time.most_common(top)],
                   [(f, n / total) for f, n in inclusive.most_common(top)])


def _does_work(frame: str) -> bool:
    """Whether a frame belongs in the inclusive view: Python code of :data:`OURS`, not of
    :data:`SERVING` (frames of native or Cython code name no ``.py`` file)."""
    name, _, where = frame.rpartition(" (")
    path = where.rstrip(")")
    return (name != "<module>" and path.endswith(".py") and path.startswith(OURS)
            and not path.startswith(SERVING))


def _function(frame: str) -> str:
    """``name (path/file.py:12)`` → ``name (path/file.py)``: a function's lines together."""
    head, sep, tail = frame.rpartition(":")
    if sep and tail.endswith(")") and tail[:-1].isdigit():
        return head + ")"
    return frame
