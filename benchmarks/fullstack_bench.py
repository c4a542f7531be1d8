"""Full-stack benchmark: shoppers through ``POST /api/chat`` against the real trained Rasa
model, the real action server and the app, all on this machine (SQLite, as ``make run``).

Each shopper is a conversation of its own that walks the journey of :data:`JOURNEY`
(greet, search, refine, add to cart, show the cart, a policy question). The levels run
1, 10 and 30 shoppers at once, each level :data:`RUNS` times; a turn is timed from the
request to its answer. Reported per level: turns per second, p50/p95/max per turn kind,
errors (a non-200 answer, an apology instead of an answer, or a conversation whose
transcript is not its turns answered once each, in order), the CPU each process spent per
turn (from ``/proc``, the process and its children) and each process's resident memory at
the end. Loopback only; bounded in time (a few minutes per stack).

The whole stack is measured once per number of Rasa processes of
``ATELIER_BENCH_RASA_PROCESSES`` (default ``1,2``: ``make run``'s choice against a single
process), one after the other in the same run, so that the ratios between them hold on a
machine whose other load comes and goes; the load average is reported with them.

``python -m benchmarks.fullstack_bench`` runs it alone; it needs the Rasa venv and the
trained model named by ``ATELIER_BENCH_RASA_BIN`` and ``ATELIER_BENCH_RASA_MODEL``
(``make bench`` sets them). With ``ATELIER_BENCH_PYSPY`` naming a py-spy binary, each
process is sampled during the 10-shopper level and the functions it spent most time in
are reported.
"""

from __future__ import annotations

import asyncio
import collections
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
from benchmarks.pyspy import record, top_functions  # noqa: E402
from channels.chat import BOT_DOWN_APOLOGY, NO_ANSWER_APOLOGY  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
LOG_CONFIG = REPO / "commerce_core" / "observability" / "logging.yml"
JOURNEY = [("greet", "hi"), ("search", "show me blue ceramic mugs"), ("refine", "cheaper"),
           ("add to cart", "add the first one to my cart"), ("show cart", "show my cart"),
           ("policy question", "what is your return policy?")]
