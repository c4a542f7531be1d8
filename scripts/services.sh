# Throwaway PostgreSQL and Redis servers for the test suite, on private ports.
# Source after lib.sh; call start_test_services. Servers named by
# ATELIER_TEST_DATABASE_URL / ATELIER_TEST_REDIS_URL are used instead when set.

_free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
_as_pg_user() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

_apt_install() {
  command -v apt-get >/dev/null || die "$1 is needed for the tests; install it (Debian package '$1')."
  local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  log "Installing Debian's $1 for the tests"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$1" >/dev/null
}

_pg_bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

start_test_postgres() {
  [ -n "$(_pg_bindir)" ] || _apt_install postgresql
  local bindir; bindir="$(_pg_bindir)"
  [ -x "$bindir/initdb" ] || die "PostgreSQL's initdb was not found after installing postgresql"
  TEST_PG_DIR="$(mktemp -d /tmp/atelier-pg.XXXXXX)"
  local port; port="$(_free_port)"
  [ "$(id -u)" -eq 0 ] && chown postgres "$TEST_PG_DIR"
  _as_pg_user "$bindir/initdb" -D "$TEST_PG_DIR/data" -A trust -U postgres >/dev/null
  _as_pg_user "$bindir/pg_ctl" -D "$TEST_PG_DIR/data" -l "$TEST_PG_DIR/log" -w start \
    -o "-p $port -k $TEST_PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off" >/dev/null \
    || die "the throwaway PostgreSQL did not start (log: $TEST_PG_DIR/log)"
  TEST_PG_BINDIR="$bindir"
  export ATELIER_TEST_DATABASE_URL="postgresql://postgres@127.0.0.1:$port/postgres"
  log "Started a throwaway PostgreSQL on port $port"
}

start_test_redis() {
  command -v redis-server >/dev/null || _apt_install redis-server
  TEST_REDIS_DIR="$(mktemp -d /tmp/atelier-redis.XXXXXX)"
  local port; port="$(_free_port)"
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
    --dir "$TEST_REDIS_DIR" --pidfile "$TEST_REDIS_DIR/redis.pid" \
    --logfile "$TEST_REDIS_DIR/redis.log" >/dev/null || die "the throwaway Redis did not start"
  export ATELIER_TEST_REDIS_URL="redis://127.0.0.1:$port/0"
  log "Started a throwaway Redis on port $port"
}

stop_test_services() {
  if [ -n "${TEST_PG_DIR:-}" ]; then
    _as_pg_user "$TEST_PG_BINDIR/pg_ctl" -D "$TEST_PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$TEST_PG_DIR"
  fi
  if [ -n "${TEST_REDIS_DIR:-}" ]; then
    [ -f "$TEST_REDIS_DIR/redis.pid" ] && kill "$(cat "$TEST_REDIS_DIR/redis.pid")" 2>/dev/null || true
    rm -rf "$TEST_REDIS_DIR"
  fi
}

start_test_services() {
  trap stop_test_services EXIT
  [ -n "${ATELIER_TEST_DATABASE_URL:-}" ] || start_test_postgres
  [ -n "${ATELIER_TEST_REDIS_URL:-}" ] || start_test_redis
}
