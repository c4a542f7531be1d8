"""Full-stack benchmark: shoppers through ``POST /api/chat`` against the real trained Rasa
model, the real action server and the app, all on this machine (SQLite, as ``make run``).

Each shopper is a conversation of its own that walks the journey of :data:`JOURNEY`
(greet, search, refine, add to cart, show the cart, a policy question). The levels run
1, 10 and 30 shoppers at once, each level :data:`RUNS` times; a turn is timed from the
request to its answer. Reported per level: turns per second, p50/p95/max per turn kind,
errors (a non-200 answer, an apology instead of an answer, or a conversation whose
transcript is not its turns answered once each, in order), the CPU each process spent per
turn (from ``/proc``, the process and its children) and each process's resident memory at
the end. Loopback only.

Stacks measured one after the other in the same run, so that the ratios between them hold
on a machine whose other load comes and goes (the load average is reported with them):

- before: the stack as it was at the commit ``ATELIER_BENCH_BASELINE_REF`` names (default
  and why: :mod:`benchmarks.baseline`; empty: none), its own code with its own trained
  model in the same virtual environments, with one Rasa process;
- after: the current tree with each number of Rasa processes of
  ``ATELIER_BENCH_RASA_PROCESSES`` (default ``1,2``: ``make run``'s choice against a
  single process).

Bounded in time: a stack takes about a minute to start (Rasa loads TensorFlow; the demo
shop and the search index are built in its own data folder) and two to three minutes to
measure on a busy 2-core machine (1 × 4, 10 × 2 and 30 × 1 journeys, three runs each,
every request with a 60 s limit); the baseline's model is trained once (about two
minutes) and then read from the model cache. Three stacks: about ten minutes.

``python -m benchmarks.fullstack_bench`` runs it alone; it needs the Rasa venv and the
trained model named by ``ATELIER_BENCH_RASA_BIN`` and ``ATELIER_BENCH_RASA_MODEL``
(``make bench`` sets them). With ``ATELIER_BENCH_PYSPY`` naming a py-spy binary
(``make bench`` installs one), each process of the current tree's stacks is sampled
during one more run of :data:`PROFILED_LEVEL` shoppers, after the measured ones (the
sampler's own CPU does not weigh on the figures), and the report lists per process the
functions it ran most (self time) and those that held most of its time (inclusive).
"""

from __future__ import annotations

import asyncio
import collections
import json
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

from benchmarks import baseline, pyspy
from benchmarks.common import REPORT_DIR, Report
from benchmarks.fullstack_report import LevelResult, StackResult, Turn, body, plot
from channels.chat import BOT_DOWN_APOLOGY, NO_ANSWER_APOLOGY

REPO = Path(__file__).resolve().parents[1]
JOURNEY = [("greet", "hi"), ("search", "show me blue ceramic mugs"), ("refine", "cheaper"),
           ("add to cart", "add the first one to my cart"), ("show cart", "show my cart"),
           ("policy question", "what is your return policy?")]
LEVELS = {1: 4, 10: 2, 30: 1}
"""Shoppers at once → journeys each shopper walks per run."""
RUNS = 3
PROCESSES = (1, 2)
"""Rasa processes of the current tree's stacks, unless ``ATELIER_BENCH_RASA_PROCESSES``
says."""
BASELINE_PROCESSES = 1
PROFILED_LEVEL = 10
APOLOGIES = {BOT_DOWN_APOLOGY, NO_ANSWER_APOLOGY}
"""What the shopper hears instead of an answer: counted as errors."""
READ_APOLOGIES = ("import json; from channels.chat import BOT_DOWN_APOLOGY, NO_ANSWER_APOLOGY;"
                  " print(json.dumps([BOT_DOWN_APOLOGY, NO_ANSWER_APOLOGY]))")
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
    rasa_processes: int = 1
    root: Path = REPO
    """The source tree whose processes run (the current one, or a baseline's files)."""
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    apologies: set[str] = field(default_factory=lambda: set(APOLOGIES))
    """What this tree's gateway says instead of an answer (read from it at start)."""

    def __post_init__(self) -> None:
        names = ["app", "actions", *(f"rasa-{i + 1}" for i in range(self.rasa_processes))]
        self.ports = {name: _free_port() for name in names}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports['app']}"

    @property
    def rasa_names(self) -> list[str]:
        return [name for name in self.ports if name.startswith("rasa-")]

    def env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": str(self.root), "HF_HUB_OFFLINE": "1",
                "ATELIER_DATA_DIR": str(self.workdir),
                "ATELIER_DATABASE_URL": f"sqlite:///{self.workdir / 'atelier.db'}",
                "ATELIER_RASA_URL": ",".join(f"http://127.0.0.1:{self.ports[name]}"
                                             for name in self.rasa_names),
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
            done = subprocess.run([sys.executable, *step], cwd=self.root, env=env,
                                  capture_output=True, text=True)
            if done.returncode:
                raise RuntimeError(f"{' '.join(step)} failed:\n{done.stderr[-3000:]}")
        said = subprocess.run([sys.executable, "-c", READ_APOLOGIES], cwd=self.root, env=env,
                              capture_output=True, text=True)
        if said.returncode == 0:
            self.apologies = set(json.loads(said.stdout))
        log_config = str(self.root / "commerce_core" / "observability" / "logging.yml")
        for name in self.rasa_names:
            self._spawn(name, [self.rasa_bin, "run", "--enable-api", "--auth-token",
                               "bench-rasa-token", "-i", "127.0.0.1", "--port",
                               str(self.ports[name]), "--model", self.model, "--endpoints",
                               "endpoints.yml", "--credentials", "credentials.yml"],
                        self.root / "bot", {**env, "PYTHONPATH": f"{self.root / 'bot'}"})
        self._spawn("actions", [sys.executable, "-m", "rasa_sdk", "--actions", "actions",
                                "--port", str(self.ports["actions"]),
                                "--logging-config_file", log_config], self.root, env)
        self._spawn("app", [sys.executable, "-m", "uvicorn", "channels.app:create_app",
                            "--factory", "--host", "127.0.0.1", "--port",
                            str(self.ports["app"]), "--log-config", log_config],
                    self.root, env)
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

