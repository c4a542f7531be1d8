#!/usr/bin/env bash
# Run the benchmarks; the report lands in benchmarks/report/REPORT.md. PostgreSQL
# figures use ATELIER_BENCH_DATABASE_URL, else a throwaway server.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$ROOT/scripts/services.sh"
bash "$ROOT/scripts/setup.sh" venvs
if [ -z "${ATELIER_BENCH_DATABASE_URL:-}" ]; then
  trap stop_test_services EXIT
  start_test_postgres
  export ATELIER_BENCH_DATABASE_URL="$ATELIER_TEST_DATABASE_URL"
fi
cd "$ROOT"
PYTHONPATH="$ROOT" "$(venv_app)/bin/python" -m benchmarks
