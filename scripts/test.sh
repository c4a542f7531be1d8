#!/usr/bin/env bash
# Set up if needed and run every test. Extra arguments go to pytest.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$ROOT/scripts/services.sh"

bash "$ROOT/scripts/setup.sh" all browser
APP_VENV="$(venv_app)"; RASA_VENV="$(venv_rasa)"
export ATELIER_TEST_RASA_BIN="$RASA_VENV/bin/rasa"
export ATELIER_TEST_RASA_MODEL="$(model_dir)/model.tar.gz"
export ATELIER_TEST_NODE_MODULES="$(node_modules_dir)"  # puppeteer-core for the Firefox test
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
start_test_services

# One worker per core, at most four (each end-to-end worker starts its own stack, Rasa
# alone near 1 GB): a file's tests stay together on one worker, so module fixtures start
# once. -n in the arguments (-n 0: no workers) chooses otherwise.
cores="$(nproc 2>/dev/null || echo 1)"
workers=(-n "$(( cores > 4 ? 4 : cores ))" --dist loadfile)
for arg in "$@"; do
  case "$arg" in -n*|--numprocesses*) workers=() ;; esac
done

cd "$ROOT"
set +e
"$APP_VENV/bin/python" -m pytest "${workers[@]}" "$@"
status=$?
set -e
exit "$status"
