"""Run the processes of ``make run`` and keep them running (standard library only).

``scripts/run.sh`` hands over a plan on standard input, one entry per line, each a list
of shell words (``printf '%q '`` in bash, :func:`shlex.split` here), carried out in order:

    component NAME HEALTH_URL START_SECONDS -- COMMAND...
        start NAME (HEALTH_URL ``-`` when it has none) and keep it running
    step NAME -- COMMAND...
        run a one-off command to its end; its failure stops everything
    ready LINE...
        wait until every component so far answers its health URL, then print the lines

Each component runs in a process group of its own (a new session), so that stopping it
also stops what it started: rasa-sdk serves from a Sanic worker process beside its main
one, which would otherwise keep the port after the main process died. A component that
exits is stopped as a group, its port awaited free, and started again after a back-off;
after ``MAX_QUICK_FAILURES`` exits in a row each within ``QUICK_SECONDS`` of its start, the
supervisor gives up and stops everything (exit code 1). Output lines carry the component's
name. On SIGINT or SIGTERM every group gets SIGTERM, and SIGKILL after ``STOP_SECONDS``
(exit code 0). ``--help`` lists the options that change these numbers.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

STOP_SECONDS = 15.0
PORT_FREE_SECONDS = 30.0
QUICK_SECONDS = 60.0
MAX_QUICK_FAILURES = 5
BACKOFF_SECONDS = (1.0, 2.0, 4.0, 8.0, 15.0)
POLL_SECONDS = 0.5
_print_lock = threading.Lock()


def say(line: str) -> None:
    with _print_lock, contextlib.suppress(OSError):  # nobody reads any more: go on
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def note(message: str) -> None:
    say(f"\033[1;34m==>\033[0m {message}")


def _live_members(group: int) -> bool:
    proc = Path("/proc")
    if not proc.is_dir():
        return True  # no way to tell a zombie: count it as alive
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state, _parent, pgid = stat[stat.rindex(")") + 2:].split()[:3]
        if int(pgid) == group and state != "Z":
            return True
    return False


class GiveUp(Exception):
    """Stop everything, with this message."""


@dataclass
class Component:
    name: str
    argv: list[str]
    health: str | None
    start_seconds: float
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    quick_failures: int = 0
    healthy: bool = False
    restart_at: float | None = None
    stop_seconds: float = STOP_SECONDS
    _reader: threading.Thread | None = field(default=None, repr=False)

    @property
    def port(self) -> tuple[str, int] | None:
        if self.health is None:
            return None
        url = urlsplit(self.health)
        return url.hostname or "127.0.0.1", url.port or (443 if url.scheme == "https" else 80)

    def start(self) -> None:
        self.process = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        self.started_at = time.monotonic()
        self.healthy = False
        self.restart_at = None
        self._reader = threading.Thread(target=self._relay, args=(self.process,), daemon=True)
        self._reader.start()

    def _relay(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        for raw in process.stdout:
            say(f"[{self.name}] {raw.decode(errors='replace').rstrip()}")

    def answers(self) -> bool:
        if self.health is None:
            return self.process is not None and self.process.poll() is None
        try:
            with urllib.request.urlopen(self.health, timeout=2) as response:  # noqa: S310
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def port_in_use(self) -> bool:
        port = self.port
        if port is None:
            return False
        with socket.socket() as probe:
            probe.settimeout(1)
            return probe.connect_ex(port) == 0

    def signal_group(self, signum: int) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signum)  # the group outlives its leader

    def group_alive(self) -> bool:
        """Whether a process of the group still runs (zombies do not count: an orphaned
        worker is reaped by whoever adopted it, maybe late)."""
        if self.process is None:
            return False
        self.process.poll()  # reap the leader
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return _live_members(self.process.pid)

    def stop(self) -> None:
        """TERM the whole group, KILL what is left after ``stop_seconds``; wait for the
        port."""
        if self.process is None:
            return
        timeout = self.stop_seconds
        self.signal_group(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self.group_alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        if self.group_alive():
            note(f"{self.name} did not stop within {timeout:.0f}s; killing it")
            self.signal_group(signal.SIGKILL)
            while self.group_alive() and time.monotonic() < deadline + 5:
                time.sleep(0.1)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        deadline = time.monotonic() + PORT_FREE_SECONDS
        while self.port_in_use() and time.monotonic() < deadline:
            time.sleep(0.2)


@dataclass
class Supervisor:
    backoff: tuple[float, ...] = BACKOFF_SECONDS
    max_quick_failures: int = MAX_QUICK_FAILURES
    quick_seconds: float = QUICK_SECONDS
    stop_seconds: float = STOP_SECONDS
    components: list[Component] = field(default_factory=list)
    stopping: bool = False

    def on_signal(self, signum: int, _frame: object) -> None:
        if not self.stopping:
            self.stopping = True
            note(f"Stopping Atelier ({signal.Signals(signum).name})")

    def add(self, component: Component) -> None:
        note(f"Starting {component.name}")
        component.stop_seconds = self.stop_seconds
        self.components.append(component)
        component.start()

    def check(self) -> None:
        """Restart what exited; raises :class:`GiveUp` for one that keeps failing."""
        now = time.monotonic()
        for c in self.components:
            if c.restart_at is not None:
                if now >= c.restart_at:
                    note(f"Starting {c.name} again")
                    c.start()
                continue
            code = c.process.poll() if c.process is not None else None
            if code is None:
                if c.quick_failures and now - c.started_at > self.quick_seconds:
                    c.quick_failures = 0
                continue
            quick = now - c.started_at < self.quick_seconds
            c.quick_failures = c.quick_failures + 1 if quick else 1
            note(f"{c.name} exited with code {code}; stopping what is left of it")
            c.stop()
            if c.port is not None and c.port_in_use():
                raise GiveUp(f"{c.name} exited but port {c.port[1]} is still taken by "
                             "another process")
            if c.quick_failures >= self.max_quick_failures:
                raise GiveUp(f"{c.name} failed {c.quick_failures} times in a row within "
                             f"{self.quick_seconds:.0f}s of starting; giving up (see its "
                             "output above)")
            wait = self.backoff[min(c.quick_failures, len(self.backoff)) - 1]
            note(f"{c.name} restarts in {wait:g}s")
            c.restart_at = now + wait

    def sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))

    def step(self, name: str, argv: list[str]) -> None:
        note(name)
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, start_new_session=True)
        while process.poll() is None:
            if self.stopping:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait()
                return
            self.check()
            self.sleep(POLL_SECONDS)
        if process.returncode != 0:
            raise GiveUp(f"{name}: failed with exit code {process.returncode}")

    def ready(self, lines: list[str]) -> None:
        waiting = {c.name: time.monotonic() for c in self.components if not c.healthy}
        while waiting and not self.stopping:
            self.check()
            for c in self.components:
                if c.name not in waiting:
                    continue
                if c.restart_at is None and c.answers():
                    c.healthy = True
                    note(f"{c.name} is up ({time.monotonic() - waiting.pop(c.name):.0f}s)")
                elif time.monotonic() - c.started_at > c.start_seconds and c.restart_at is None:
                    raise GiveUp(f"{c.name} did not answer {c.health} within "
                                 f"{c.start_seconds:.0f}s")
            if waiting:
                self.sleep(1.0)
        if lines and not self.stopping:
            say("\n".join(lines))

    def watch(self) -> None:
        while not self.stopping:
            self.check()
            self.sleep(POLL_SECONDS)

    def stop_all(self) -> None:
        for c in self.components:
            c.signal_group(signal.SIGTERM)
        for c in reversed(self.components):
            c.stop()


def parse(plan: str) -> list[tuple[str, list[str], list[str]]]:
    """``(kind, arguments, command)`` of each line of the plan."""
    entries = []
    for line in plan.splitlines():
        words = shlex.split(line)
        if not words:
            continue
        kind, rest = words[0], words[1:]
        args, command = (rest[:rest.index("--")], rest[rest.index("--") + 1:]) \
            if "--" in rest else (rest, [])
        if kind not in ("component", "step", "ready"):
            raise SystemExit(f"supervise: unknown plan entry {kind!r}")
        entries.append((kind, args, command))
    return entries


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--backoff", type=float, nargs="+", default=BACKOFF_SECONDS,
                         metavar="SECONDS", help="waits before the 1st, 2nd, ... restart")
    options.add_argument("--max-quick-failures", type=int, default=MAX_QUICK_FAILURES)
    options.add_argument("--quick-seconds", type=float, default=QUICK_SECONDS)
    options.add_argument("--stop-seconds", type=float, default=STOP_SECONDS,
                         help="how long a group has after SIGTERM before SIGKILL")
    args = options.parse_args(argv)
    supervisor = Supervisor(backoff=tuple(args.backoff),
                            max_quick_failures=args.max_quick_failures,
                            quick_seconds=args.quick_seconds, stop_seconds=args.stop_seconds)
    signal.signal(signal.SIGINT, supervisor.on_signal)
    signal.signal(signal.SIGTERM, supervisor.on_signal)
    signal.signal(signal.SIGHUP, supervisor.on_signal)
    code = 0
    try:
        for kind, args, command in parse(sys.stdin.read()):
            if supervisor.stopping:
                break
            if kind == "component":
                name, health, seconds = args
                supervisor.add(Component(name, command, None if health == "-" else health,
                                         float(seconds)))
            elif kind == "step":
                supervisor.step(" ".join(args), command)
            else:
                supervisor.ready(args)
        supervisor.watch()
    except GiveUp as exc:
        say(f"\033[1;31merror:\033[0m {exc}")
        code = 1
    finally:
        supervisor.stopping = True
        supervisor.stop_all()
        note("Atelier stopped")
    return code


if __name__ == "__main__":
    sys.exit(main())
