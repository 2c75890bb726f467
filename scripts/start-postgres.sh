#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster on loopback for the store's tests and benchmarks, and prints
# its URL (postgres://switchyard@127.0.0.1:PORT/switchyard) on stdout. Idempotent: a cluster that is
# already running is reused. Exports nothing; capture the output:
#   export SWITCHYARD_TEST_POSTGRES="$(bash scripts/start-postgres.sh)"
# `--stop` stops it. Needs the server binaries (Debian: apt-get install -y postgresql). PostgreSQL
# refuses to run as root: as root, the cluster runs as the `postgres` user (created by the Debian
# package; otherwise a system user `switchyard-pg` is created).
# Environment: SWITCHYARD_PG_PORT (default 55432), SWITCHYARD_PG_DIR (default $TMPDIR/switchyard-pg-PORT).
set -euo pipefail
PORT="${SWITCHYARD_PG_PORT:-55432}"
DIR="${SWITCHYARD_PG_DIR:-${TMPDIR:-/tmp}/switchyard-pg-${PORT}}"
DATA="$DIR/data"
NAME=switchyard

fail() { echo "start-postgres: $*" >&2; exit 1; }

BIN=""
for candidate in "$(pg_config --bindir 2>/dev/null || true)" $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r) \
  "$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")"; do
  if [ -n "$candidate" ] && [ -x "$candidate/initdb" ] && [ -x "$candidate/pg_ctl" ] && [ -x "$candidate/postgres" ]; then
    BIN="$candidate"
    break
  fi
done
[ -n "$BIN" ] || fail "no PostgreSQL server binaries found (Debian: apt-get install -y postgresql)"
PSQL="$BIN/psql"
[ -x "$PSQL" ] || PSQL="$(command -v psql || true)"
[ -n "$PSQL" ] || fail "psql not found"

RUNAS=()
if [ "$(id -u)" = 0 ]; then
  OWNER=postgres
  if ! id "$OWNER" >/dev/null 2>&1; then
    OWNER=switchyard-pg
    id "$OWNER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$OWNER"
  fi
  RUNAS=(runuser -u "$OWNER" --)
  mkdir -p "$DIR"
  chown "$OWNER" "$DIR"
  chmod 700 "$DIR"
else
  mkdir -p "$DIR"
  chmod 700 "$DIR"
fi
as_owner() { if [ ${#RUNAS[@]} -gt 0 ]; then "${RUNAS[@]}" "$@"; else "$@"; fi; }

# Concurrent callers (parallel test files) wait for each other instead of racing initdb.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$DIR.lock"
  flock -w 120 9 || fail "timed out waiting for another start-postgres.sh"
fi

if [ "${1:-}" = "--stop" ]; then
  if [ -s "$DATA/PG_VERSION" ] && as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    as_owner "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
  fi
  exit 0
fi

if [ ! -s "$DATA/PG_VERSION" ]; then
  as_owner "$BIN/initdb" -D "$DATA" -U "$NAME" --auth=trust --encoding=UTF8 --no-locale >"$DIR/initdb.log" 2>&1 \
    || { cat "$DIR/initdb.log" >&2; fail "initdb failed"; }
fi

if ! as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
  as_owner "$BIN/pg_ctl" -D "$DATA" -l "$DIR/server.log" -w -t 60 \
    -o "-k $DIR -p $PORT -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null 9>&- \
    || { tail -n 20 "$DIR/server.log" >&2 || true; fail "the server did not start (port $PORT in use?)"; }
fi

psql_q() { "$PSQL" -X -q -h 127.0.0.1 -p "$PORT" -U "$NAME" -d postgres -tAc "$1"; }
for _ in $(seq 1 50); do
  psql_q "SELECT 1" >/dev/null 2>&1 && break
  sleep 0.2
done
if [ "$(psql_q "SELECT 1 FROM pg_database WHERE datname = '$NAME'")" != "1" ]; then
  psql_q "CREATE DATABASE $NAME" >/dev/null
fi
echo "postgres://$NAME@127.0.0.1:$PORT/$NAME"
