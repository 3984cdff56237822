#!/usr/bin/env bash
# A real Temporal server (not the dev server) on PostgreSQL, for cluster-mode tests and for trying
# cluster mode on one machine. Production sites run Temporal from its official Helm chart, images
# or packages instead (see deploy/README.md); this script builds the same server from its Go module.
#
#   scripts/temporal-cluster.sh build
#       Builds the server and its SQL schema tool once per version into
#       .tools/temporal-server/<version>/bin/ (git-ignored); later calls return at once.
#   scripts/temporal-cluster.sh start DIR [--port P] [--postgres-url URL]
#       Starts PostgreSQL (a private cluster in DIR/pg, on a free loopback port, unless
#       --postgres-url or TEMPORAL_POSTGRES_* name an existing server), creates and migrates the
#       `temporal` and `temporal_visibility` databases, starts the server (frontend on P, else the
#       port DIR had before, else a free one; log in DIR/temporal-server.log), registers the
#       namespace `default` and DLRN's search attributes, then prints
#       `TEMPORAL_ADDRESS=127.0.0.1:PORT` and writes that line to DIR/env. Calling it again while
#       the server runs only checks the registrations and prints the line again.
#   scripts/temporal-cluster.sh stop DIR
#       Stops the server and the private PostgreSQL (never an external one).
#   scripts/temporal-cluster.sh status DIR
#       Exits 0 and prints the address when the server in DIR answers, 1 otherwise.
#   scripts/temporal-cluster.sh test [AVA ARGS...]
#       build + start in a temporary folder + `npm run ava -- ARGS` against it
#       (DLRN_TEST_TEMPORAL_ADDRESS) + stop; exits with the tests' status.
#
# Existing PostgreSQL: --postgres-url postgres://USER:PASSWORD@HOST:PORT, or the environment
# variables TEMPORAL_POSTGRES_URL, or TEMPORAL_POSTGRES_HOST (with _PORT, default 5432, _USER,
# default postgres, _PASSWORD, default empty). The user must be allowed to create databases (or
# the two databases must exist already).
#
# numHistoryShards is 4 and can NEVER change for a given pair of databases: Temporal assigns every
# workflow to a shard by hashing its id modulo that number when the cluster is first created.
# A production site picks its number once (for example 512) before the first start.
# Membership ports are chosen below 32768: the PostgreSQL schema stores them as smallint.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SERVER_VERSION="v1.31.2"
SERVER_MODULE="go.temporal.io/server"
NUM_HISTORY_SHARDS=4
NAMESPACE="default"
# DLRN's custom search attributes, all Keyword (lib/domain/temporal-names.ts).
SEARCH_ATTRIBUTES=(DlrnProject DlrnCommitHash DlrnDistroHash DlrnComponent DlrnStatus)
BIN_DIR="$ROOT/.tools/temporal-server/$SERVER_VERSION/bin"
SERVER_BIN="$BIN_DIR/server"
SQL_TOOL="$BIN_DIR/sql"
TEMPORAL_CLI="${TEMPORAL_CLI:-$ROOT/.tools/venv/bin/temporal}"
GO="${GO:-}"
if [ -z "$GO" ]; then
  if [ -x /usr/local/go/bin/go ]; then GO=/usr/local/go/bin/go; else GO="$(command -v go || true)"; fi
fi
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON="$(command -v python3)"

log() { printf 'temporal-cluster: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//' >&2
  exit 2
}

# ---------------------------------------------------------------------------------------------
# build

