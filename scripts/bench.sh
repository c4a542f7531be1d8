#!/usr/bin/env bash
# Run the benchmarks; the report lands in benchmarks/report/REPORT.md.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bash "$ROOT/scripts/setup.sh" venvs
cd "$ROOT"
PYTHONPATH="$ROOT" "$(venv_app)/bin/python" -m benchmarks
