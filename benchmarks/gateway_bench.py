"""Gateway benchmark: 50 concurrent widget sessions over WebSocket against the real app,
and agents' replies reaching the shoppers' widgets.

The app runs as its own uvicorn process (SQLite, SQL transcripts, the real routes, bus and
limits); Rasa is a local HTTP stand-in answering at once, so the figures are the gateway's
own cost per turn, not the model's. A turn is timed from sending the shopper's frame to
receiving the bot's answer on the socket. Measured with the in-process history and bus,
and with Redis (history, pub/sub, rate limits) when ``ATELIER_BENCH_REDIS_URL`` or
``ATELIER_TEST_REDIS_URL`` is set.

An agent's reply is timed from the console's ``POST .../reply`` to the frame on the
shopper's widget socket ("reaches the shopper within a second"): in one process, and with
Redis, posted to one replica while the shopper's socket is held by another.

``python -m benchmarks.gateway_bench [turns] [agent]`` runs the named sections only.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import redis
import uvicorn
import websockets
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from benchmarks.common import Report, Series
from channels.rasa_client import WEBHOOK_PATH

REPO = Path(__file__).resolve().parents[1]
SESSIONS, TURNS, RUNS = 50, 10, 3
AGENT_CONVERSATIONS, AGENT_REPLIES = 10, 30
"""Conversations one agent holds at once, and replies sent in each per run."""
AGENT_EMAIL, AGENT_PASSWORD = "bench-agent@shop.example", "bench-password-42"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rasa_standin(port: int) -> uvicorn.Server:
    async def webhook(request: Request) -> JSONResponse:
        body = await request.json()
        return JSONResponse([{"recipient_id": body["sender"],
                              "text": f"You said: {body['message']}"}])

    async def status(request: Request) -> JSONResponse:
        return JSONResponse({"model_file": "stand-in"})

    app = Starlette(routes=[Route(WEBHOOK_PATH, webhook, methods=["POST"]),
                            Route("/status", status)])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    return server


def _app_env(workdir: Path, rasa_port: int, redis_url: str | None,
             prefix: str | None = None) -> dict[str, str]:
    """One gateway's environment; replicas share ``workdir`` (the database) and ``prefix``."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "ATELIER_DATA_DIR": str(workdir),
           "ATELIER_DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}",
           "ATELIER_RASA_URL": f"http://127.0.0.1:{rasa_port}",
           "ATELIER_WARM_SEARCH_ON_START": "false", "HF_HUB_OFFLINE": "1",
           # every session comes from 127.0.0.1: the per-address limit would be the figure
           "ATELIER_RATE_IP_BURST": "1000000", "ATELIER_RATE_IP_PER_MINUTE": "1000000"}
    env.pop("ATELIER_REDIS_URL", None)
    if redis_url:
        env.update(ATELIER_REDIS_URL=redis_url,
                   ATELIER_REDIS_PREFIX=prefix or f"atelier-bench:{uuid.uuid4().hex[:8]}")
    return env


