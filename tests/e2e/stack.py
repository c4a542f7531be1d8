"""Start the real service: Rasa with the trained model, the action server and the app."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
RASA_TOKEN = "rasa-api-token-for-tests"
LOG_CONFIG = REPO / "commerce_core" / "observability" / "logging.yml"
"""The logging of make run: JSON lines with request ids (app and action server)."""
"""Rasa runs with it as in every deployment: its HTTP API (trackers) refuses callers without."""
IDENTITY_SECRET = "identity-secret-for-tests"
"""Shared by the gateway, Rasa's channel and the action server, as ``make run`` does."""


LISTENING_PORTS = range(20000, 32000)
"""Where the tests' servers listen: below the kernel's ephemeral ports (32768 and up, by
default), which every outgoing connection takes its own port from. A server on an
ephemeral port that is restarted (the action server under make run's supervisor, Rasa
after a fault) can find its port taken in the meantime by a client's connection."""
_handed_out: set[int] = set()


def _ephemeral_ports() -> range:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return range(int(low), int(high) + 1)
    except (OSError, ValueError):
        return range(32768, 61000)


def free_port() -> int:
    """A port nothing listens on, outside the ephemeral range, never handed out twice by
    this process (two servers of a test are given two ports even before either binds)."""
    ephemeral = _ephemeral_ports()
    candidates = [p for p in LISTENING_PORTS if p not in ephemeral and p not in _handed_out]
    for port in random.sample(candidates, min(200, len(candidates))):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    with socket.socket() as s:  # every low port taken or ephemeral: the kernel's choice
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _descendants(pid: int) -> list[int]:
    """The processes ``pid`` started, and theirs (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if parent == pid:
            child = int(stat.parent.name)
            found += [child, *_descendants(child)]
    return found


def trained_rasa() -> tuple[str, str]:
    """The Rasa executable and trained model the suite runs (``make test`` sets them)."""
    rasa_bin = os.environ.get("ATELIER_TEST_RASA_BIN")
    model = os.environ.get("ATELIER_TEST_RASA_MODEL")
    if not rasa_bin or not model or not os.path.exists(model):
        pytest.fail("ATELIER_TEST_RASA_BIN / ATELIER_TEST_RASA_MODEL must name the Rasa "
                    "executable and a trained model: run the suite with 'make test'.",
                    pytrace=False)
    return rasa_bin, model


@dataclass
class Stack:
    workdir: Path
    rasa_bin: str
    model: str
    app_port: int = field(default_factory=free_port)
    rasa_port: int = field(default_factory=free_port)
    actions_port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    with_rasa: bool = True
    """False starts only the app and the action server (``rasa test`` runs the model)."""
    redis_url: str | None = None
    """The gateway's Redis (``ATELIER_REDIS_URL``); none by default, as ``make run``."""
    actions_api_url: str | None = None
    """Where the action server reaches the commerce API, when not straight at the app
    (a relay of a test's own)."""
    more_rasa_ports: list[int] = field(default_factory=list)
    """Rasa processes besides the first (``rasa-2``, ...), sharing its tracker store, as
    ``make run`` starts them with ``ATELIER_RASA_PROCESSES``."""

    @property
    def rasa_ports(self) -> dict[str, int]:
        """Rasa's processes by name: ``rasa``, then ``rasa-2``, ... in the gateway's list."""
        return {"rasa": self.rasa_port, **{f"rasa-{i + 2}": port
                                           for i, port in enumerate(self.more_rasa_ports)}}

    @property
    def app_url(self) -> str:
        return f"http://127.0.0.1:{self.app_port}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "PYTHONPATH": str(REPO),
            "ATELIER_DATA_DIR": str(self.workdir / "var"),
            "ATELIER_API_URL": f"{self.app_url}/api",
            "ATELIER_RASA_URL": ",".join(f"http://127.0.0.1:{port}"
                                         for port in self.rasa_ports.values()),
            "ATELIER_RASA_API_TOKEN": RASA_TOKEN,
            "ATELIER_IDENTITY_SECRET": IDENTITY_SECRET,
            "ATELIER_ACTION_ENDPOINT_URL": f"http://127.0.0.1:{self.actions_port}/webhook",
            "ATELIER_PUBLIC_URL": self.app_url,  # payment links and the sandbox's webhook
            "RASA_TELEMETRY_ENABLED": "false",
            "SANIC_HOST": "127.0.0.1",  # the action server, as make run starts it
            "ATELIER_ACTION_SERVER_URL": f"http://127.0.0.1:{self.actions_port}",
            "ATELIER_BOT_RETRY_SECONDS": "1",
            "HF_HUB_OFFLINE": "1",
        })
        if self.redis_url:
            env["ATELIER_REDIS_URL"] = self.redis_url
        return env

    def _spawn(self, name: str, args: list[str], cwd: Path,
               env: dict[str, str] | None = None) -> None:
        log = (self.workdir / f"{name}.log").open("ab")  # a restart goes on in the same log
        self.processes[name] = subprocess.Popen(args, cwd=cwd, env=env or self.env(),
                                                stdout=log, stderr=subprocess.STDOUT)

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.workdir / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def start(self, timeout: float = 240.0) -> None:
        subprocess.run([sys.executable, "-m", "commerce_core", "load-demo"], cwd=REPO,
                       env=self.env(), check=True, capture_output=True)
        if self.with_rasa:
            self._spawn_rasa()
        self._spawn_actions()
        self._spawn("app", [sys.executable, "-m", "uvicorn", "channels.app:create_app",
                            "--factory", "--host", "127.0.0.1", "--port", str(self.app_port),
                            "--log-config", str(LOG_CONFIG)], REPO)
        checks = {"app": f"{self.app_url}/health", "actions": self._actions_health}
        if self.with_rasa:
            checks |= {name: self._rasa_health(name) for name in self.rasa_ports}
        self._await_healthy(checks, timeout)

    def _rasa_health(self, name: str = "rasa") -> str:
        return f"http://127.0.0.1:{self.rasa_ports[name]}/status?token={RASA_TOKEN}"

    @property
    def _actions_health(self) -> str:
        return f"http://127.0.0.1:{self.actions_port}/health"

    def _await_healthy(self, checks: dict[str, str], timeout: float) -> None:
        """Wait until each process answers its URL with 200; fail if one exits first."""
        checks = dict(checks)
        deadline = time.monotonic() + timeout
        while checks:
            for name, url in list(checks.items()):
                if self.processes[name].poll() is not None:
                    raise RuntimeError(f"{name} exited during start-up:\n{self.log_tail(name)}")
                try:
                    if httpx.get(url, timeout=2).status_code == 200:
                        del checks[name]
                except httpx.HTTPError:
                    pass
            if time.monotonic() > deadline:
                tails = "\n".join(f"--- {n}\n{self.log_tail(n)}" for n in checks)
                raise RuntimeError(f"not healthy within {timeout}s: {sorted(checks)}\n{tails}")
            time.sleep(0.5)

    def _spawn_rasa(self, name: str | None = None) -> None:
        # the tracker store of endpoints.yml: SQLite in ATELIER_DATA_DIR, as make run has it
        for each in [name] if name else list(self.rasa_ports):
            self._spawn(each, [self.rasa_bin, "run", "--enable-api", "--auth-token",
                               RASA_TOKEN, "-i", "127.0.0.1",
                               "--port", str(self.rasa_ports[each]), "--model", self.model,
                               "--endpoints", "endpoints.yml", "--credentials",
                               "credentials.yml"], REPO / "bot")

    def _spawn_actions(self) -> None:
        env = self.env()
        if self.actions_api_url:
            env["ATELIER_API_URL"] = self.actions_api_url
        self._spawn("actions", [sys.executable, "-m", "rasa_sdk", "--actions", "actions",
                                "--port", str(self.actions_port),
                                "--logging-config_file", str(LOG_CONFIG)], REPO, env)

    def _stop(self, name: str, url: str, timeout: float) -> None:
        """Stop one process (the others go on) and wait until its port is shut: Sanic's
        workers are other processes, which the main one stops on SIGTERM."""
        process = self.processes[name]
        process.terminate()
        process.wait(timeout=timeout)
        self._await_shut(name, url, timeout)

    def _kill(self, name: str, url: str, timeout: float) -> None:
        """SIGKILL the process and every process it started (a worker must not live on to
        answer), as a crash or the OOM killer would, and wait until its port is shut."""
        process = self.processes[name]
        for pid in [*_descendants(process.pid), process.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait(timeout=timeout)
        self._await_shut(name, url, timeout)

    def _await_shut(self, name: str, url: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                httpx.get(url, timeout=1)
            except httpx.HTTPError:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} still answers after it was stopped")
            time.sleep(0.2)

    def stop_actions(self, timeout: float = 30.0) -> None:
        """Stop the action server; Rasa and the app go on."""
        self._stop("actions", self._actions_health, timeout)

    def kill_actions(self, timeout: float = 30.0) -> None:
        """Kill the action server outright; Rasa and the app go on."""
        self._kill("actions", self._actions_health, timeout)

    def kill_rasa(self, timeout: float = 30.0, name: str = "rasa") -> None:
        """Kill the Rasa server (or one of its processes) outright; the rest goes on."""
        self._kill(name, self._rasa_health(name), timeout)

    def start_actions(self, timeout: float = 60.0) -> None:
        """Start the action server again and wait until it answers."""
        self._spawn_actions()
        self._await_healthy({"actions": self._actions_health}, timeout)

    def stop_rasa(self, timeout: float = 60.0) -> None:
        """Stop the Rasa server; the action server and the app go on."""
        self._stop("rasa", self._rasa_health(), timeout)

    def start_rasa(self, timeout: float = 240.0, name: str = "rasa") -> None:
        """Start the Rasa server (or one of its processes) again and wait until it
        answers."""
        self._spawn_rasa(name)
        self._await_healthy({name: self._rasa_health(name)}, timeout)

    def stop(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
