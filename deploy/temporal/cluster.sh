#!/usr/bin/env bash
# cluster.sh — the PostgreSQL-backed Temporal server of the local stack's cluster mode, one step per
# subcommand, shared by scripts/stack.sh (make up MDLC_TEMPORAL=cluster) and internal/stack (tests):
#
#   cluster.sh init DIR               initdb into DIR/postgres (once), with a random password in DIR/pgpass
#   cluster.sh postgres DIR PGPORT    run PostgreSQL on 127.0.0.1:PGPORT (exec; the caller backgrounds it)
#   cluster.sh schema DIR PGPORT      create the two databases, set up and update their schemas (idempotent)
#   cluster.sh server DIR PGPORT      run the Temporal server, config deploy/temporal/server/mdlc.yaml (exec)
#   cluster.sh ui                     run the Temporal web UI server (exec)
#   cluster.sh namespace              the `default` namespace and the search attributes of search-attributes
#
# Ports come from the environment: TEMPORAL_ADDRESS (the frontend, 127.0.0.1:PORT), MDLC_UI_PORT and
# MDLC_CLUSTER_{HISTORY,MATCHING,WORKER}_PORT and MDLC_CLUSTER_{FRONTEND,HISTORY,MATCHING,WORKER}_MEMBERSHIP_PORT
# (the internal services; defaults 7234, 7235, 7239, 6933-6939 as in Temporal's own configs). Tools: the
# pinned builds the Makefile installs, named by MDLC_TEMPORAL_SERVER_BIN, MDLC_TEMPORAL_SQL_TOOL_BIN,
# MDLC_TEMPORAL_UI_BIN and MDLC_TEMPORAL_BIN (the CLI), and PostgreSQL's programs in MDLC_PG_BIN (default: the
# newest /usr/lib/postgresql/*/bin).
#
# initdb and postgres refuse to run as root: as root, PostgreSQL runs as $MDLC_PG_USER (default postgres, the
# user Debian's package creates), which owns DIR/postgres and must be able to reach DIR.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)

die() { printf 'cluster: %s\n' "$*" >&2; exit 1; }

pg_bin() {
  if [ -n "${MDLC_PG_BIN:-}" ]; then echo "$MDLC_PG_BIN"; return; fi
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$d" ] || die "PostgreSQL is not installed: apt-get install postgresql (make deps does), or set MDLC_PG_BIN"
  echo "$d"
}

tool() { # tool VAR NAME: the path in $VAR, or die saying how to get it
  local path=${!1:-}
  [ -n "$path" ] && [ -x "$path" ] || die "no $2 (\$$1 is '${path:0:80}'): run make cluster-deps, or set $1"
  echo "$path"
}

pg_user() { echo "${MDLC_PG_USER:-postgres}"; }

as_pg() { # as_pg CMD...: run CMD as the PostgreSQL user when we are root, as ourselves otherwise
  if [ "$(id -u)" != 0 ]; then exec "$@"; fi
  local u; u=$(pg_user)
  exec setpriv --reuid="$u" --regid="$(id -g "$u")" --clear-groups -- "$@"
}

run_as_pg() { ( as_pg "$@" ); }

frontend_port() {
  local addr=${TEMPORAL_ADDRESS:-127.0.0.1:7233}
  echo "${addr##*:}"
}

