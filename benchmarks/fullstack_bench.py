"""Full-stack benchmark: shoppers through ``POST /api/chat`` against the real trained Rasa
model, the real action server and the app, all on this machine (SQLite, as ``make run``).

Each shopper is a conversation of its own that walks the journey of :data:`JOURNEY`
(greet, search, refine, add to cart, show the cart, a policy question). The levels run
1, 10 and 30 shoppers at once, each level :data:`RUNS` times; a turn is timed from the
request to its answer. Reported per level: turns per second, p50/p95/max per turn kind,
errors (a non-200 answer or an apology instead of an answer), the CPU each process spent
per turn (from ``/proc``, the process and its children) and each process's resident
memory at the end. Loopback only; bounded in time (a few minutes).

``python -m benchmarks.fullstack_bench`` runs it alone; it needs the Rasa venv and the
trained model named by ``ATELIER_BENCH_RASA_BIN`` and ``ATELIER_BENCH_RASA_MODEL``
(``make bench`` sets them).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from benchmarks.common import REPORT_DIR, Report, percentile  # noqa: E402
from channels.chat import BOT_DOWN_APOLOGY, NO_ANSWER_APOLOGY  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
LOG_CONFIG = REPO / "commerce_core" / "observability" / "logging.yml"
JOURNEY = [("greet", "hi"), ("search", "show me blue ceramic mugs"), ("refine", "cheaper"),
           ("add to cart", "add the first one to my cart"), ("show cart", "show my cart"),
           ("policy question", "what is your return policy?")]
LEVELS = {1: 4, 10: 2, 30: 1}
"""Shoppers at once → journeys each shopper walks per run."""
RUNS = 3
APOLOGIES = {BOT_DOWN_APOLOGY, NO_ANSWER_APOLOGY}
"""What the shopper hears instead of an answer: counted as errors."""
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- the processes -----------------------------------------------------------------

@dataclass
class Stack:
    workdir: Path
    rasa_bin: str
    model: str
    ports: dict[str, int] = field(default_factory=lambda: {
        name: _free_port() for name in ("app", "rasa", "actions")})
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports['app']}"

    def env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1",
                "ATELIER_DATA_DIR": str(self.workdir),
                "ATELIER_DATABASE_URL": f"sqlite:///{self.workdir / 'atelier.db'}",
                "ATELIER_RASA_URL": f"http://127.0.0.1:{self.ports['rasa']}",
                "ATELIER_ACTION_ENDPOINT_URL":
                    f"http://127.0.0.1:{self.ports['actions']}/webhook",
                "ATELIER_API_URL": f"http://127.0.0.1:{self.ports['app']}/api",
                "ATELIER_RASA_API_TOKEN": "bench-rasa-token",
                "ATELIER_IDENTITY_SECRET": secrets.token_hex(24),
                "RASA_TELEMETRY_ENABLED": "false",
                # every shopper comes from 127.0.0.1: the per-address limit would be the figure
                "ATELIER_RATE_IP_BURST": "1000000", "ATELIER_RATE_IP_PER_MINUTE": "1000000"}

    def start(self) -> None:
        env = self.env()
        env.pop("ATELIER_REDIS_URL", None)
        for step in (["-m", "commerce_core", "load-demo", "--if-empty"],
                     ["-m", "knowledge", "build-index"]):
            subprocess.run([sys.executable, *step], cwd=REPO, env=env, check=True,
                           capture_output=True)
        self._spawn("rasa", [self.rasa_bin, "run", "--enable-api", "--auth-token",
                             "bench-rasa-token", "-i", "127.0.0.1", "--port",
                             str(self.ports["rasa"]), "--model", self.model, "--endpoints",
                             "endpoints.yml", "--credentials", "credentials.yml"],
                    REPO / "bot", {**env, "PYTHONPATH": f"{REPO / 'bot'}"})
        self._spawn("actions", [sys.executable, "-m", "rasa_sdk", "--actions", "actions",
                                "--port", str(self.ports["actions"]),
                                "--logging-config_file", str(LOG_CONFIG)], REPO, env)
        self._spawn("app", [sys.executable, "-m", "uvicorn", "channels.app:create_app",
                            "--factory", "--host", "127.0.0.1", "--port",
                            str(self.ports["app"]), "--log-config", str(LOG_CONFIG)],
                    REPO, env)
        deadline = time.monotonic() + 300
        while True:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited:\n{self.tail(name)}")
            try:
                if httpx.get(f"{self.url}/ready", timeout=3).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the stack did not become ready in 300 s")
            time.sleep(1)

    def _spawn(self, name: str, args: list[str], cwd: Path, env: dict[str, str]) -> None:
        log = (self.workdir / f"{name}.log").open("wb")
        self.processes[name] = subprocess.Popen(args, cwd=cwd, env=env, stdout=log,
                                                stderr=subprocess.STDOUT,
                                                start_new_session=True)

    def tail(self, name: str) -> str:
        return (self.workdir / f"{name}.log").read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (the action server's Sanic worker, uvicorn's)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def cpu_seconds(pid: int) -> float:
    total = 0.0
    for member in _tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime
    return total


def rss_bytes(pid: int) -> int:
    total = 0
    for member in _tree(pid):
        try:
            total += int(Path(f"/proc/{member}/statm").read_text().split()[1]) * PAGE_BYTES
        except OSError:
            continue
    return total


# --- the shoppers ------------------------------------------------------------------

@dataclass
class Turn:
    kind: str
    ms: float
    ok: bool


async def _shopper(client: httpx.AsyncClient, url: str, journeys: int) -> list[Turn]:
    turns = []
    for _ in range(journeys):
        conversation = f"web-bench-{uuid.uuid4().hex[:12]}"
        secret = secrets.token_urlsafe(32)
        for kind, text in JOURNEY:
            start = time.perf_counter()
            try:
                response = await client.post(f"{url}/api/chat", json={
                    "conversation_id": conversation, "message": text,
                    "conversation_secret": secret}, timeout=60)
                answer = response.json() if response.status_code == 200 else {}
            except httpx.HTTPError:
                response, answer = None, {}
            ms = (time.perf_counter() - start) * 1000
            said = [str(m.get("text") or "") for m in answer.get("messages", [])]
            ok = (response is not None and response.status_code == 200 and any(said)
                  and not APOLOGIES.intersection(said))
            turns.append(Turn(kind, ms, ok))
    return turns


async def _level(url: str, shoppers: int, journeys: int) -> tuple[list[Turn], float]:
    limits = httpx.Limits(max_connections=shoppers + 5)
    async with httpx.AsyncClient(limits=limits) as client:
        start = time.perf_counter()
        results = await asyncio.gather(*(_shopper(client, url, journeys)
                                         for _ in range(shoppers)))
        return [t for r in results for t in r], time.perf_counter() - start


@dataclass
class LevelResult:
    shoppers: int
    runs: list[list[Turn]] = field(default_factory=list)
    rates: list[float] = field(default_factory=list)
    cpu_ms_per_turn: dict[str, float] = field(default_factory=dict)


def measure(stack: Stack) -> tuple[list[LevelResult], dict[str, int]]:
    asyncio.run(_level(stack.url, 2, 1))  # warm-up: first-turn costs are not the figure
    results = []
    for shoppers, journeys in LEVELS.items():
        result = LevelResult(shoppers)
        before = {name: cpu_seconds(p.pid) for name, p in stack.processes.items()}
        for _ in range(RUNS):
            turns, seconds = asyncio.run(_level(stack.url, shoppers, journeys))
            result.runs.append(turns)
            result.rates.append(len(turns) / seconds)
        count = sum(len(r) for r in result.runs)
        result.cpu_ms_per_turn = {
            name: (cpu_seconds(p.pid) - before[name]) * 1000 / count
            for name, p in stack.processes.items()}
        results.append(result)
    memory = {name: rss_bytes(p.pid) for name, p in stack.processes.items()}
    return results, memory


# --- the report ----------------------------------------------------------------------

def _median(values: list[float]) -> float:
    return percentile(values, 0.5)


def write(report: Report, results: list[LevelResult], memory: dict[str, int]) -> None:
    kinds = [kind for kind, _ in JOURNEY]
    lines = ["| shoppers at once | turns/s (median of runs) | p50 ms | p95 ms | max ms | "
             "errors | CPU ms per turn: rasa / actions / app |", "|---|---|---|---|---|---|---|"]
    for r in results:
        every = [t for run in r.runs for t in run]
        p50 = _median([_median([t.ms for t in run]) for run in r.runs])
        p95 = _median([percentile([t.ms for t in run], 0.95) for run in r.runs])
        errors = sum(not t.ok for t in every)
        cpu = r.cpu_ms_per_turn
        lines.append(f"| {r.shoppers} | {_median(r.rates):.1f} | {p50:.0f} | {p95:.0f} | "
                     f"{max(t.ms for t in every):.0f} | {errors} of {len(every)} | "
                     f"{cpu['rasa']:.0f} / {cpu['actions']:.0f} / {cpu['app']:.0f} |")
    lines += ["", "| turn kind | " + " | ".join(f"{r.shoppers} at once p50 / p95 ms"
                                                 for r in results) + " |",
              "|---|" + "---|" * len(results)]
    for kind in kinds:
        cells = []
        for r in results:
            samples = [t.ms for run in r.runs for t in run if t.kind == kind]
            cells.append(f"{_median(samples):.0f} / {percentile(samples, 0.95):.0f}")
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    total = sum(memory.values())
    lines += ["", "Resident memory at the end: " + ", ".join(
        f"{name} {size / 2**20:.0f} MiB" for name, size in memory.items())
        + f"; all together {total / 2**30:.2f} GiB."]
    report.text("Full stack: shoppers through POST /api/chat (real model, actions, app)",
                "Journey per shopper: " + "; ".join(f'"{text}"' for _, text in JOURNEY)
                + f". Levels of 1, 10 and 30 shoppers at once, {RUNS} runs each; SQLite, "
                "one process per component, as `make run`. Per kind: p50 / p95 over all "
                "runs of the level.\n\n" + "\n".join(lines))
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    xs = [r.shoppers for r in results]
    for q, label in ((0.5, "p50"), (0.95, "p95")):
        ax.plot(xs, [_median([percentile([t.ms for t in run], q) for run in r.runs])
                     for r in results], marker="o", label=label)
    ax.set_xscale("log")
    ax.set_xticks(xs, [str(x) for x in xs])
    ax.set_xlabel("shoppers at once")
    ax.set_ylabel("turn latency, ms")
    ax.set_title("Full stack: latency against concurrency")
    ax.legend()
    fig.tight_layout()
    fig.savefig(REPORT_DIR / "fullstack_latency.png", dpi=110)
    plt.close(fig)
    report.sections.append("![Full stack: latency against concurrency]"
                           "(fullstack_latency.png)")


def run(report: Report) -> None:
    rasa_bin = os.environ.get("ATELIER_BENCH_RASA_BIN")
    model = os.environ.get("ATELIER_BENCH_RASA_MODEL")
    if not rasa_bin or not model:
        report.text("Full stack", "Not run: ATELIER_BENCH_RASA_BIN and "
                    "ATELIER_BENCH_RASA_MODEL are not set (`make bench` sets them).")
        return
    workdir = Path(tempfile.mkdtemp(prefix="atelier-fullstack-"))
    stack = Stack(workdir, rasa_bin, model)
    try:
        stack.start()
        results, memory = measure(stack)
        write(report, results, memory)
    finally:
        stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    from datetime import UTC, datetime

    alone = Report()
    run(alone)
    path = alone.write(f"# Atelier full-stack benchmark\n\n{datetime.now(UTC):%Y-%m-%d %H:%M}"
                       f" UTC, {os.cpu_count()} cores.")
    sys.stdout.write(f"report written to {path}\n")
