#!/usr/bin/env bash
# Start the whole service with the demo shop: Rasa (:5005, and :5006... for more than one
# process), the action server (:5055) and the app (:8000), kept running by
# scripts/supervise.py. Ctrl-C stops all of them.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

APP_PORT="${ATELIER_APP_PORT:-8000}"
RASA_PORT="${ATELIER_RASA_PORT:-5005}"
ACTIONS_PORT="${ATELIER_ACTIONS_PORT:-5055}"
# Rasa understands one message at a time per process: several processes use several cores.
# They share the conversations' store; the gateway sends each conversation to one of them.
RASA_PROCESSES="${ATELIER_RASA_PROCESSES:-2}"
[[ "$RASA_PROCESSES" =~ ^[1-9][0-9]?$ ]] \
  || die "ATELIER_RASA_PROCESSES must be a number of processes from 1 to 99, not '$RASA_PROCESSES'"
RASA_PORTS=(); for ((i = 0; i < RASA_PROCESSES; i++)); do RASA_PORTS+=("$((RASA_PORT + i))"); done

bash "$ROOT/scripts/setup.sh" all
APP_VENV="$(venv_app)"; RASA_VENV="$(venv_rasa)"; MODEL="$(model_dir)/model.tar.gz"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export ATELIER_API_URL="${ATELIER_API_URL:-http://127.0.0.1:$APP_PORT/api}"
rasa_urls=""; for port in "${RASA_PORTS[@]}"; do rasa_urls+="${rasa_urls:+,}http://127.0.0.1:$port"; done
export ATELIER_RASA_URL="${ATELIER_RASA_URL:-$rasa_urls}"
# One address for the action server: Rasa calls its webhook, the gateway checks its health
# (the gateway derives the health URL from the webhook's when only that one is set).
if [ -z "${ATELIER_ACTION_ENDPOINT_URL:-}" ]; then
  export ATELIER_ACTION_ENDPOINT_URL="http://127.0.0.1:$ACTIONS_PORT/webhook"
  export ATELIER_ACTION_SERVER_URL="${ATELIER_ACTION_SERVER_URL:-http://127.0.0.1:$ACTIONS_PORT}"
fi
export ATELIER_PUBLIC_URL="${ATELIER_PUBLIC_URL:-http://localhost:$APP_PORT}"
# The app's SQLite database and Rasa's conversations (bot/endpoints.yml) live here.
export ATELIER_DATA_DIR="${ATELIER_DATA_DIR:-$ROOT/var}"
mkdir -p "$ATELIER_DATA_DIR"

for port in "$APP_PORT" "${RASA_PORTS[@]}" "$ACTIONS_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    die "port $port is already in use (is Atelier already running?). Stop that process or set ATELIER_APP_PORT / ATELIER_RASA_PORT (the first of ATELIER_RASA_PROCESSES ports) / ATELIER_ACTIONS_PORT."
  fi
done

# The supervisor (scripts/supervise.py) carries out this plan: it starts each component in
# a process group of its own, restarts one that dies (its whole group first, so the port
# is free again), prefixes output lines with the component's name, and on Ctrl-C or
# SIGTERM stops every group. One entry per line, as shell words.
plan=""
entry() { plan+="$(printf '%q ' "$@")"$'\n'; }

