"""``make run`` as a person runs it: on ports of its own, it starts every component, brings
back the action server after its main process is killed (its worker with it, the port
freed), and on SIGTERM leaves no process and no port behind."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from channels.chat import BOT_DOWN_APOLOGY
from tests.channels.web_chat import chat_body, owner
from tests.e2e.stack import REPO, free_port

pytestmark = pytest.mark.e2e
START_SECONDS = 480
"""Rasa loads TensorFlow and the model; the search index of the new data directory is
built: minutes on a busy two-core machine."""
FORWARDED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "ATELIER_CACHE_DIR",
             "XDG_CACHE_HOME", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


@dataclass
class Run:
    process: subprocess.Popen[str]
    ports: dict[str, int]
    lines: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._lock:
                self.lines.append(line.rstrip("\n"))

    def output(self) -> str:
        with self._lock:
            return "\n".join(self.lines)

    @property
    def app_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['app']}"


def wait_until(check: Callable[[], Any], seconds: float, what: str, run: Run) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result:
            return result
        if run.process.poll() is not None or time.monotonic() > deadline:
            tail = "\n".join(run.output().splitlines()[-60:])
            raise AssertionError(f"no {what} (run.sh exit code {run.process.poll()}):\n{tail}")
        time.sleep(0.5)


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def processes() -> dict[int, tuple[int, int, str]]:
    """pid → (parent pid, process group, command line) of every process that runs (not
    the zombies: an orphan's exit status waits for whoever adopted it)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(
                errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] != "Z":
            found[int(entry.name)] = (int(fields[1]), int(fields[2]), cmdline)
    return found


def descendants(root: int) -> set[int]:
    table = processes()
    found, frontier = set(), {root}
    while frontier:
        children = {pid for pid, (ppid, _, _) in table.items() if ppid in frontier}
        frontier = children - found
        found |= children
    return found


def action_server_main(run: Run) -> int:
    """The action server's main process (its Sanic worker is started another way)."""
    port = str(run.ports["actions"])
    [pid] = [pid for pid, (_, _, cmd) in processes().items()
             if "rasa_sdk" in cmd and f"--port {port}" in cmd]
    return pid


def say(run: Run, conversation: str, text: str) -> list[dict[str, Any]]:
    response = httpx.post(f"{run.app_url}/api/chat", timeout=120,
                          json=chat_body(conversation, text))
    assert response.status_code == 200, response.text
    return list(response.json()["messages"])