async def _shopper(client: httpx.AsyncClient, stack: Stack, journeys: int,
                   conversations: list[str]) -> list[Turn]:
    turns = []
    for _ in range(journeys):
        conversation = f"web-bench-{uuid.uuid4().hex[:12]}"
        conversations.append(conversation)
        secret = secrets.token_urlsafe(32)
        for kind, text in JOURNEY:
            start = time.perf_counter()
            try:
                response = await client.post(f"{stack.url}/api/chat", json={
                    "conversation_id": conversation, "message": text,
                    "conversation_secret": secret}, timeout=60)
                answer = response.json() if response.status_code == 200 else {}
            except httpx.HTTPError:
                response, answer = None, {}
            ms = (time.perf_counter() - start) * 1000
            said = [str(m.get("text") or "") for m in answer.get("messages", [])]
            ok = (response is not None and response.status_code == 200 and any(said)
                  and not stack.apologies.intersection(said))
            turns.append(Turn(kind, ms, ok))
    return turns


async def _level(stack: Stack, shoppers: int, journeys: int,
                 conversations: list[str]) -> tuple[list[Turn], float]:
    limits = httpx.Limits(max_connections=shoppers + 5)
    async with httpx.AsyncClient(limits=limits) as client:
        start = time.perf_counter()
        results = await asyncio.gather(*(_shopper(client, stack, journeys, conversations)
                                         for _ in range(shoppers)))
        return [t for r in results for t in r], time.perf_counter() - start


async def _misordered(stack: Stack, conversations: list[str]) -> int:
    """Conversations whose tracker (read from the shared store through any Rasa process)
    does not hold the journey's messages once each, in order."""
    texts = [text for _, text in JOURNEY]
    rasa = f"http://127.0.0.1:{stack.ports[stack.rasa_names[-1]]}"
    bad = 0
    async with httpx.AsyncClient(base_url=rasa, timeout=30) as client:
        for conversation in conversations:
            tracker = (await client.get(f"/conversations/{conversation}/tracker",
                                        params={"token": "bench-rasa-token"})).json()
            said = [e.get("text") for e in tracker.get("events", []) if e["event"] == "user"]
            bad += said != texts
    return bad


def _component(name: str) -> str:
    return "rasa" if name.startswith("rasa-") else name


def _cpu(stack: Stack) -> dict[str, float]:
    totals: dict[str, float] = collections.defaultdict(float)
    for name, process in stack.processes.items():
        totals[_component(name)] += cpu_seconds(process.pid)
    return totals


def measure(stack: Stack, label: str, is_baseline: bool = False) -> StackResult:
    asyncio.run(_level(stack, 2, 1, []))  # warm-up: first-turn costs are not the figure
    results = []
    for shoppers, journeys in LEVELS.items():
        result = LevelResult(shoppers)
        conversations: list[str] = []
        before = _cpu(stack)
        for _ in range(RUNS):
            turns, seconds = asyncio.run(_level(stack, shoppers, journeys, conversations))
            result.runs.append(turns)
            result.rates.append(len(turns) / seconds)
        count = sum(len(r) for r in result.runs)
        after = _cpu(stack)
        result.cpu_ms_per_turn = {name: (after[name] - before[name]) * 1000 / count
                                  for name in after}
        result.misordered = asyncio.run(_misordered(stack, conversations))
        results.append(result)
    memory: dict[str, int] = collections.defaultdict(int)
    for name, process in stack.processes.items():
        memory[_component(name)] += rss_bytes(process.pid)
    return StackResult(label, stack.rasa_processes, results, dict(memory), os.getloadavg(),
                       baseline=is_baseline)


