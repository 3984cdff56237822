#!/usr/bin/env bash
# The README's first command: provision the machine, make the demo (a dozen small packages with
# upstream and distgit repositories and a projects.ini, under data/demo), and run dlrn over it
# with the embedded default setup: local mode (a Temporal dev server with its Web UI, started on
# demand), SQLite, rpmbuild.
# dlrn builds the newest commit of every package; then the demo's later upstream commits are added
# (one breaks demo-agent's build, the next fixes it) and dlrn builds those.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
DEMO="$ROOT/data/demo"
if [ ! -f "$DEMO/projects.ini" ]; then
  rm -rf "$DEMO"
  node --import tsx scripts/make-demo.ts "$DEMO"
fi
./bin/dlrn-worker.js --config-file "$DEMO/projects.ini" --check
./bin/dlrn.js --config-file "$DEMO/projects.ini" --dry-run --order
./bin/dlrn.js --config-file "$DEMO/projects.ini"
if [ ! -f "$DEMO/.advanced" ]; then
  node --import tsx scripts/make-demo.ts --advance "$DEMO"
  touch "$DEMO/.advanced"
  # demo-agent's broken commit fails here (exit 1, as DLRN): that is the point of the demo.
  ./bin/dlrn.js --config-file "$DEMO/projects.ini" || true
fi
./bin/dlrn.js --config-file "$DEMO/projects.ini" --status
REPOS="$DEMO/data/repos"
cat <<MSG

Demo: $DEMO (projects.ini, upstream/, distgit/, info/).
Repository: $REPOS
  current    -> $(readlink "$REPOS/current" 2>/dev/null || echo '(none)')
  consistent -> $(readlink "$REPOS/consistent" 2>/dev/null || echo '(none)')
  yum file:     $REPOS/current/delorean.repo
Reports: $REPOS/report.html, $REPOS/status_report.html, $REPOS/status_report.csv, $REPOS/queue.html
Build logs: $REPOS/<ab>/<cd>/<commit>_<distro>/rpmbuild.log; database: $DEMO/data/commits.sqlite.
The Temporal history of these runs is in $DEMO/data/temporal.sqlite. To browse the builds in the
Web UI, keep the dev server and a worker up with
  ./bin/dlrn-server.js --config-file $DEMO/projects.ini
and open http://127.0.0.1:8233 (find one package's builds with DlrnProject = "demo-agent").
MSG
