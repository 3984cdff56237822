#!/usr/bin/env bash
# The README's first command: provision the machine, then run dlrn's main job on the embedded
# default setup (etc/projects.ini: local mode, SQLite, rpmbuild).
# Until package builds land (issues 4-7) the main job is the worker check: it starts the local
# Temporal dev server with its Web UI, runs the checkWorker workflow on an in-process worker,
# and prints the tools and database the worker sees and where to look at the workflow.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
./bin/dlrn.js --help
./bin/dlrn-worker.js --config-file etc/projects.ini --check
cat <<MSG

The Temporal history of this check is kept in data/temporal.sqlite. To browse it, keep a
worker and the Web UI running with:
  ./bin/dlrn-worker.js --config-file etc/projects.ini
and open http://127.0.0.1:8233
MSG
