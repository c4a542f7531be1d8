#!/usr/bin/env bash
# Run the benchmarks; the report lands in benchmarks/report/REPORT.md. PostgreSQL
# figures use ATELIER_BENCH_DATABASE_URL, Redis figures ATELIER_BENCH_REDIS_URL, else
# throwaway servers.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$ROOT/scripts/services.sh"
bash "$ROOT/scripts/setup.sh" venvs model
# The full-stack benchmark runs the real trained model in the Rasa venv.
export ATELIER_BENCH_RASA_BIN="$(venv_rasa)/bin/rasa"
export ATELIER_BENCH_RASA_MODEL="$(model_dir)/model.tar.gz"
if [ -z "${ATELIER_BENCH_DATABASE_URL:-}" ]; then
  trap stop_test_services EXIT
  start_test_postgres
  export ATELIER_BENCH_DATABASE_URL="$ATELIER_TEST_DATABASE_URL"
fi
if [ -z "${ATELIER_BENCH_REDIS_URL:-}" ]; then  # the gateway's Redis figures
  trap stop_test_services EXIT
  [ -n "${ATELIER_TEST_REDIS_URL:-}" ] || start_test_redis
  export ATELIER_BENCH_REDIS_URL="$ATELIER_TEST_REDIS_URL"
fi
cd "$ROOT"
PYTHONPATH="$ROOT" "$(venv_app)/bin/python" -m benchmarks
