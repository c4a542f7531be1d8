"""Run the benchmarks and write benchmarks/report/REPORT.md.

``python -m benchmarks`` runs every one; ``python -m benchmarks fullstack nlu`` only those
named (see :data:`BENCHMARKS`)."""

from __future__ import annotations

import os
import platform
import sys
from datetime import UTC, datetime

from benchmarks import (
    checkout_bench,
    fullstack_bench,
    gateway_bench,
    knowledge_bench,
    nlu_bench,
    recommend_bench,
    search_bench,
)
from benchmarks.common import Report

BENCHMARKS = {
    "search": [search_bench.run],
    "recommend": [recommend_bench.run],
    "checkout": [checkout_bench.run],
    "gateway": [gateway_bench.run, gateway_bench.run_agent_replies],
    "knowledge": [knowledge_bench.run, knowledge_bench.relevance],
    "nlu": [nlu_bench.run],
    "fullstack": [fullstack_bench.run],
}
"""Each benchmark by name, in the report's order."""


def main(names: list[str]) -> int:
    unknown = set(names) - set(BENCHMARKS)
    if unknown:
        sys.stderr.write(f"unknown benchmark(s) {', '.join(sorted(unknown))}: "
                         f"choose from {', '.join(BENCHMARKS)}\n")
        return 2
    report = Report()
    for name, runs in BENCHMARKS.items():
        if not names or name in names:
            for run in runs:
                run(report)
    header = (f"# Atelier benchmark report\n\n{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
              f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
              f"Python {platform.python_version()}. Medians and p95 are taken per run; "
              "the machine is shared, so compare figures within one report.")
    path = report.write(header)
    sys.stdout.write(f"report written to {path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
