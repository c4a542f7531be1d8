"""The supervisor of ``make run`` (scripts/supervise.py) on stand-in components: a server
whose worker outlives its main process, a command that keeps failing, a stop by SIGTERM."""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.stack import REPO, free_port

SERVER = Path(__file__).with_name("forking_server.py")


class Supervised:
    def __init__(self, plan: list[list[str]], *options: str) -> None:
        text = "".join(shlex.join(entry) + "\n" for entry in plan)
        self.process = subprocess.Popen(
            [sys.executable, str(REPO / "scripts" / "supervise.py"), *options],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True)
        assert self.process.stdin is not None
        self.process.stdin.write(text)
        self.process.stdin.close()
        self.lines: list[str] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._lock:
                self.lines.append(line.rstrip("\n"))

    def output(self) -> str:
        with self._lock:
            return "\n".join(self.lines)

    def wait_for(self, check: Callable[[], Any], seconds: float = 30) -> Any:
        deadline = time.monotonic() + seconds
        while not (result := check()):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; output:\n{self.output()}")
            time.sleep(0.1)
        return result

    def pids(self, role: str) -> list[int]:
        return [int(m) for m in re.findall(rf"^\[server\] {role} (\d+)$", self.output(), re.M)]


@pytest.fixture
def supervised() -> Iterator[Callable[..., Supervised]]:
    started: list[Supervised] = []

    def start(plan: list[list[str]], *options: str) -> Supervised:
        started.append(Supervised(plan, *options))
        return started[-1]

    yield start
    for run in started:
        if run.process.poll() is None:
            os.killpg(run.process.pid, signal.SIGKILL)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def serving(port: int) -> int | None:
    """The pid of the process that answers on ``port``."""
    try:
        return int(httpx.get(f"http://127.0.0.1:{port}/", timeout=2).text)
    except (httpx.HTTPError, ValueError):
        return None


def server_plan(port: int) -> list[list[str]]:
    return [["component", "server", f"http://127.0.0.1:{port}/", "20", "--",
             sys.executable, str(SERVER), str(port)],
            ["ready", "all up"]]


def test_a_component_whose_main_process_dies_is_restarted_as_a_whole_group(
        supervised: Callable[..., Supervised]) -> None:
    port = free_port()
    run = supervised(server_plan(port), "--backoff", "0.2")
    run.wait_for(lambda: "all up" in run.output())
    [main], [worker] = run.pids("main"), run.pids("worker")
    assert serving(port) == worker
    # when the main process is killed (its worker would go on serving the port)
    os.kill(main, signal.SIGKILL)
    # then the worker is stopped too and the component starts again on the same port
    run.wait_for(lambda: len(run.pids("worker")) == 2)
    new_worker = run.pids("worker")[1]
    assert run.wait_for(lambda: serving(port)) == new_worker
    assert not alive(worker)
    assert "server exited with code -9" in run.output()
    assert "Address already in use" not in run.output()
    assert run.process.poll() is None


def test_a_component_that_keeps_failing_is_given_up_and_everything_stopped(
        supervised: Callable[..., Supervised]) -> None:
    port = free_port()
    run = supervised(server_plan(port)[:1] + [
        ["component", "broken", "-", "20", "--", sys.executable, "-c",
         "print('cannot start'); raise SystemExit(3)"]],
        "--backoff", "0.1", "--max-quick-failures", "3")
    assert run.process.wait(timeout=60) == 1
    output = run.output()
    assert output.count("[broken] cannot start") == 3
    assert "broken failed 3 times in a row" in output
    # and the healthy component was stopped with it, its worker too
    assert not [pid for pid in run.pids("main") + run.pids("worker") if alive(pid)]
    assert not listening(port)


def test_sigterm_stops_every_process_and_frees_every_port(
        supervised: Callable[..., Supervised]) -> None:
    port = free_port()
    run = supervised([
        ["component", "server", f"http://127.0.0.1:{port}/", "20", "--",
         sys.executable, str(SERVER), str(port)],
        ["step", "a one-off step", "--", sys.executable, "-c", "pass"],
        ["component", "ignores-term", "-", "20", "--", sys.executable, "-c",
         "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
         "import os; print('stubborn', os.getpid(), flush=True); time.sleep(600)"],
        ["ready", "all up"]], "--stop-seconds", "2")
    run.wait_for(lambda: "all up" in run.output() and "stubborn" in run.output())
    [stubborn] = [int(p) for p in re.findall(r"stubborn (\d+)", run.output())]
    pids = run.pids("main") + run.pids("worker") + [stubborn]
    # when the supervisor gets SIGTERM
    run.process.send_signal(signal.SIGTERM)
    # then it stops every group (one that ignores TERM gets KILL) and exits cleanly
    assert run.process.wait(timeout=60) == 0
    assert not [pid for pid in pids if alive(pid)]
    assert "ignores-term did not stop" in run.output()
    assert not listening(port)
