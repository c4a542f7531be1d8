#!/usr/bin/env bash
# Run the benchmarks (all, or those named: scripts/bench.sh fullstack nlu); the report
# lands in benchmarks/report/REPORT.md. PostgreSQL figures use ATELIER_BENCH_DATABASE_URL,
# Redis figures ATELIER_BENCH_REDIS_URL, else throwaway servers. The full-stack benchmark
# measures the stack at ATELIER_BENCH_BASELINE_REF next to the current tree (empty: no
# baseline; default in benchmarks/baseline.py) and profiles the current tree with py-spy
# (ATELIER_BENCH_PYSPY names the binary; unset: installed below; empty: no profiles).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$ROOT/scripts/services.sh"
bash "$ROOT/scripts/setup.sh" venvs model
# The full-stack benchmark runs the real trained model in the Rasa venv.
export ATELIER_BENCH_RASA_BIN="$(venv_rasa)/bin/rasa"
export ATELIER_BENCH_RASA_MODEL="$(model_dir)/model.tar.gz"

# py-spy measures, the product does not need it: it goes into the tools cache outside the
# clone, one folder per version, from PyPI. Without it the benchmarks run unprofiled.
PYSPY_VERSION=0.4.3
pyspy_bin() { printf '%s/tools/py-spy-%s/bin/py-spy\n' "$CACHE_DIR" "$PYSPY_VERSION"; }
install_pyspy() {
  local dir; dir="$(dirname "$(dirname "$(pyspy_bin)")")"
  [ -x "$dir/bin/py-spy" ] && return 0
  log "Installing py-spy $PYSPY_VERSION into $dir (a measuring tool, for the profiles)"
  rm -rf "$dir.tmp" && mkdir -p "$(dirname "$dir")"
  "$(venv_app)/bin/python" -m pip install --quiet --no-deps --target "$dir.tmp" \
    "py-spy==$PYSPY_VERSION" && [ -x "$dir.tmp/bin/py-spy" ] && mv "$dir.tmp" "$dir"
}
if [ -z "${ATELIER_BENCH_PYSPY+set}" ]; then
  if install_pyspy; then
    export ATELIER_BENCH_PYSPY="$(pyspy_bin)"
  else
    log "py-spy did not install: the full-stack benchmark runs without profiles"
  fi
fi
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
PYTHONPATH="$ROOT" "$(venv_app)/bin/python" -m benchmarks "$@"