cmd_build() {
  if [ -x "$SERVER_BIN" ] && [ -x "$SQL_TOOL" ]; then
    ln -sf server "$BIN_DIR/temporal-server"
    ln -sf sql "$BIN_DIR/temporal-sql-tool"
    log "server $SERVER_VERSION present in $BIN_DIR"
    return 0
  fi
  [ -n "$GO" ] && [ -x "$GO" ] || die "no Go toolchain (looked for /usr/local/go/bin/go and go on PATH)"
  log "building $SERVER_MODULE/cmd/server and cmd/tools/sql @$SERVER_VERSION with $("$GO" version) (minutes on 2 cores)"
  mkdir -p "$BIN_DIR"
  local started=$SECONDS
  # Installed into a staging folder first so an interrupted build never leaves half a cache.
  local stage="$BIN_DIR.partial"
  rm -rf "$stage"
  mkdir -p "$stage"
  GOTOOLCHAIN=local GOFLAGS="${GOFLAGS:--buildvcs=false}" GOBIN="$stage" \
    "$GO" install "$SERVER_MODULE/cmd/server@$SERVER_VERSION" "$SERVER_MODULE/cmd/tools/sql@$SERVER_VERSION"
  mv "$stage/server" "$SERVER_BIN"
  mv "$stage/sql" "$SQL_TOOL"
  rmdir "$stage"
  # Friendlier names for the same binaries.
  ln -sf server "$BIN_DIR/temporal-server"
  ln -sf sql "$BIN_DIR/temporal-sql-tool"
  log "built in $((SECONDS - started)) s: $("$SERVER_BIN" --version)"
}

# ---------------------------------------------------------------------------------------------
# helpers

# free_ports N [EXCLUDED...]: N distinct loopback TCP ports that nothing listens on now, all
# below 32768: Temporal's PostgreSQL schema stores membership ports in a smallint column
# (cluster_membership.rpc_port), so the kernel's ephemeral ports (32768 and up) cannot be used.
free_ports() {
  "$PYTHON" - "$@" <<'PY'
import random, socket, sys
n, excluded = int(sys.argv[1]), {int(p) for p in sys.argv[2:]}
held, ports = [], []
candidates = [p for p in range(20000, 32768) if p not in excluded]
random.shuffle(candidates)
for port in candidates:
    if len(ports) == n:
        break
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        s.close()
        continue
    held.append(s)
    ports.append(port)
if len(ports) < n:
    sys.exit("no free ports between 20000 and 32767")
print(" ".join(map(str, ports)))
for s in held:
    s.close()
PY
}

port_in_use() {
  "$PYTHON" - "$1" <<'PY'
import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(0)
sys.exit(1)
PY
}

# Reads KEY from DIR/state (KEY=VALUE lines written by this script).
state_get() {
  local file="$1/state" key="$2"
  [ -f "$file" ] || return 0
  sed -n "s/^$key=//p" "$file" | tail -n 1
}

pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

yaml_quote() { printf "'%s'" "${1//\'/\'\'}"; }

pg_bin_dir() {
  local version
  # The newest installed major version.
  for version in $(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -nr); do
    if [ -x "/usr/lib/postgresql/$version/bin/postgres" ] && [ -x "/usr/lib/postgresql/$version/bin/initdb" ]; then
      echo "/usr/lib/postgresql/$version/bin"
      return 0
    fi
  done
  die "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/postgres); run scripts/bootstrap.sh"
}

# as_pg CMD...: PostgreSQL refuses to run as root, so as root its cluster belongs to `postgres`.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