def _start_app(workdir: Path, rasa_port: int, redis_url: str | None, *,
               env: dict[str, str] | None = None, log_name: str = "app.log") -> tuple[
        subprocess.Popen[bytes], str]:
    port = _free_port()
    env = env or _app_env(workdir, rasa_port, redis_url)
    subprocess.run([sys.executable, "-m", "commerce_core", "migrate"], cwd=REPO, env=env,
                   check=True, capture_output=True)
    log = (workdir / log_name).open("wb")
    process = subprocess.Popen([sys.executable, "-m", "uvicorn", "channels.app:create_app",
                                "--factory", "--host", "127.0.0.1", "--port", str(port),
                                "--log-level", "warning"], cwd=REPO, env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        if process.poll() is not None:
            raise RuntimeError((workdir / log_name).read_text()[-2000:])
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("the app did not start")
        time.sleep(0.3)


async def _hello(ws: websockets.ClientConnection) -> None:
    """The widget's first frame: the new conversation's session secret (bound to it)."""
    await ws.send(json.dumps({"type": "hello", "conversation_secret": secrets.token_urlsafe(32)}))


async def _session(url: str, samples: list[float]) -> None:
    conversation = f"bench-{uuid.uuid4().hex[:12]}"
    ws_url = url.replace("http", "ws", 1) + f"/ws/chat?conversation_id={conversation}"
    async with websockets.connect(ws_url, max_size=2**20) as ws:
        await _hello(ws)
        for turn in range(TURNS):
            start = time.perf_counter()
            await ws.send(json.dumps({"type": "message", "text": f"turn {turn}",
                                      "client_id": f"{conversation}-{turn}"}))
            while True:
                frame = json.loads(await ws.recv())
                if frame.get("type") == "error":
                    raise RuntimeError(f"the gateway refused a turn: {frame}")
                if frame.get("type") == "message" and frame.get("role") == "bot":
                    break
            samples.append((time.perf_counter() - start) * 1000)


async def _run(url: str) -> tuple[list[float], float]:
    samples: list[float] = []
    start = time.perf_counter()
    await asyncio.gather(*(_session(url, samples) for _ in range(SESSIONS)))
    return samples, len(samples) / (time.perf_counter() - start)


def _measure(name: str, rasa_port: int, redis_url: str | None) -> tuple[Series, list[float]]:
    workdir = Path(tempfile.mkdtemp(prefix="atelier-gateway-"))
    process, url = _start_app(workdir, rasa_port, redis_url)
    series, rates = Series(name), []
    try:
        asyncio.run(_run(url))  # warm-up: connections, first queries
        for _ in range(RUNS):
            samples, rate = asyncio.run(_run(url))
            assert len(samples) == SESSIONS * TURNS
            series.runs.append(samples)
            rates.append(rate)
    finally:
        process.terminate()
        process.wait(timeout=30)
    return series, rates


def _redis_url() -> str | None:
    """The Redis of the multi-replica figures; without one they are left out."""
    return os.environ.get("ATELIER_BENCH_REDIS_URL") or os.environ.get("ATELIER_TEST_REDIS_URL")


def run(report: Report) -> None:
    rasa_port = _free_port()
    standin = _rasa_standin(rasa_port)
    redis_url = _redis_url()
    try:
        results = [_measure("turn, in-process", rasa_port, None)]
        if redis_url:
            results.append(_measure("turn, Redis", rasa_port, redis_url))
    finally:
        standin.should_exit = True
    report.latency_table(
        "Gateway turns (50 widget sessions)", [s for s, _ in results],
        f"{RUNS} runs × {SESSIONS} concurrent WebSocket sessions × {TURNS} turns each; a "
        "turn is shopper frame → bot answer on the socket. The app is its own uvicorn "
        "process (SQLite, SQL transcripts); Rasa is a stand-in that answers at once, so "
        "this is the gateway's own cost.")
    lines = [f"- {s.name}: {sorted(r)[len(r) // 2]:.0f} turns/s median over {len(r)} runs, "
             f"range {min(r):.0f}–{max(r):.0f}" for s, r in results]
    if not redis_url:
        lines.append("- Redis: not measured (set ATELIER_BENCH_REDIS_URL)")
    report.text("Gateway throughput", "\n".join(lines))
    report.plot("gateway_latency", "Gateway turn latency, 50 sessions",
                [s for s, _ in results])


# --- an agent's reply → the shopper's widget


def _ws_url(url: str, conversation_id: str) -> str:
    return url.replace("http", "ws", 1) + f"/ws/chat?conversation_id={conversation_id}"


async def _frame(ws: websockets.ClientConnection, role: str, text: str | None = None) -> None:
    """Wait for a message frame of ``role`` (and ``text``) on the shopper's socket."""
    while True:
        frame = json.loads(await ws.recv())
        if frame.get("type") == "error":
            raise RuntimeError(f"the gateway sent an error: {frame}")
        if (frame.get("type") == "message" and frame.get("role") == role
                and (text is None or frame.get("text") == text)):
            return


async def _held_conversation(shopper_url: str, agent: httpx.AsyncClient,
                             samples: list[float]) -> None:
    """A shopper on ``shopper_url`` whose conversation the agent takes, then answers
    ``AGENT_REPLIES`` times; each reply timed from the POST to the frame on the socket."""
    conversation = f"bench-agent-{uuid.uuid4().hex[:12]}"
    async with websockets.connect(_ws_url(shopper_url, conversation), max_size=2**20) as ws:
        await _hello(ws)
        await ws.send(json.dumps({"type": "message", "text": "can someone help me?"}))
        await _frame(ws, "bot")
        claimed = await agent.post(f"/agent/api/conversations/{conversation}/claim")
        if claimed.status_code != 200:
            raise RuntimeError(f"claim refused: {claimed.text}")
        await _frame(ws, "system")  # "… has joined the conversation"
        for number in range(AGENT_REPLIES):
            text = f"reply {number} from the workshop"
            start = time.perf_counter()
            sent = asyncio.create_task(agent.post(
                f"/agent/api/conversations/{conversation}/reply", json={"text": text}))
            await _frame(ws, "agent", text)
            samples.append((time.perf_counter() - start) * 1000)
            response = await sent
            if response.status_code != 200:
                raise RuntimeError(f"reply refused: {response.text}")


async def _agent_run(agent_url: str, shopper_url: str) -> list[float]:
    samples: list[float] = []
    async with httpx.AsyncClient(base_url=agent_url, timeout=30) as agent:
        login = await agent.post("/agent/api/login", json={"email": AGENT_EMAIL,
                                                          "password": AGENT_PASSWORD})
        if login.status_code != 200:
            raise RuntimeError(f"the bench agent cannot sign in: {login.text}")
        agent.headers["Authorization"] = f"Bearer {login.json()['token']}"
        await asyncio.gather(*(_held_conversation(shopper_url, agent, samples)
                               for _ in range(AGENT_CONVERSATIONS)))
    return samples


def _measure_agent(name: str, rasa_port: int, redis_url: str | None) -> Series:
    """One app, or with Redis two replicas: the agent on the first, shoppers on the second."""
    workdir = Path(tempfile.mkdtemp(prefix="atelier-agent-"))
    env = _app_env(workdir, rasa_port, redis_url, f"atelier-bench:{uuid.uuid4().hex[:8]}")
    processes = []
    try:
        first, agent_url = _start_app(workdir, rasa_port, redis_url, env=env)
        processes.append(first)
        shopper_url = agent_url
        if redis_url:
            second, shopper_url = _start_app(workdir, rasa_port, redis_url, env=env,
                                             log_name="replica.log")
            processes.append(second)
        subprocess.run([sys.executable, "-m", "channels", "create-agent", "--email",
                        AGENT_EMAIL, "--name", "Bench"], cwd=REPO, check=True,
                       capture_output=True, env={**env, "ATELIER_AGENT_PASSWORD": AGENT_PASSWORD})
        series = Series(name)
        asyncio.run(_agent_run(agent_url, shopper_url))  # warm-up
        for _ in range(RUNS):
            samples = asyncio.run(_agent_run(agent_url, shopper_url))
            assert len(samples) == AGENT_CONVERSATIONS * AGENT_REPLIES
            series.runs.append(samples)
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
        if redis_url:
            _drop_keys(redis_url, env["ATELIER_REDIS_PREFIX"])
        shutil.rmtree(workdir, ignore_errors=True)
    return series


def _drop_keys(redis_url: str, prefix: str) -> None:
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def run_agent_replies(report: Report) -> None:
    rasa_port = _free_port()
    standin = _rasa_standin(rasa_port)
    redis_url = _redis_url()
    try:
        series = [_measure_agent("agent reply, in-process", rasa_port, None)]
        if redis_url:
            series.append(_measure_agent("agent reply, Redis, two replicas", rasa_port,
                                         redis_url))
    finally:
        standin.should_exit = True
    note = (f"{RUNS} runs × {AGENT_CONVERSATIONS} conversations held by one agent × "
            f"{AGENT_REPLIES} replies each, the conversations concurrently; a reply is the "
            "console's POST .../reply → the agent's frame on the shopper's widget socket. "
            "With Redis the agent posts to one gateway process and the shoppers' sockets "
            "are held by another (pub/sub between them); both on one SQLite database.")
    if not redis_url:
        note += " Redis: not measured (set ATELIER_BENCH_REDIS_URL)."
    report.latency_table("Agent reply to the shopper's widget", series, note)
    report.plot("agent_reply_latency", "Agent reply → shopper's widget", series)


SECTIONS = {"turns": run, "agent": run_agent_replies}

if __name__ == "__main__":
    bench_report = Report()
    for section in sys.argv[1:] or list(SECTIONS):
        SECTIONS[section](bench_report)
    sys.stdout.write("\n\n".join(bench_report.sections) + "\n")