LEVELS = {1: 4, 10: 2, 30: 1}
"""Shoppers at once → journeys each shopper walks per run."""
RUNS = 3
PROCESSES = (1, 2)
"""Rasa processes of the stacks measured, unless ``ATELIER_BENCH_RASA_PROCESSES`` says."""
PROFILED_LEVEL = 10
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
    rasa_processes: int = 1
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

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
        return {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1",
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
            subprocess.run([sys.executable, *step], cwd=REPO, env=env, check=True,
                           capture_output=True)
        for name in self.rasa_names:
            self._spawn(name, [self.rasa_bin, "run", "--enable-api", "--auth-token",
                               "bench-rasa-token", "-i", "127.0.0.1", "--port",
                               str(self.ports[name]), "--model", self.model, "--endpoints",
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


async def _shopper(client: httpx.AsyncClient, url: str, journeys: int,
                   conversations: list[str]) -> list[Turn]:
    turns = []
    for _ in range(journeys):
        conversation = f"web-bench-{uuid.uuid4().hex[:12]}"
        conversations.append(conversation)
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


async def _level(url: str, shoppers: int, journeys: int,
                 conversations: list[str]) -> tuple[list[Turn], float]:
    limits = httpx.Limits(max_connections=shoppers + 5)
    async with httpx.AsyncClient(limits=limits) as client:
        start = time.perf_counter()
        results = await asyncio.gather(*(_shopper(client, url, journeys, conversations)
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


@dataclass
class LevelResult:
    shoppers: int
    runs: list[list[Turn]] = field(default_factory=list)
    rates: list[float] = field(default_factory=list)
    cpu_ms_per_turn: dict[str, float] = field(default_factory=dict)
    misordered: int = 0
    """Conversations not answered once per turn, in order (counted as errors)."""


@dataclass
class StackResult:
    rasa_processes: int
    levels: list[LevelResult]
    memory: dict[str, int]
    load: tuple[float, float, float]
    """The machine's load average after the measurement (1, 5, 15 minutes)."""
    profiles: dict[str, list[tuple[str, float]]] = field(default_factory=dict)


def _component(name: str) -> str:
    return "rasa" if name.startswith("rasa-") else name


def _cpu(stack: Stack) -> dict[str, float]:
    totals: dict[str, float] = collections.defaultdict(float)
    for name, process in stack.processes.items():
        totals[_component(name)] += cpu_seconds(process.pid)
    return totals


def measure(stack: Stack, pyspy: str | None = None) -> StackResult:
    asyncio.run(_level(stack.url, 2, 1, []))  # warm-up: first-turn costs are not the figure
    results, profiles = [], {}
    for shoppers, journeys in LEVELS.items():
        result = LevelResult(shoppers)
        conversations: list[str] = []
        before = _cpu(stack)
        profiling = (record(stack.processes, stack.workdir, pyspy)
                     if pyspy and shoppers == PROFILED_LEVEL else {})
        for _ in range(RUNS):
            turns, seconds = asyncio.run(_level(stack.url, shoppers, journeys,
                                                conversations))
            result.runs.append(turns)
            result.rates.append(len(turns) / seconds)
        count = sum(len(r) for r in result.runs)
        after = _cpu(stack)
        result.cpu_ms_per_turn = {name: (after[name] - before[name]) * 1000 / count
                                  for name in after}
        profiles.update(top_functions(profiling, stack.workdir))
        result.misordered = asyncio.run(_misordered(stack, conversations))
        results.append(result)
    memory: dict[str, int] = collections.defaultdict(int)
    for name, process in stack.processes.items():
        memory[_component(name)] += rss_bytes(process.pid)
    return StackResult(stack.rasa_processes, results, dict(memory), os.getloadavg(), profiles)


# --- the report ----------------------------------------------------------------------

def _median(values: list[float]) -> float:
    return percentile(values, 0.5)


def _p95(r: LevelResult) -> float:
    return _median([percentile([t.ms for t in run], 0.95) for run in r.runs])


def _errors(r: LevelResult) -> int:
    return sum(not t.ok for run in r.runs for t in run) + r.misordered


def _stack_lines(result: StackResult) -> list[str]:
    kinds = [kind for kind, _ in JOURNEY]
    lines = ["| shoppers at once | turns/s (median of runs) | p50 ms | p95 ms | max ms | "
             "errors | CPU ms per turn: rasa / actions / app |", "|---|---|---|---|---|---|---|"]
    for r in result.levels:
        every = [t for run in r.runs for t in run]
        p50 = _median([_median([t.ms for t in run]) for run in r.runs])
        cpu = r.cpu_ms_per_turn
        lines.append(f"| {r.shoppers} | {_median(r.rates):.1f} | {p50:.0f} | {_p95(r):.0f} | "
                     f"{max(t.ms for t in every):.0f} | {_errors(r)} of {len(every)} | "
                     f"{cpu['rasa']:.0f} / {cpu['actions']:.0f} / {cpu['app']:.0f} |")
    lines += ["", "| turn kind | " + " | ".join(f"{r.shoppers} at once p50 / p95 ms"
                                                 for r in result.levels) + " |",
              "|---|" + "---|" * len(result.levels)]
    for kind in kinds:
        cells = []
        for r in result.levels:
            samples = [t.ms for run in r.runs for t in run if t.kind == kind]
            cells.append(f"{_median(samples):.0f} / {percentile(samples, 0.95):.0f}")
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    total = sum(result.memory.values())
    lines += ["", "Resident memory at the end: " + ", ".join(
        f"{name} {size / 2**20:.0f} MiB" for name, size in result.memory.items())
        + f"; all together {total / 2**30:.2f} GiB. Load average after it: "
        + " / ".join(f"{x:.2f}" for x in result.load) + " (1 / 5 / 15 min)."]
    for name, functions in result.profiles.items():
        lines += ["", f"Where {name} spent its time at {PROFILED_LEVEL} shoppers at once "
                  "(py-spy, self time, share of its samples):", ""]
        lines += [f"- {share:.0%} `{frame}`" for frame, share in functions]
    return lines


def _ratio_lines(results: list[StackResult]) -> list[str]:
    base = results[0]
    lines = [f"| Rasa processes | shoppers at once | turns/s (× of {base.rasa_processes}) | "
             f"p95 ms (× of {base.rasa_processes}) |", "|---|---|---|---|"]
    for result in results:
        for r, b in zip(result.levels, base.levels, strict=True):
            rate, base_rate = _median(r.rates), _median(b.rates)
            lines.append(f"| {result.rasa_processes} | {r.shoppers} | {rate:.1f} "
                         f"(× {rate / base_rate:.2f}) | {_p95(r):.0f} "
                         f"(× {_p95(r) / _p95(b):.2f}) |")
    return lines


def write(report: Report, results: list[StackResult]) -> None:
    body = ["Journey per shopper: " + "; ".join(f'"{text}"' for _, text in JOURNEY)
            + f". Levels of 1, 10 and 30 shoppers at once, {RUNS} runs each; SQLite, "
            "as `make run`, with 1 action server and 1 app process and the number of Rasa "
            "processes below, measured one after the other in this run. Per kind: p50 / "
            "p95 over all runs of the level.", "", *_ratio_lines(results)]
    for result in results:
        body += ["", f"**{result.rasa_processes} Rasa process(es)**", "",
                 *_stack_lines(result)]
    report.text("Full stack: shoppers through POST /api/chat (real model, actions, app)",
                "\n".join(body))
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for n, result in enumerate(results):
        xs = [r.shoppers for r in result.levels]
        for q, label, style in ((0.5, "p50", "--"), (0.95, "p95", "-")):
            ax.plot(xs, [_median([percentile([t.ms for t in run], q) for run in r.runs])
                         for r in result.levels], style, marker="o", color=f"C{n}",
                    label=f"{label}, {result.rasa_processes} Rasa process(es)")
    ax.set_xscale("log")
    ax.set_xticks(xs, [str(x) for x in xs])
    ax.set_xlabel("shoppers at once")
    ax.set_ylabel("turn latency, ms")
    ax.set_title("Full stack: latency against concurrency")
    ax.legend(fontsize="small")
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
    wanted = os.environ.get("ATELIER_BENCH_RASA_PROCESSES")
    counts = [int(n) for n in wanted.split(",")] if wanted else list(PROCESSES)
    results = []
    for count in counts:
        workdir = Path(tempfile.mkdtemp(prefix="atelier-fullstack-"))
        stack = Stack(workdir, rasa_bin, model, rasa_processes=count)
        try:
            stack.start()
            results.append(measure(stack, os.environ.get("ATELIER_BENCH_PYSPY")))
        finally:
            stack.stop()
            shutil.rmtree(workdir, ignore_errors=True)
    write(report, results)


if __name__ == "__main__":
    from datetime import UTC, datetime

    alone = Report()
    run(alone)
    path = alone.write(f"# Atelier full-stack benchmark\n\n{datetime.now(UTC):%Y-%m-%d %H:%M}"
                       f" UTC, {os.cpu_count()} cores.")
    sys.stdout.write(f"report written to {path}\n")