health() {
  "$TEMPORAL_CLI" operator cluster health --address "$1" 2>/dev/null | grep -q SERVING
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL: a private cluster in DIR/pg, or an existing server

PG_HOST="" PG_PORT="" PG_USER="" PG_PASSWORD="" PG_MODE=""

external_postgres() {
  local url="$1"
  if [ -n "$url" ]; then
    local parsed
    parsed="$("$PYTHON" - "$url" <<'PY'
import sys
from urllib.parse import urlsplit, unquote
u = urlsplit(sys.argv[1])
if u.scheme not in ("postgres", "postgresql") or not u.hostname:
    sys.exit("not a postgres://USER:PASSWORD@HOST:PORT url")
print(u.hostname)
print(u.port or 5432)
print(unquote(u.username or "postgres"))
print(unquote(u.password or ""))
PY
)" || die "--postgres-url: expected postgres://USER:PASSWORD@HOST:PORT"
    PG_HOST="$(sed -n 1p <<<"$parsed")"
    PG_PORT="$(sed -n 2p <<<"$parsed")"
    PG_USER="$(sed -n 3p <<<"$parsed")"
    PG_PASSWORD="$(sed -n 4p <<<"$parsed")"
  else
    PG_HOST="$TEMPORAL_POSTGRES_HOST"
    PG_PORT="${TEMPORAL_POSTGRES_PORT:-5432}"
    PG_USER="${TEMPORAL_POSTGRES_USER:-postgres}"
    PG_PASSWORD="${TEMPORAL_POSTGRES_PASSWORD:-}"
  fi
  PG_MODE=external
  log "using the existing PostgreSQL at $PG_HOST:$PG_PORT as $PG_USER"
}

private_postgres() {
  local dir="$1" bin pgdir data port
  bin="$(pg_bin_dir)"
  pgdir="$dir/pg"
  data="$pgdir/data"
  mkdir -p "$pgdir"
  if [ "$(id -u)" = 0 ]; then
    chown postgres:postgres "$pgdir"
    runuser -u postgres -- test -w "$pgdir" \
      || die "the postgres user cannot reach $pgdir; give every parent folder of $dir o+x (or choose a folder under /tmp)"
  fi
  if [ ! -f "$data/PG_VERSION" ]; then
    log "initdb $data ($("$bin/postgres" --version))"
    as_pg "$bin/initdb" -D "$data" -U temporal --auth=trust --encoding=UTF8 --locale=C >"$pgdir/initdb.log" 2>&1 \
      || { cat "$pgdir/initdb.log" >&2; die "initdb failed"; }
    # Loopback TCP only (no Unix socket: DIR may be too long a path for one); Temporal's four
    # services hold up to ~90 connections with the maxConns below. This cluster is for tests and
    # trials: commits are not flushed one by one (a crash loses the last moment, never corrupts).
    as_pg tee -a "$data/postgresql.conf" >/dev/null <<'CONF'

# temporal-cluster.sh
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 200
synchronous_commit = off
CONF
  fi
  PG_HOST=127.0.0.1 PG_USER=temporal PG_PASSWORD="" PG_MODE=private
  if as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    port="$(state_get "$dir" pg_port)"
    [ -n "$port" ] || die "PostgreSQL runs in $data but $dir/state has no port; run stop first"
    log "PostgreSQL already running on 127.0.0.1:$port"
  else
    port="$(state_get "$dir" pg_port)"
    if [ -z "$port" ] || port_in_use "$port"; then port="$(free_ports 1)"; fi
    log "starting PostgreSQL on 127.0.0.1:$port (log $pgdir/postgres.log)"
    as_pg "$bin/pg_ctl" -D "$data" -l "$pgdir/postgres.log" -o "-p $port" -w -t 60 start >/dev/null \
      || { tail -n 20 "$pgdir/postgres.log" >&2 || true; die "PostgreSQL did not start"; }
  fi
  PG_PORT="$port"
}

# sql_tool DB ARGS...: the schema tool against database DB (password through the environment).
sql_tool() {
  local db="$1"
  shift
  SQL_PASSWORD="$PG_PASSWORD" "$SQL_TOOL" --endpoint "$PG_HOST" --port "$PG_PORT" --user "$PG_USER" \
    --plugin postgres12 --database "$db" "$@"
}