init() {
  local dir=$1 pgdata=$1/postgres
  mkdir -p "$dir"
  if [ -f "$pgdata/PG_VERSION" ]; then return 0; fi
  [ -f "$dir/pgpass" ] || (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$dir/pgpass")
  mkdir -p "$pgdata"
  chmod 700 "$pgdata"
  if [ "$(id -u)" = 0 ]; then
    local u; u=$(pg_user)
    id "$u" >/dev/null 2>&1 || die "PostgreSQL cannot run as root and user '$u' does not exist: install postgresql (it creates user postgres) or set MDLC_PG_USER"
    chown "$u:" "$pgdata"
    run_as_pg test -w "$pgdata" ||
      die "user $u (PostgreSQL refuses root) cannot reach $pgdata: make its parent directories searchable (chmod o+x) or set MDLC_DATA_DIR to a directory under one that is"
  fi
  local bin pwfile=$dir/pgpass.initdb
  bin=$(pg_bin)
  # initdb reads the password from a file only the PostgreSQL user can read, removed right after.
  (umask 077; cp "$dir/pgpass" "$pwfile")
  [ "$(id -u)" != 0 ] || chown "$(pg_user):" "$pwfile"
  if ! run_as_pg "$bin/initdb" -D "$pgdata" -U temporal --pwfile="$pwfile" --auth=scram-sha-256 -E UTF8 --locale=C \
    >"$dir/initdb.log" 2>&1; then
    rm -f "$pwfile"
    cat "$dir/initdb.log" >&2
    rm -rf "$pgdata"
    die "initdb failed"
  fi
  rm -f "$pwfile"
}

postgres() {
  local dir=$1 port=$2 bin
  bin=$(pg_bin)
  [ -f "$dir/postgres/PG_VERSION" ] || die "no database in $dir/postgres: run cluster.sh init first"
  # TCP on loopback only; no Unix socket (its path length is limited and nothing here needs it).
  as_pg "$bin/postgres" -D "$dir/postgres" -p "$port" -c listen_addresses=127.0.0.1 -c unix_socket_directories= \
    -c max_connections=100
}

psql_q() { # psql_q DIR PORT DB SQL: one value
  PGPASSWORD=$(cat "$1/pgpass") "$(pg_bin)/psql" -h 127.0.0.1 -p "$2" -U temporal -d "$3" -tAq -c "$4"
}

schema() {
  local dir=$1 port=$2 sqltool i
  sqltool=$(tool MDLC_TEMPORAL_SQL_TOOL_BIN temporal-sql-tool)
  for ((i = 0; i < 300; i++)); do
    "$(pg_bin)/pg_isready" -q -h 127.0.0.1 -p "$port" && break
    sleep 0.2
  done
  "$(pg_bin)/pg_isready" -q -h 127.0.0.1 -p "$port" || die "PostgreSQL did not come up on 127.0.0.1:$port"
  local -a sql=("$sqltool" --plugin postgres12 --ep 127.0.0.1 -p "$port" -u temporal --pw "$(cat "$dir/pgpass")")
  local db name
  for db in temporal:temporal temporal_visibility:visibility; do
    name=${db%%:*}
    if [ -z "$(psql_q "$dir" "$port" postgres "SELECT 1 FROM pg_database WHERE datname = '$name'")" ]; then
      "${sql[@]}" --db "$name" create-database >>"$dir/schema.log" 2>&1 || { tail -n 5 "$dir/schema.log" >&2; die "create database $name failed"; }
    fi
    if [ -z "$(psql_q "$dir" "$port" "$name" "SELECT 1 FROM pg_tables WHERE tablename = 'schema_version'")" ]; then
      "${sql[@]}" --db "$name" setup-schema -v 0.0 >>"$dir/schema.log" 2>&1 || { tail -n 5 "$dir/schema.log" >&2; die "set up the schema of $name failed"; }
    fi
    # To the newest version embedded in this temporal-sql-tool (a no-op when it is there already).
    "${sql[@]}" --db "$name" update-schema --schema-name "postgresql/v12/${db##*:}" >>"$dir/schema.log" 2>&1 ||
      { tail -n 5 "$dir/schema.log" >&2; die "update the schema of $name failed"; }
  done
}

server() {
  local dir=$1 port=$2 bin
  bin=$(tool MDLC_TEMPORAL_SERVER_BIN temporal-server)
  MDLC_PG_PORT=$port MDLC_PG_PASSWORD=$(cat "$dir/pgpass") MDLC_CLUSTER_CONFIG_DIR=$HERE \
    MDLC_CLUSTER_FRONTEND_PORT=$(frontend_port) \
    MDLC_CLUSTER_HISTORY_PORT=${MDLC_CLUSTER_HISTORY_PORT:-7234} \
    MDLC_CLUSTER_MATCHING_PORT=${MDLC_CLUSTER_MATCHING_PORT:-7235} \
    MDLC_CLUSTER_WORKER_PORT=${MDLC_CLUSTER_WORKER_PORT:-7239} \
    MDLC_CLUSTER_FRONTEND_MEMBERSHIP_PORT=${MDLC_CLUSTER_FRONTEND_MEMBERSHIP_PORT:-6933} \
    MDLC_CLUSTER_HISTORY_MEMBERSHIP_PORT=${MDLC_CLUSTER_HISTORY_MEMBERSHIP_PORT:-6934} \
    MDLC_CLUSTER_MATCHING_MEMBERSHIP_PORT=${MDLC_CLUSTER_MATCHING_MEMBERSHIP_PORT:-6935} \
    MDLC_CLUSTER_WORKER_MEMBERSHIP_PORT=${MDLC_CLUSTER_WORKER_MEMBERSHIP_PORT:-6939} \
    exec "$bin" --root / --config "$HERE/server" --env mdlc --allow-no-auth start
}

ui() {
  local bin
  bin=$(tool MDLC_TEMPORAL_UI_BIN temporal-ui-server)
  TEMPORAL_ADDRESS=${TEMPORAL_ADDRESS:-127.0.0.1:7233} MDLC_UI_PORT=${MDLC_UI_PORT:-8233} \
    exec "$bin" --root / --config "$HERE/ui" --env mdlc start
}

namespace() {
  local cli addr=${TEMPORAL_ADDRESS:-127.0.0.1:7233} i
  cli=$(tool MDLC_TEMPORAL_BIN "Temporal CLI")
  for ((i = 0; i < 300; i++)); do
    "$cli" operator cluster health --address "$addr" >/dev/null 2>&1 && break
    sleep 0.2
  done
  "$cli" operator cluster health --address "$addr" >/dev/null || die "Temporal server not serving at $addr"
  if ! "$cli" operator namespace describe --address "$addr" -n default >/dev/null 2>&1; then
    "$cli" operator namespace create --address "$addr" -n default --retention 720h >/dev/null
  fi
  local have name
  for ((i = 0; i < 300; i++)); do
    have=$("$cli" operator search-attribute list --address "$addr" -n default 2>/dev/null) && break
    sleep 0.2 # a new namespace takes a moment to reach every service
  done
  local attr
  for attr in $(grep -v '^#' "$HERE/search-attributes"); do
    name=${attr%%=*}
    if ! grep -qw "$name" <<<"$have"; then
      "$cli" operator search-attribute create --address "$addr" -n default --name "$name" --type "${attr#*=}" >/dev/null
    fi
  done
}

cmd=${1:-}
shift || true
case "$cmd" in
  init) [ $# = 1 ] || die "usage: cluster.sh init DIR"; init "$@" ;;
  postgres) [ $# = 2 ] || die "usage: cluster.sh postgres DIR PGPORT"; postgres "$@" ;;
  schema) [ $# = 2 ] || die "usage: cluster.sh schema DIR PGPORT"; schema "$@" ;;
  server) [ $# = 2 ] || die "usage: cluster.sh server DIR PGPORT"; server "$@" ;;
  ui) ui ;;
  namespace) namespace ;;
  *) die "usage: cluster.sh init|postgres|schema|server|ui|namespace (see the comment at the top)" ;;
esac
