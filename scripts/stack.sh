#!/usr/bin/env bash
# stack.sh up|down|status — the local mdlc stack as background processes: a Temporal server with its web UI,
# localaws and the workers. State and logs live in $MDLC_DATA_DIR (default .data); ports are configurable.
# `up` is idempotent: a process that is already up is kept.
#
# MDLC_TEMPORAL=dev (the default) runs the Temporal CLI's dev server (SQLite in $MDLC_DATA_DIR/temporal.db);
# MDLC_TEMPORAL=cluster runs Temporal's own server on PostgreSQL (deploy/temporal/cluster.sh; the database in
# $MDLC_DATA_DIR/cluster, PostgreSQL on 127.0.0.1:$MDLC_PG_PORT, default 5433) with the web UI server.
# Keep one kind per data directory. MDLC_WORKERS=N starts N workers on the one task queue (metrics ports
# $MDLC_METRICS_PORT, +1, …).
set -euo pipefail
cd "$(dirname "$0")/.."

DATA_DIR=${MDLC_DATA_DIR:-.data}
TEMPORAL_PORT=${MDLC_TEMPORAL_PORT:-7233}
UI_PORT=${MDLC_UI_PORT:-8233}
LOCALAWS_PORT=${MDLC_LOCALAWS_PORT:-4570}
METRICS_PORT=${MDLC_METRICS_PORT:-9464}
PG_PORT=${MDLC_PG_PORT:-5433}
TEMPORAL_BIN=${MDLC_TEMPORAL_BIN:-}
BACKEND=${MDLC_TEMPORAL:-dev}
WORKERS=${MDLC_WORKERS:-1}
BIN=.bin
case "$BACKEND" in dev | cluster) ;; *) echo "MDLC_TEMPORAL is '${BACKEND:0:40}': use dev (the default) or cluster" >&2; exit 2 ;; esac
[[ "$WORKERS" =~ ^[1-9][0-9]?$ ]] || { echo "MDLC_WORKERS is '${WORKERS:0:40}': give a number of workers from 1 to 99" >&2; exit 2; }
mkdir -p "$DATA_DIR/logs" "$DATA_DIR/pids" "$BIN"

log() { printf '%s\n' "$*" >&2; }

alive() { # alive NAME: the process recorded for NAME is running
  local f="$DATA_DIR/pids/$1.pid"
  [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null
}

wait_up() { # wait_up NAME URL SECONDS: NAME's process answers at URL (and is not someone else's on that port)
  local i
  for ((i = 0; i < $3 * 5; i++)); do
    if ! alive "$1"; then
      log "$1 exited; see $DATA_DIR/logs/$1.log (is its port taken? set MDLC_*_PORT)"
      tail -n 3 "$DATA_DIR/logs/$1.log" >&2 || true
      return 1
    fi
    if curl -fsS -o /dev/null "$2" 2>/dev/null; then
      sleep 0.5 # a process that lost its port to another one exits right after binding fails
      if alive "$1"; then return 0; fi
    fi
    sleep 0.2
  done
  log "$1 did not come up at $2; see $DATA_DIR/logs/$1.log"
  return 1
}

start() { # start NAME CMD...: run CMD in the background with its log and pid file, unless already alive
  local name=$1; shift
  if alive "$name"; then log "$name already running (pid $(cat "$DATA_DIR/pids/$name.pid"))"; return 0; fi
  nohup setsid "$@" >>"$DATA_DIR/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$DATA_DIR/pids/$name.pid"
  log "started $name (pid $!, log $DATA_DIR/logs/$name.log)"
}

up() {
  [ -n "$TEMPORAL_BIN" ] || TEMPORAL_BIN=$(make -s temporal-path)
  log "building localaws, worker and starter into $BIN"
  go build -o "$BIN/" ./localaws/cmd/localaws ./worker ./starter
  if [ "$BACKEND" = cluster ]; then
    if [ -f "$DATA_DIR/temporal.db" ]; then log "note: $DATA_DIR also holds a dev server's database; the cluster keeps its own in $DATA_DIR/cluster"; fi
    local cluster=deploy/temporal/cluster.sh
    export TEMPORAL_ADDRESS=127.0.0.1:$TEMPORAL_PORT MDLC_UI_PORT=$UI_PORT MDLC_TEMPORAL_BIN=$TEMPORAL_BIN
    $cluster init "$DATA_DIR/cluster"
    start postgres $cluster postgres "$DATA_DIR/cluster" "$PG_PORT"
    $cluster schema "$DATA_DIR/cluster" "$PG_PORT"
    start temporal $cluster server "$DATA_DIR/cluster" "$PG_PORT"
    $cluster namespace
    start ui $cluster ui
  else
    start temporal "$TEMPORAL_BIN" server start-dev --ip 127.0.0.1 --port "$TEMPORAL_PORT" --ui-port "$UI_PORT" \
      --db-filename "$DATA_DIR/temporal.db" $(grep -v '^#' deploy/temporal/search-attributes | sed 's/^/--search-attribute /') \
      --log-level warn --dynamic-config-value system.enableActivityEagerExecution=true
  fi
  wait_up "$( [ "$BACKEND" = cluster ] && echo ui || echo temporal )" "http://127.0.0.1:$UI_PORT/api/v1/namespaces/default" 60
  start localaws "$BIN/localaws" --addr "127.0.0.1:$LOCALAWS_PORT" --data-dir "$DATA_DIR/localaws"
  wait_up localaws "http://127.0.0.1:$LOCALAWS_PORT/_localaws/health" 30
  local i name
  for ((i = 0; i < WORKERS; i++)); do
    name=worker; [ "$i" = 0 ] || name=worker$((i + 1))
    start "$name" "$BIN/worker" --temporal-address "127.0.0.1:$TEMPORAL_PORT" \
      --endpoint-url "http://127.0.0.1:$LOCALAWS_PORT" --metrics-addr "127.0.0.1:$((METRICS_PORT + i))"
    wait_up "$name" "http://127.0.0.1:$((METRICS_PORT + i))/metrics" 30
  done
  cat <<MSG
Local stack is up ($BACKEND Temporal server, $WORKERS worker(s)):
  Temporal web UI   http://127.0.0.1:$UI_PORT
  Temporal gRPC     127.0.0.1:$TEMPORAL_PORT
  localaws          http://127.0.0.1:$LOCALAWS_PORT   (AWS_ENDPOINT_URL for SDKs; aws --endpoint-url for the CLI)
  worker metrics    http://127.0.0.1:$METRICS_PORT/metrics$( [ "$WORKERS" = 1 ] || echo " … :$((METRICS_PORT + WORKERS - 1))" )
Stop it with: make down
MSG
}

# every recorded process, workers first and PostgreSQL last
recorded() {
  local f
  for f in "$DATA_DIR"/pids/worker*.pid; do [ -e "$f" ] && basename "$f" .pid; done
  echo localaws ui temporal postgres
}

down() {
  local name
  for name in $(recorded); do
    if alive "$name"; then
      local pid; pid=$(cat "$DATA_DIR/pids/$name.pid")
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 75); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -KILL -- "-$pid" 2>/dev/null || true
      log "stopped $name"
    fi
    rm -f "$DATA_DIR/pids/$name.pid"
  done
}

status() {
  local name
  for name in $(recorded); do
    if alive "$name"; then echo "$name: running (pid $(cat "$DATA_DIR/pids/$name.pid"))"
    elif [ -f "$DATA_DIR/pids/$name.pid" ] || [[ "$name" == worker* ]] || [ "$name" = localaws ] || [ "$name" = temporal ]; then echo "$name: stopped"; fi
  done
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