setup_database() {
  local db="$1" schema="$2" out versioned
  # create-database succeeds when the database exists already (the postgres12 plugin treats
  # "duplicate database" as success).
  out="$(sql_tool "$db" create-database 2>&1)" || { printf '%s\n' "$out" >&2; die "could not create database $db"; }
  # setup-schema -v 0.0 only creates the version tables (idempotent); update-schema applies every
  # versioned step newer than the database's version, from the module's schema folder.
  out="$(sql_tool "$db" setup-schema -v 0.0 2>&1)" || { printf '%s\n' "$out" >&2; die "setup-schema $db failed"; }
  versioned="$( ([ -n "$GO" ] && "$GO" env GOMODCACHE) 2>/dev/null || true)"
  versioned="$versioned/$SERVER_MODULE@$SERVER_VERSION/schema/postgresql/v12/$schema/versioned"
  if [ -d "$versioned" ]; then
    out="$(sql_tool "$db" update-schema -d "$versioned" 2>&1)" || { printf '%s\n' "$out" >&2; die "update-schema $db failed"; }
  else
    # The module cache was cleaned after the build: the tool embeds the same schema.
    out="$(sql_tool "$db" update-schema --schema-name "postgresql/v12/$schema" 2>&1)" \
      || { printf '%s\n' "$out" >&2; die "update-schema $db failed"; }
  fi
  log "database $db ready, schema up to date ($schema)"
}

# ---------------------------------------------------------------------------------------------
# server configuration

write_server_config() {
  local dir="$1" frontend="$2" frontend_m="$3" history="$4" history_m="$5" matching="$6" matching_m="$7" \
    worker="$8" worker_m="$9" metrics="${10}" file="$1/temporal-server.yaml"
  local store
  {
    cat <<EOF
# Written by scripts/temporal-cluster.sh; rewritten on every start (ports may change).
# numHistoryShards can never change once the databases exist.
log:
  stdout: true
  level: info

persistence:
  numHistoryShards: $NUM_HISTORY_SHARDS
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  datastores:
EOF
    for store in default:temporal:20 visibility:temporal_visibility:10; do
      IFS=: read -r name db conns <<<"$store"
      cat <<EOF
    postgres-$name:
      sql:
        pluginName: postgres12
        databaseName: $db
        connectAddr: $(yaml_quote "$PG_HOST:$PG_PORT")
        connectProtocol: tcp
        user: $(yaml_quote "$PG_USER")
        password: $(yaml_quote "$PG_PASSWORD")
        maxConns: $conns
        maxIdleConns: $conns
        maxConnLifetime: 1h
EOF
    done
    cat <<EOF

global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1
  metrics:
    prometheus:
      framework: tally
      timerType: histogram
      listenAddress: 127.0.0.1:$metrics

services:
  frontend:
    rpc:
      grpcPort: $frontend
      membershipPort: $frontend_m
      bindOnLocalHost: true
  history:
    rpc:
      grpcPort: $history
      membershipPort: $history_m
      bindOnLocalHost: true
  matching:
    rpc:
      grpcPort: $matching
      membershipPort: $matching_m
      bindOnLocalHost: true
  worker:
    rpc:
      grpcPort: $worker
      membershipPort: $worker_m
      bindOnLocalHost: true

clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: 127.0.0.1:$frontend

dcRedirectionPolicy:
  policy: noop
EOF
  } >"$file.new"
  chmod 600 "$file.new" # it may hold the database password
  mv "$file.new" "$file"
}

register_namespace_and_attributes() {
  local address="$1" deadline=$((SECONDS + 90)) name listing missing
  if "$TEMPORAL_CLI" operator namespace describe --namespace "$NAMESPACE" --address "$address" >/dev/null 2>&1; then
    log "namespace $NAMESPACE exists"
  else
    "$TEMPORAL_CLI" operator namespace create --namespace "$NAMESPACE" --address "$address" >/dev/null \
      || die "could not create namespace $NAMESPACE"
    log "registered namespace $NAMESPACE"
  fi
  # One attribute per call: the CLI pairs each --name with a --type. A new namespace reaches every
  # service's cache within seconds, so retry until all are listed (creating one that exists is a
  # no-op on the server).
  while :; do
    listing="$("$TEMPORAL_CLI" operator search-attribute list --namespace "$NAMESPACE" --address "$address" 2>/dev/null || true)"
    missing=""
    for name in "${SEARCH_ATTRIBUTES[@]}"; do
      grep -qw "$name" <<<"$listing" || missing+=" $name"
    done
    [ -z "$missing" ] && break
    [ "$SECONDS" -lt "$deadline" ] || die "search attributes not registered within 90 s (missing:$missing)"
    for name in $missing; do
      "$TEMPORAL_CLI" operator search-attribute create --namespace "$NAMESPACE" --address "$address" \
        --name "$name" --type Keyword >/dev/null 2>&1 || true
    done
    sleep 1
  done
  log "search attributes ${SEARCH_ATTRIBUTES[*]} (Keyword) registered in $NAMESPACE"
}

