"""The full-stack benchmark's figures and how they are reported: the tables per stack, the
ratios between the stacks of one run (before/after, one/two Rasa processes), the
profiles and the plot. Nothing here starts a process: it reads results.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from benchmarks.common import percentile  # noqa: E402
from benchmarks.pyspy import Profile  # noqa: E402

COMPONENTS = ("rasa", "actions", "app")


@dataclass
class Turn:
    kind: str
    ms: float
    ok: bool


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
    label: str
    """Which tree: ``"current tree"``, or ``"baseline <commit>"``."""
    rasa_processes: int
    levels: list[LevelResult]
    memory: dict[str, int]
    load: tuple[float, float, float]
    """The machine's load average after the measurement (1, 5, 15 minutes)."""
    profiles: dict[str, Profile] = field(default_factory=dict)
    baseline: bool = False

    @property
    def name(self) -> str:
        return f"{self.label}, {self.rasa_processes} Rasa"

    def level(self, shoppers: int) -> LevelResult | None:
        return next((r for r in self.levels if r.shoppers == shoppers), None)


def median(values: list[float]) -> float:
    return percentile(values, 0.5)


def rate(r: LevelResult) -> float:
    return median(r.rates)


def quantile(r: LevelResult, q: float, kind: str | None = None) -> float:
    """The median over runs of each run's ``q`` quantile (of one turn kind, or all)."""
    return median([percentile([t.ms for t in run if kind in (None, t.kind)], q)
                   for run in r.runs])


def errors(r: LevelResult) -> int:
    return sum(not t.ok for run in r.runs for t in run) + r.misordered


def _kinds(result: StackResult) -> list[str]:
    kinds = {t.kind: None for r in result.levels for run in r.runs for t in run}
    return list(kinds)


def stack_lines(result: StackResult, profiled: int) -> list[str]:
    lines = ["| shoppers at once | turns/s (median of runs) | p50 ms | p95 ms | max ms | "
             "errors | CPU ms per turn: " + " / ".join(COMPONENTS) + " |",
             "|---|---|---|---|---|---|---|"]
    for r in result.levels:
        every = [t for run in r.runs for t in run]
        cpu = " / ".join(f"{r.cpu_ms_per_turn.get(c, math.nan):.0f}" for c in COMPONENTS)
        lines.append(f"| {r.shoppers} | {rate(r):.1f} | {quantile(r, 0.5):.0f} | "
                     f"{quantile(r, 0.95):.0f} | {max(t.ms for t in every):.0f} | "
                     f"{errors(r)} of {len(every)} | {cpu} |")
    lines += ["", "| turn kind | " + " | ".join(f"{r.shoppers} at once p50 / p95 ms"
                                                 for r in result.levels) + " |",
              "|---|" + "---|" * len(result.levels)]
    for kind in _kinds(result):
        cells = []
        for r in result.levels:
            samples = [t.ms for run in r.runs for t in run if t.kind == kind]
            cells.append(f"{median(samples):.0f} / {percentile(samples, 0.95):.0f}")
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    total = sum(result.memory.values())
    lines += ["", "Resident memory at the end: " + ", ".join(
        f"{name} {size / 2**20:.0f} MiB" for name, size in result.memory.items())
        + f"; all together {total / 2**30:.2f} GiB. Load average after it: "
        + " / ".join(f"{x:.2f}" for x in result.load) + " (1 / 5 / 15 min)."]
    return lines + profile_lines(result, profiled)


def profile_lines(result: StackResult, profiled: int) -> list[str]:
    lines = []
    for name, profile in result.profiles.items():
        if profile.note:
            lines += ["", f"{name}: no profile. {profile.note}."]
            continue
        lines += ["", f"Where {name} spent its time at {profiled} shoppers at once (py-spy, "
                  f"{profile.samples} busy samples; share of them):", "",
                  "| self time (the function running) | | inclusive, ours and Rasa's (on the "
                  "stack) | |",
                  "|---|---|---|---|"]
        for i in range(max(len(profile.self_time), len(profile.inclusive))):
            cells = []
            for view in (profile.self_time, profile.inclusive):
                cells += ([f"`{view[i][0]}`", f"{view[i][1]:.0%}"] if i < len(view)
                          else ["", ""])
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def process_ratio_lines(results: list[StackResult]) -> list[str]:
    """Each stack of the same tree against its first one (fewest Rasa processes)."""
    base = results[0]
    lines = [f"| Rasa processes | shoppers at once | turns/s (× of {base.rasa_processes}) | "
             f"p95 ms (× of {base.rasa_processes}) |", "|---|---|---|---|"]
    for result in results:
        for r, b in zip(result.levels, base.levels, strict=True):
            lines.append(f"| {result.rasa_processes} | {r.shoppers} | {rate(r):.1f} "
                         f"({_ratio(rate(r), rate(b))}) | {quantile(r, 0.95):.0f} "
                         f"({_ratio(quantile(r, 0.95), quantile(b, 0.95))}) |")
    return lines