@pytest.fixture
def make_run(tmp_path: Path) -> Iterator[Run]:
    model = os.environ.get("ATELIER_TEST_RASA_MODEL", "")
    if not os.path.exists(model):
        pytest.fail("ATELIER_TEST_RASA_MODEL must name the trained model (run the suite with "
                    "'make test'): make run must find it in the cache, not train it",
                    pytrace=False)
    ports = {"app": free_port(), "rasa": free_port(), "actions": free_port(),
             "action_metrics": free_port()}
    ports["rasa-2"] = ports["rasa"] + 1  # the second of make run's two Rasa processes
    env = {name: os.environ[name] for name in FORWARDED if name in os.environ}
    env.update({"ATELIER_APP_PORT": str(ports["app"]), "ATELIER_RASA_PORT": str(ports["rasa"]),
                "ATELIER_ACTIONS_PORT": str(ports["actions"]),
                "ATELIER_ACTIONS_METRICS_PORT": str(ports["action_metrics"]),
                "ATELIER_DATA_DIR": str(tmp_path / "var"), "ATELIER_BOT_RETRY_SECONDS": "1"})
    process = subprocess.Popen(["bash", str(REPO / "scripts" / "run.sh")], cwd=tmp_path,
                               env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    run = Run(process, ports)
    threading.Thread(target=run.read, daemon=True).start()
    try:
        yield run
    finally:
        if process.poll() is None:  # the test failed half-way: leave nothing behind
            left = descendants(process.pid)
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
            for pid in descendants(process.pid) | left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def test_make_run_restarts_a_killed_action_server_and_stops_everything_on_sigterm(
        make_run: Run) -> None:
    run = make_run
    # given `make run` on ports of its own, up and answering
    wait_until(lambda: f"http://localhost:{run.ports['app']}/" in run.output(), START_SECONDS,
               "start-up message", run)
    assert "Training the Rasa model" not in run.output()
    # two Rasa processes, on consecutive ports (ATELIER_RASA_PROCESSES, 2 by default)
    assert "rasa-1 is up" in run.output() and "rasa-2 is up" in run.output()
    assert listening(run.ports["rasa"]) and listening(run.ports["rasa-2"])
    conversation = f"make-run-{uuid.uuid4().hex[:8]}"
    assert [m for m in say(run, conversation, "hi") if m["role"] == "bot"]
    # its output shows the app's and the actions' JSON log lines (the access line is written
    # once the answer has gone, so it is waited for), and the turn is measured
    def chat_logged() -> bool:
        logged = [json.loads(line.split("] ", 1)[1]) for line in run.output().splitlines()
                  if line.startswith(("[app] {", "[actions] {"))]
        return any(e["logger"] == "uvicorn.access" and "POST /api/chat" in e["message"]
                   and e.get("request_id") for e in logged)

    wait_until(chat_logged, 15, "the chat turn's access log line", run)
    metrics = httpx.get(f"{run.app_url}/metrics", timeout=10).text
    assert re.search(r'^atelier_turn_duration_seconds_count\{channel="web"\} [1-9]', metrics,
                     re.M)
    # and the action server's own metrics timed the greeting's custom action
    actions = httpx.get(f"http://127.0.0.1:{run.ports['action_metrics']}/metrics",
                        timeout=10).text
    assert re.search(r'^atelier_action_duration_seconds_count\{action="action_greet",'
                     r'outcome="ok"\} [1-9]', actions, re.M), actions[-2000:]
    assert httpx.get(f"{run.app_url}/ready", timeout=10).json()["status"] == "ready"
    # the demo shop's owner (README) signs in to the back office and finds the demo's orders
    with httpx.Client(base_url=run.app_url, timeout=30) as office:
        signed = office.post("/merchant/login", headers={"Origin": run.app_url},
                             data={"email": "owner@atelier.example",
                                   "password": "atelier demo owner"})
        assert (signed.status_code, signed.headers.get("location")) == (303, "/merchant")
        assert "page 1 of 24 · 600 orders" in office.get("/merchant").text
    children = descendants(run.process.pid)
    old_main = action_server_main(run)
    old_group = {old_main} | descendants(old_main)
    assert len(old_group) >= 2, "the action server runs a worker besides its main process"

    # when the action server's main process is killed
    os.kill(old_main, signal.SIGKILL)
    # then its worker goes with it (the port is let go) ...
    health = f"http://127.0.0.1:{run.ports['actions']}/health"

    def action_server_gone() -> bool:
        alive = set(processes())
        return not (old_group & alive) and not listening(run.ports["actions"])

    wait_until(action_server_gone, 60, "end of the killed action server's processes", run)
    # ... and a message that needs it meanwhile gets the apology, and is kept
    answered = say(run, conversation, "show me blue ceramic mugs")
    assert [(m["role"], m["text"]) for m in answered] == [("system", BOT_DOWN_APOLOGY)]

    # and the supervisor brings it back on the same port
    def serving() -> bool:
        try:
            return httpx.get(health, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(serving, 120, "action server restarted", run)
    assert action_server_main(run) != old_main
    assert not re.search(r"EADDRINUSE|address already in use", run.output(), re.IGNORECASE)

    # and the kept message is answered once it is back (the gateway checked the health of
    # the action server on its real port, not the default one)
    def answered_with_cards() -> list[dict[str, Any]]:
        messages = httpx.get(f"{run.app_url}/api/chat/{conversation}/history",
                             headers=owner(conversation), timeout=30).json()
        return [m for m in messages if m["cards"]]

    assert len(wait_until(answered_with_cards, 120, "answer of the kept message", run)) == 1

    # when run.sh is stopped
    everything = children | descendants(run.process.pid)
    run.process.send_signal(signal.SIGTERM)
    run.process.wait(timeout=90)
    # then every process it started is gone and every port is free
    time.sleep(0.5)
    left = {pid: cmd for pid, (_, _, cmd) in processes().items() if pid in everything}
    assert not left
    assert not [name for name, port in run.ports.items() if listening(port)]
