#!/usr/bin/env bash
# Start the whole service with the demo shop: Rasa (:5005), the action server
# (:5055) and the app (:8000). Ctrl-C stops all of them.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

APP_PORT="${ATELIER_APP_PORT:-8000}"
RASA_PORT="${ATELIER_RASA_PORT:-5005}"
ACTIONS_PORT="${ATELIER_ACTIONS_PORT:-5055}"

bash "$ROOT/scripts/setup.sh" all
APP_VENV="$(venv_app)"; RASA_VENV="$(venv_rasa)"; MODEL="$(model_dir)/model.tar.gz"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export ATELIER_API_URL="${ATELIER_API_URL:-http://127.0.0.1:$APP_PORT/api}"
export ATELIER_RASA_URL="${ATELIER_RASA_URL:-http://127.0.0.1:$RASA_PORT}"
export ATELIER_ACTION_ENDPOINT_URL="${ATELIER_ACTION_ENDPOINT_URL:-http://127.0.0.1:$ACTIONS_PORT/webhook}"
export ATELIER_PUBLIC_URL="${ATELIER_PUBLIC_URL:-http://localhost:$APP_PORT}"

for port in "$APP_PORT" "$RASA_PORT" "$ACTIONS_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    die "port $port is already in use (is Atelier already running?). Stop that process or set ATELIER_APP_PORT / ATELIER_RASA_PORT / ATELIER_ACTIONS_PORT."
  fi
done

pids=()
stop() {  # stop EXIT_CODE
  trap - INT TERM EXIT
  log "Stopping Atelier"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  exit "$1"
}
trap 'stop 0' INT TERM
trap 'stop $?' EXIT

start() {  # start NAME CMD...
  local name="$1"; shift
  ( cd "$ROOT" && exec "$@" ) > >(sed -u "s/^/[$name] /") 2>&1 &
  pids+=("$!")
}

# Rasa takes longest to start (TensorFlow), so it starts first, while the database
# and the search index are brought up to date.
# Rasa's HTTP API (trackers, /status) wants a token; the app gets the same one. Shoppers
# talk to the gateway, never to Rasa, so Rasa serves no CORS.
export ATELIER_RASA_API_TOKEN="${ATELIER_RASA_API_TOKEN:-$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')}"
log "Starting the Rasa server and the action server"
# (bot/ on its path: the NLU pipeline's own components, bot/atelier_nlu)
start rasa env PYTHONPATH="$ROOT/bot:$PYTHONPATH" "$RASA_VENV/bin/rasa" run --enable-api --auth-token "$ATELIER_RASA_API_TOKEN" \
  -i "${ATELIER_APP_HOST:-127.0.0.1}" --port "$RASA_PORT" --model "$MODEL" \
  --endpoints bot/endpoints.yml --credentials bot/credentials.yml
# rasa-sdk listens on every interface unless SANIC_HOST says otherwise; only Rasa calls it.
start actions env SANIC_HOST="${ATELIER_APP_HOST:-127.0.0.1}" \
  "$APP_VENV/bin/python" -m rasa_sdk --actions actions --port "$ACTIONS_PORT"

log "Database: migrating and loading the demo shop"
(cd "$ROOT" && "$APP_VENV/bin/python" -m commerce_core load-demo --if-empty)
log "Search index: checking (built on first run, about half a minute)"
(cd "$ROOT" && "$APP_VENV/bin/python" -m knowledge build-index)

log "Starting the app"
start app "$APP_VENV/bin/python" -m uvicorn channels.app:create_app --factory \
  --host "${ATELIER_APP_HOST:-127.0.0.1}" --port "$APP_PORT"

wait_for() {  # wait_for NAME URL SECONDS
  local name="$1" url="$2" limit="$3" waited=0
  until "$APP_VENV/bin/python" -c "import sys, httpx; sys.exit(httpx.get('$url', timeout=2).status_code != 200)" 2>/dev/null; do
    for pid in "${pids[@]}"; do
      kill -0 "$pid" 2>/dev/null || die "a component exited during start-up (see the log above)"
    done
    sleep 1; waited=$((waited + 1))
    [ "$waited" -ge "$limit" ] && die "$name did not answer $url within ${limit}s"
  done
  log "$name is up (${waited}s)"
}
wait_for app "http://127.0.0.1:$APP_PORT/health" 120
wait_for "action server" "http://127.0.0.1:$ACTIONS_PORT/health" 60
wait_for "Rasa server" "http://127.0.0.1:$RASA_PORT/status?token=$ATELIER_RASA_API_TOKEN" 180
# Telegram in polling mode: the worker fetches the bot's updates (no public address
# needed). In webhook mode the app receives them at /telegram/webhook instead.
if [ -n "${ATELIER_TELEGRAM_TOKEN:-}" ] && [ "${ATELIER_TELEGRAM_MODE:-polling}" = polling ]; then
  log "Starting the Telegram worker (polling)"
  start telegram "$APP_VENV/bin/python" -m channels.telegram
fi

cat <<MSG

  Atelier is running with the demo shop.
    Shop page with the chat widget:  http://localhost:$APP_PORT/
    Chat API (scripted clients):     POST http://localhost:$APP_PORT/api/chat
    Commerce API docs:               http://localhost:$APP_PORT/docs
    Rasa server:                     http://localhost:$RASA_PORT/
    Action server:                   http://localhost:$ACTIONS_PORT/health
  Press Ctrl-C to stop.

MSG
wait -n "${pids[@]}" || true
log "a component stopped; shutting the others down"
stop 1
