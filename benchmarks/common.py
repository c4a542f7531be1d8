"""Timing helpers and the Markdown report writer shared by the benchmarks."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

REPORT_DIR = Path(__file__).resolve().parent / "report"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def service_header() -> dict[str, str]:
    """The action server's credentials, as the shopper-facing API endpoints require."""
    from commerce_core.config import get_settings

    return {"Authorization": f"Bearer {get_settings().service_token}"}


def time_calls(fn: Callable[[], object], repeat: int) -> list[float]:
    """Milliseconds of ``repeat`` calls."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


@dataclass
class Series:
    name: str
    runs: list[list[float]] = field(default_factory=list)
    """One list of millisecond samples per run."""

    def row(self) -> str:
        p50 = [statistics.median(r) for r in self.runs]
        p95 = [percentile(r, 0.95) for r in self.runs]
        return (f"| {self.name} | {len(self.runs)} × {len(self.runs[0])} | "
                f"{statistics.median(p50):.2f} | {statistics.median(p95):.2f} | "
                f"{min(p95):.2f}–{max(p95):.2f} |")


@dataclass
class Report:
    sections: list[str] = field(default_factory=list)

    def latency_table(self, title: str, series: list[Series], note: str = "") -> None:
        lines = [f"## {title}", "", note, "",
                 "| what | runs × samples | p50 ms (median of runs) | p95 ms (median of runs) "
                 "| p95 range over runs |", "|---|---|---|---|---|"]
        lines += [s.row() for s in series]
        self.sections.append("\n".join(lines))

    def text(self, title: str, body: str) -> None:
        self.sections.append(f"## {title}\n\n{body}")

    def plot(self, name: str, title: str, series: list[Series]) -> None:
        REPORT_DIR.mkdir(parents=True, exist_ok=True)
        fig, ax = plt.subplots(figsize=(7, 3.5))
        ax.boxplot([[x for run in s.runs for x in run] for s in series], showfliers=False)
        ax.set_xticks(range(1, len(series) + 1), [s.name for s in series], fontsize=8)
        ax.set_ylabel("milliseconds")
        ax.set_title(title)
        fig.tight_layout()
        fig.savefig(REPORT_DIR / f"{name}.png", dpi=110)
        plt.close(fig)
        self.sections.append(f"![{title}]({name}.png)")

    def write(self, header: str) -> Path:
        REPORT_DIR.mkdir(parents=True, exist_ok=True)
        path = REPORT_DIR / "REPORT.md"
        path.write_text(header + "\n\n" + "\n\n".join(self.sections) + "\n")
        return path