# ---------------------------------------------------------------------------------------------
# start / stop / status

cmd_start() {
  local dir="" port="" url="${TEMPORAL_POSTGRES_URL:-}"
  while [ $# -gt 0 ]; do
    case "$1" in
      --port) port="${2:?--port needs a value}"; shift 2 ;;
      --port=*) port="${1#--port=}"; shift ;;
      --postgres-url) url="${2:?--postgres-url needs a value}"; shift 2 ;;
      --postgres-url=*) url="${1#--postgres-url=}"; shift ;;
      -*) die "start: unknown option $1" ;;
      *) [ -z "$dir" ] || die "start: one DIR only"; dir="$1"; shift ;;
    esac
  done
  [ -n "$dir" ] || usage
  [ -x "$SERVER_BIN" ] && [ -x "$SQL_TOOL" ] || die "server not built; run: $0 build"
  [ -x "$TEMPORAL_CLI" ] || die "no Temporal CLI at $TEMPORAL_CLI; run scripts/bootstrap.sh"
  if [ -n "$port" ]; then [[ "$port" =~ ^[0-9]+$ ]] && [ "$port" -ge 1 ] && [ "$port" -le 65535 ] || die "--port: not a port: $port"; fi
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  # postgres needs to traverse DIR (mktemp makes it 0700).
  [ "$(id -u)" = 0 ] && chmod o+x "$dir"

  local pid address
  pid="$(cat "$dir/temporal-server.pid" 2>/dev/null || true)"
  address="$(state_get "$dir" address)"
  if pid_alive "$pid" && [ -n "$address" ] && health "$address"; then
    log "server already running in $dir (pid $pid)"
    register_namespace_and_attributes "$address"
    echo "TEMPORAL_ADDRESS=$address" >"$dir/env"
    echo "TEMPORAL_ADDRESS=$address"
    return 0
  fi
  if pid_alive "$pid"; then die "a server (pid $pid) runs in $dir but does not answer; run: $0 stop $dir"; fi

  if [ -n "$url" ] || [ -n "${TEMPORAL_POSTGRES_HOST:-}" ]; then
    external_postgres "$url"
  else
    private_postgres "$dir"
  fi
  {
    echo "pg_mode=$PG_MODE"
    [ "$PG_MODE" = private ] && echo "pg_port=$PG_PORT"
  } >"$dir/state"

  setup_database temporal temporal
  setup_database temporal_visibility visibility

  local ports
  # A DIR started before keeps its frontend port when it is free, so its address stays the same.
  if [ -z "$port" ] && [ -n "$address" ] && ! port_in_use "${address##*:}"; then port="${address##*:}"; fi
  if [ -n "$port" ]; then
    port_in_use "$port" && die "--port $port: something already listens on 127.0.0.1:$port"
    read -r -a ports <<<"$port $(free_ports 8 "$port")"
  else
    read -r -a ports <<<"$(free_ports 9)"
  fi
  address="127.0.0.1:${ports[0]}"
  write_server_config "$dir" "${ports[@]}"

  log "starting Temporal server $SERVER_VERSION, frontend $address (log $dir/temporal-server.log)"
  (cd "$dir" && exec nohup "$SERVER_BIN" --config-file "$dir/temporal-server.yaml" --allow-no-auth start \
    >>"$dir/temporal-server.log" 2>&1 </dev/null) &
  pid=$!
  echo "$pid" >"$dir/temporal-server.pid"
  echo "address=$address" >>"$dir/state"

  local deadline=$((SECONDS + 120))
  until health "$address"; do
    if ! pid_alive "$pid"; then
      grep -E '"level":"(fatal|error)"' "$dir/temporal-server.log" | tail -n 3 | cut -c1-400 >&2 || true
      die "the server exited while starting (log $dir/temporal-server.log)"
    fi
    [ "$SECONDS" -lt "$deadline" ] || die "the server did not answer within 120 s (log $dir/temporal-server.log)"
    sleep 1
  done
  log "server SERVING on $address"
  register_namespace_and_attributes "$address"
  echo "TEMPORAL_ADDRESS=$address" >"$dir/env"
  echo "TEMPORAL_ADDRESS=$address"
}

