#!/usr/bin/env bash
# The README's first command: provision the machine, make the demo (a dozen small packages with
# upstream and distgit repositories and a projects.ini, under data/demo), and run dlrn over it
# with the embedded default setup: local mode (a Temporal dev server with its Web UI, started on
# demand), SQLite, rpmbuild.
# Until commit builds land (issue 5), dlrn lists what it would build (--dry-run) and the status of
# every package; the worker check shows the tools and database a worker sees.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
DEMO="$ROOT/data/demo"
if [ ! -f "$DEMO/projects.ini" ]; then
  rm -rf "$DEMO"
  node --import tsx scripts/make-demo.ts "$DEMO"
fi
./bin/dlrn.js --config-file "$DEMO/projects.ini" --dry-run --order
./bin/dlrn.js --config-file "$DEMO/projects.ini" --status
./bin/dlrn-worker.js --config-file "$DEMO/projects.ini" --check
cat <<MSG

Demo: $DEMO (projects.ini, upstream/, distgit/, info/; data/ holds clones and commits.sqlite).
The Temporal history of these runs is in $DEMO/data/temporal.sqlite. To browse it in the
Web UI, keep a worker and the dev server running with
  ./bin/dlrn-worker.js --config-file $DEMO/projects.ini
and open http://127.0.0.1:8233
MSG
