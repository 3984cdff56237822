#!/usr/bin/env bash
# The floor the bench compares our runs with: the same work on the same synthetic site done by a
# plain sequential script, with nothing around it. For each package: a git worktree of the
# upstream head and its source tarball, rpmbuild -bs with the distgit's spec, rpmbuild --rebuild
# of that source RPM, and createrepo_c over the package's output directory.
#
#   bench/floor.sh SITE OUT    (SITE made by scripts/make-demo.ts --size N; OUT must not exist)
set -euo pipefail
site=${1:?usage: floor.sh SITE OUT}
out=${2:?usage: floor.sh SITE OUT}
mkdir "$out"
for upstream in "$site"/upstream/*/; do
  name=$(basename "$upstream")
  work="$out/$name"
  top="$work/rpmbuild"
  mkdir -p "$top/SOURCES" "$top/SPECS" "$work/repo"
  git -C "$upstream" worktree add -q -f --detach "$work/src" HEAD
  version=$(git -C "$work/src" describe --tags --abbrev=0 2>/dev/null || echo 0.0.1)
  git -C "$work/src" archive --format=tar.gz --prefix="$name-$version/" -o "$top/SOURCES/$name-$version.tar.gz" HEAD
  sed -e "s/^Version:.*/Version: $version/" -e "s/^Release:.*/Release: 0.1/" \
    "$site/distgit/$name-distgit/$name.spec" >"$top/SPECS/$name.spec"
  rpmbuild -bs --quiet --define "_topdir $top" --define "upstream_version $version" "$top/SPECS/$name.spec" >/dev/null
  rpmbuild --rebuild --nodeps --quiet --define "_topdir $top" --define "upstream_version $version" \
    "$top"/SRPMS/*.src.rpm >/dev/null 2>&1
  cp "$top"/SRPMS/*.src.rpm "$top"/RPMS/noarch/*.rpm "$work/repo/"
  createrepo_c --quiet "$work/repo"
  git -C "$upstream" worktree remove --force "$work/src"
done