cmd_stop() {
  local dir="${1:-}"
  [ -n "$dir" ] || usage
  [ -d "$dir" ] || { log "nothing to stop: $dir does not exist"; return 0; }
  dir="$(cd "$dir" && pwd)"
  local pid
  pid="$(cat "$dir/temporal-server.pid" 2>/dev/null || true)"
  if pid_alive "$pid"; then
    log "stopping Temporal server (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 30))
    while pid_alive "$pid" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.5; done
    if pid_alive "$pid"; then
      log "server still running after 30 s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  else
    log "Temporal server not running"
  fi
  rm -f "$dir/temporal-server.pid" "$dir/env"
  if [ -f "$dir/pg/data/PG_VERSION" ]; then
    local bin
    bin="$(pg_bin_dir)"
    if as_pg "$bin/pg_ctl" -D "$dir/pg/data" status >/dev/null 2>&1; then
      log "stopping PostgreSQL"
      as_pg "$bin/pg_ctl" -D "$dir/pg/data" -m fast -w -t 60 stop >/dev/null
    else
      log "PostgreSQL not running"
    fi
  fi
}

cmd_status() {
  local dir="${1:-}" address
  [ -n "$dir" ] || usage
  address="$(state_get "$dir" address)"
  if [ -n "$address" ] && [ -f "$dir/env" ] && health "$address"; then
    echo "TEMPORAL_ADDRESS=$address"
  else
    log "no server answers in $dir"
    return 1
  fi
}

# ---------------------------------------------------------------------------------------------
# test

cmd_test() {
  cmd_build
  local dir line address status=0
  dir="$(mktemp -d "${TMPDIR:-/tmp}/dlrn-temporal-cluster.XXXXXX")"
  # shellcheck disable=SC2064
  trap "'$0' stop '$dir' || true" EXIT
  line="$(cmd_start "$dir")"
  address="${line#TEMPORAL_ADDRESS=}"
  log "running: npm run ava -- $* (DLRN_TEST_TEMPORAL_ADDRESS=$address)"
  (cd "$ROOT" && DLRN_TEST_TEMPORAL_ADDRESS="$address" npm run ava -- "$@") || status=$?
  trap - EXIT
  cmd_stop "$dir" || true
  if [ "$status" = 0 ]; then
    rm -rf "$dir"
  else
    log "tests exited with $status; server and PostgreSQL logs kept in $dir"
  fi
  return "$status"
}

# ---------------------------------------------------------------------------------------------

[ $# -ge 1 ] || usage
command="$1"
shift
case "$command" in
  build) [ $# -eq 0 ] || usage; cmd_build ;;
  start) cmd_start "$@" ;;
  stop) [ $# -eq 1 ] || usage; cmd_stop "$1" ;;
  status) [ $# -eq 1 ] || usage; cmd_status "$1" ;;
  test) cmd_test "$@" ;;
  -h | --help | help) usage ;;
  *) die "unknown command: $command (build, start, stop, status, test)" ;;
esac