def profile(stack: Stack, sampler: str) -> dict[str, pyspy.Profile]:
    """Each process sampled during one more run of :data:`PROFILED_LEVEL` shoppers."""
    recording = pyspy.record(stack.processes, stack.workdir, sampler)
    try:
        asyncio.run(_level(stack, PROFILED_LEVEL, LEVELS[PROFILED_LEVEL], []))
    finally:
        profiles = pyspy.stop(recording)
    kept = REPORT_DIR / "pyspy"  # the raw samples, for a flame graph (flamegraph.pl)
    kept.mkdir(parents=True, exist_ok=True)
    for raw in stack.workdir.glob("*.pyspy.txt"):
        shutil.copy(raw, kept / f"{stack.rasa_processes}-rasa-{raw.name}")
    return profiles


# --- the run --------------------------------------------------------------------------

def _measure_stack(root: Path, rasa_bin: str, model: str, processes: int, label: str,
                   is_baseline: bool = False, sampler: str | None = None) -> StackResult:
    workdir = Path(tempfile.mkdtemp(prefix="atelier-fullstack-"))
    stack = Stack(workdir, rasa_bin, model, rasa_processes=processes, root=root)
    try:
        stack.start()
        result = measure(stack, label, is_baseline)
        if sampler:
            result.profiles = profile(stack, sampler)
        return result
    finally:
        stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _measure_baseline(ref: str, rasa_bin: str) -> StackResult:
    name = baseline.describe(REPO, ref)
    with baseline.checkout(REPO, ref) as tree:
        rasa_python = str(Path(rasa_bin).with_name("python"))
        model = baseline.trained_model(tree, sys.executable, rasa_python)
        return _measure_stack(tree, rasa_bin, str(model), BASELINE_PROCESSES,
                              f"baseline {name}", is_baseline=True)


def run(report: Report) -> None:
    rasa_bin = os.environ.get("ATELIER_BENCH_RASA_BIN")
    model = os.environ.get("ATELIER_BENCH_RASA_MODEL")
    if not rasa_bin or not model:
        report.text("Full stack", "Not run: ATELIER_BENCH_RASA_BIN and "
                    "ATELIER_BENCH_RASA_MODEL are not set (`make bench` sets them).")
        return
    wanted = os.environ.get("ATELIER_BENCH_RASA_PROCESSES")
    counts = [int(n) for n in wanted.split(",")] if wanted else list(PROCESSES)
    sampler = os.environ.get("ATELIER_BENCH_PYSPY") or None
    notes = [] if sampler else ["No profiles: ATELIER_BENCH_PYSPY names no py-spy binary "
                                "(`make bench` installs one unless it is set empty)."]
    results = []
    ref = baseline.wanted_ref()
    if ref:
        try:
            results.append(_measure_baseline(ref, rasa_bin))
        except RuntimeError as error:
            notes.append(f"No baseline: measuring {ref} failed: {error}")
    for count in counts:
        results.append(_measure_stack(REPO, rasa_bin, model, count, "current tree",
                                      sampler=sampler))
    journey = ("Journey per shopper: " + "; ".join(f'"{text}"' for _, text in JOURNEY)
               + f". Levels of {', '.join(map(str, LEVELS))} shoppers at once, {RUNS} runs "
               "each; SQLite, as `make run`, with 1 action server and 1 app process and the "
               "number of Rasa processes below. Per kind: p50 / p95 over all runs of the "
               "level.")
    plot(results, REPORT_DIR / "fullstack_latency.png")
    report.text("Full stack: shoppers through POST /api/chat (real model, actions, app)",
                "\n".join([*notes, *body(results, journey, PROFILED_LEVEL)]))
    report.sections.append("![Full stack: latency against concurrency]"
                           "(fullstack_latency.png)")


if __name__ == "__main__":
    from datetime import UTC, datetime

    alone = Report()
    run(alone)
    path = alone.write(f"# Atelier full-stack benchmark\n\n{datetime.now(UTC):%Y-%m-%d %H:%M}"
                       f" UTC, {os.cpu_count()} cores.")
    sys.stdout.write(f"report written to {path}\n")
