#!/usr/bin/env bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bash "$ROOT/scripts/setup.sh" venvs
cd "$ROOT"
"$(venv_app)/bin/ruff" check commerce_core knowledge channels actions tests scripts benchmarks
(cd bot && "$(venv_rasa)/bin/rasa" data validate --data data ../nlu_data --domain domain \
   --config config.yml --fail-on-warnings)