# Rasa takes longest to start (TensorFlow), so it starts first, while the database
# and the search index are brought up to date.
# Rasa's HTTP API (trackers, /status) wants a token; the app gets the same one. Shoppers
# talk to the gateway, never to Rasa, so Rasa serves no CORS.
export ATELIER_RASA_API_TOKEN="${ATELIER_RASA_API_TOKEN:-$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')}"
# The gateway signs each turn's shopper with it; Rasa's channel and the action server act
# only on that signature.
export ATELIER_IDENTITY_SECRET="${ATELIER_IDENTITY_SECRET:-$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')}"
# The app and the action server log JSON lines, each with the request id of its turn.
LOG_CONFIG="$ROOT/commerce_core/observability/logging.yml"
# Rasa imports its channel, tracker store and NLU components (bot/atelier_nlu) from bot/.
# Its processes share the SQLite conversation store; each keeps the locks of the
# conversations the gateway sends it (always the same ones: channels/rasa_client.py).
for ((i = 0; i < RASA_PROCESSES; i++)); do
  port="${RASA_PORTS[$i]}"; name=rasa; [ "$RASA_PROCESSES" -gt 1 ] && name="rasa-$((i + 1))"
  entry component "$name" "http://127.0.0.1:$port/status?token=$ATELIER_RASA_API_TOKEN" 300 -- \
    env PYTHONPATH="$ROOT/bot:$PYTHONPATH" \
    "$RASA_VENV/bin/rasa" run --enable-api --auth-token "$ATELIER_RASA_API_TOKEN" \
    -i "${ATELIER_APP_HOST:-127.0.0.1}" --port "$port" --model "$MODEL" \
    --endpoints bot/endpoints.yml --credentials bot/credentials.yml
done
# rasa-sdk listens on every interface unless SANIC_HOST says otherwise; only Rasa calls it.
entry component actions "http://127.0.0.1:$ACTIONS_PORT/health" 90 -- \
  env SANIC_HOST="${ATELIER_APP_HOST:-127.0.0.1}" \
  ATELIER_ACTIONS_METRICS_PORT="${ATELIER_ACTIONS_METRICS_PORT:-5056}" \
  "$APP_VENV/bin/python" -m rasa_sdk --actions actions --port "$ACTIONS_PORT" \
  --logging-config_file "$LOG_CONFIG"
entry step "Database: migrating and loading the demo shop" -- \
  "$APP_VENV/bin/python" -m commerce_core load-demo --if-empty
# The demo shop's owner, to sign in to the back office (README: "The back office").
entry step "Back office: the demo shop's owner account" -- \
  env ATELIER_AGENT_PASSWORD="${ATELIER_DEMO_OWNER_PASSWORD:-atelier demo owner}" \
  "$APP_VENV/bin/python" -m channels create-agent --role owner --if-missing \
  --email owner@atelier.example --name "Shop owner"
entry step "Search index: checking (built on first run, about half a minute)" -- \
  "$APP_VENV/bin/python" -m knowledge build-index
entry component app "http://127.0.0.1:$APP_PORT/health" 180 -- \
  "$APP_VENV/bin/python" -m uvicorn channels.app:create_app --factory \
  --host "${ATELIER_APP_HOST:-127.0.0.1}" --port "$APP_PORT" --log-config "$LOG_CONFIG"
# Telegram in polling mode: the worker fetches the bot's updates (no public address
# needed). In webhook mode the app receives them at /telegram/webhook instead.
if [ -n "${ATELIER_TELEGRAM_TOKEN:-}" ] && [ "${ATELIER_TELEGRAM_MODE:-polling}" = polling ]; then
  entry ready
  entry component telegram - 60 -- "$APP_VENV/bin/python" -m channels.telegram
fi
entry ready "" \
  "  Atelier is running with the demo shop." \
  "    Shop page with the chat widget:  http://localhost:$APP_PORT/" \
  "    Chat API (scripted clients):     POST http://localhost:$APP_PORT/api/chat" \
  "    Back office (owner@atelier.example): http://localhost:$APP_PORT/merchant" \
  "    Commerce API docs:               http://localhost:$APP_PORT/docs" \
  "    Rasa server:                     http://localhost:$RASA_PORT/ ($RASA_PROCESSES process(es) from there on)" \
  "    Action server:                   http://localhost:$ACTIONS_PORT/health" \
  "    Readiness and metrics:           http://localhost:$APP_PORT/ready  /metrics" \
  "  Press Ctrl-C to stop." ""

cd "$ROOT"
exec "$APP_VENV/bin/python" "$ROOT/scripts/supervise.py" <<<"$plan"