Figure = tuple[str, Callable[[StackResult], float], str]


def figures(before: StackResult, profiled: int) -> list[Figure]:
    """What the before/after table compares: name, how to read it, its format."""
    def at(shoppers: int, read: Callable[[LevelResult], float]) -> Callable[
            [StackResult], float]:
        return lambda s: read(r) if (r := s.level(shoppers)) else math.nan

    found: list[Figure] = []
    levels = [r.shoppers for r in before.levels]
    for shoppers in levels:
        found.append((f"turns/s, {shoppers} at once", at(shoppers, rate), "{:.1f}"))
    for q, label in ((0.5, "p50"), (0.95, "p95")):
        for shoppers in levels:
            found.append((f"{label} ms, {shoppers} at once",
                          at(shoppers, lambda r, q=q: quantile(r, q)), "{:.0f}"))
    first = levels[0]
    found.append((f"search turn p50 ms, {first} at once",
                  at(first, lambda r: quantile(r, 0.5, "search")), "{:.0f}"))
    for component in (*COMPONENTS, None):
        found.append((f"CPU ms per turn, {component or 'all processes'}, {profiled} at once",
                      at(profiled, lambda r, c=component: sum(
                          v for k, v in r.cpu_ms_per_turn.items() if c in (None, k))),
                      "{:.0f}"))
    found.append(("resident memory, all processes, MiB",
                  lambda s: sum(s.memory.values()) / 2**20, "{:.0f}"))
    return found


def before_after_lines(before: StackResult, afters: list[StackResult],
                       profiled: int) -> list[str]:
    """The baseline's figures next to each current stack's, with after ÷ before."""
    lines = ["| figure | " + before.name + " | " + " | ".join(
        f"{a.name} | × before" for a in afters) + " |",
        "|---|---|" + "---|---|" * len(afters)]
    for name, read, fmt in figures(before, profiled):
        was = read(before)
        cells = [fmt.format(was)]
        for after in afters:
            cells += [fmt.format(read(after)), _ratio(read(after), was)]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def _ratio(value: float, base: float) -> str:
    if not base or math.isnan(base) or math.isnan(value):
        return "–"
    return f"× {value / base:.2f}"


def plot(results: list[StackResult], path: Path) -> None:
    """p50 and p95 against the shoppers at once, one colour per stack."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 3.8))
    xs: list[int] = []
    for n, result in enumerate(results):
        xs = [r.shoppers for r in result.levels]
        for q, label, style in ((0.5, "p50", "--"), (0.95, "p95", "-")):
            ax.plot(xs, [quantile(r, q) for r in result.levels], style,
                    marker="s" if result.baseline else "o", color=f"C{n}",
                    label=f"{label}, {result.name}")
    ax.set_xscale("log")
    ax.set_xticks(xs, [str(x) for x in xs])
    ax.set_xlabel("shoppers at once")
    ax.set_ylabel("turn latency, ms")
    ax.set_title("Full stack: latency against concurrency")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def body(results: list[StackResult], journey: str, profiled: int) -> list[str]:
    """The report's section: before/after, the current tree's stacks against each other,
    then each stack's own tables and profiles."""
    before = next((r for r in results if r.baseline), None)
    current = [r for r in results if not r.baseline]
    lines = [journey, ""]
    if before is not None:
        lines += [f"**Before and after**: {before.label} against the current tree, measured "
                  "one after the other in this run (× before: after ÷ before; for latency, "
                  "CPU and memory lower is better).", "",
                  *before_after_lines(before, current, profiled), ""]
    if len(current) > 1:
        lines += ["**Current tree, Rasa processes against each other**", "",
                  *process_ratio_lines(current)]
    for result in results:
        lines += ["", f"**{result.name} process(es)**", "", *stack_lines(result, profiled)]
    return lines
