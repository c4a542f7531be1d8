"""Where processes spend their time, sampled by py-spy while a benchmark runs (optional:
py-spy is a measuring tool, not a dependency of the product; install it where you like,
``pip install py-spy``, and name its binary)."""

from __future__ import annotations

import collections
import signal
import subprocess
from pathlib import Path


def record(processes: dict[str, subprocess.Popen[bytes]], workdir: Path,
           pyspy: str) -> dict[str, subprocess.Popen[bytes]]:
    """Start sampling each process and its children (Sanic's workers) until
    :func:`top_functions` is called."""
    recorders = {}
    for name, process in processes.items():
        recorders[name] = subprocess.Popen(
            [pyspy, "record", "--format", "raw", "--subprocesses", "--nonblocking",
             "--rate", "200", "--output", str(workdir / f"{name}.pyspy.txt"),
             "--pid", str(process.pid)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return recorders


def top_functions(recorders: dict[str, subprocess.Popen[bytes]], workdir: Path,
                  top: int = 8) -> dict[str, list[tuple[str, float]]]:
    """Per process, the functions it was seen running most (self time), as shares of its
    busy samples: samples in an event loop waiting for work (its selector) do not count."""
    found = {}
    for name, recorder in recorders.items():
        recorder.send_signal(signal.SIGINT)
        recorder.wait(60)
        path = workdir / f"{name}.pyspy.txt"
        if not path.exists():
            continue
        self_time: collections.Counter[str] = collections.Counter()
        for line in path.read_text(errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            if stack and count.isdigit():
                frame = stack.rsplit(";", 1)[-1]
                if not frame.startswith(IDLE):
                    self_time[frame] += int(count)
        total = sum(self_time.values()) or 1
        found[name] = [(frame, n / total) for frame, n in self_time.most_common(top)]
    return found


IDLE = ("serve (sanic/server/runners.py", "_run_server_forever (sanic/server/runners.py",
        "_PollLikeSelector.select", "select (selectors.py", "Runner.run (asyncio/runners.py",
        "Condition.wait (threading.py", "Connection._recv (multiprocessing")
"""Frames where a process waits for work: an event loop's selector, a thread pool's queue,
Sanic's worker manager."""
