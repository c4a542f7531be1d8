"""Run every benchmark and write benchmarks/report/REPORT.md."""

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


def main() -> int:
    report = Report()
    search_bench.run(report)
    recommend_bench.run(report)
    checkout_bench.run(report)
    gateway_bench.run(report)
    gateway_bench.run_agent_replies(report)
    knowledge_bench.run(report)
    knowledge_bench.relevance(report)
    nlu_bench.run(report)
    fullstack_bench.run(report)
    header = (f"# Atelier benchmark report\n\n{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
              f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
              f"Python {platform.python_version()}. Medians and p95 are taken per run; "
              "the machine is shared, so compare figures within one report.")
    path = report.write(header)
    sys.stdout.write(f"report written to {path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
