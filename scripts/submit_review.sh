#!/bin/bash
# Opens a Gerrit review on a package's distgit when its build fails (DLRN's submit_review.sh
# contract): a branch with a marker line in the spec naming the commit that broke the build,
# pushed with `git review` on GERRIT_TOPIC, with the maintainers added as reviewers.
#   submit_review.sh PROJECT OUTPUT_DIR DATADIR BASEURL DISTGIT_DIR
# Environment: GERRIT_URL (the commit), GERRIT_LOG (the logs), GERRIT_MAINTAINERS (comma list),
# GERRIT_TOPIC.
set -euo pipefail
PROJECT="$1"
# $2 (the output directory), $3 (datadir) and $4 (baseurl) are passed as DLRN passes them.
DISTGIT_DIR="$5"

cd "${DISTGIT_DIR}"
SHORT=$(printf %s "${DLRN_SOURCE_COMMIT:-$(basename "${GERRIT_URL:-unknown}")}" | cut -c1-7)
BRANCH="branch-${SHORT}"
git checkout -B "${BRANCH}"
SPEC=$(ls ./*.spec | head -n 1)
echo "# REMOVEME: error caused by commit ${GERRIT_URL:-}" >> "${SPEC}"
git add "${SPEC}"
git -c user.name="DLRN" -c user.email="dlrn@localhost" commit -q -m "${PROJECT}: failed to build ${SHORT}

Need to fix build error caused by ${GERRIT_URL:-}
See log at ${GERRIT_LOG:-}"
git review -t "${GERRIT_TOPIC:-rdo-FTBFS}"

if [ -n "${GERRIT_MAINTAINERS:-}" ] && [ -f .gitreview ]; then
  HOST=$(sed -n 's/^host=//p' .gitreview)
  PORT=$(sed -n 's/^port=//p' .gitreview)
  REVIEWERS=()
  IFS=',' read -ra PEOPLE <<< "${GERRIT_MAINTAINERS}"
  for person in "${PEOPLE[@]}"; do REVIEWERS+=(-a "${person}"); done
  ssh -p "${PORT:-29418}" "${HOST}" gerrit set-reviewers "${REVIEWERS[@]}" "$(git rev-parse HEAD)"
fi
