/**
 * What the rdoinfo, downstream and gitrepo drivers share: cloning the upstream repositories
 * of a package and turning their commits into build candidates.
 */
import { basename, join } from 'node:path';
import type { DlrnConfig } from '../../lib/config/index.ts';
import { applyWindow, type CommitWindow } from '../../lib/domain/discovery.ts';
import { DlrnError } from '../../lib/domain/errors.ts';
import type { CommitCandidate, CommitType, PackageInfo } from '../../lib/domain/packages.ts';
import { listCommits, refreshRepo, type RefreshOptions } from '../git.ts';
import type { DriverRun, PackageCommits } from './types.ts';

export const refreshOptions = (
  config: DlrnConfig,
  run: DriverRun,
  extra: Partial<RefreshOptions> = {},
): RefreshOptions => ({
  local: run.local,
  stallSeconds: config.git.stallTimeout,
  nonfallbackBranches: config.default.nonfallbackBranches,
  source: config.default.source,
  fallbackToMaster: config.default.fallbackToMaster,
  ...extra,
});

/** Upstream repositories of a package and the directory each is cloned into. */
export const sourceDirs = (datadir: string, pkg: PackageInfo): { url: string; dir: string }[] => {
  const urls = Array.isArray(pkg.upstream) ? pkg.upstream : [pkg.upstream];
  if (urls.length === 1) return [{ url: urls[0] ?? '', dir: join(datadir, pkg.name) }];
  return urls.map((url) => ({ url, dir: join(datadir, pkg.name, basename(url).replace(/\.git$/, '')) }));
};

interface DistgitState {
  hash: string;
  time: number;
  dir: string;
}

/** The source commits of a package in the window, combined with one distgit state. */
export const sourceCandidates = async (
  config: DlrnConfig,
  pkg: PackageInfo,
  window: CommitWindow,
  run: DriverRun,
  type: CommitType,
  distgit: DistgitState,
): Promise<CommitCandidate[]> => {
  const branch = pkg.sourceBranch ?? config.default.source ?? 'master';
  const out: CommitCandidate[] = [];
  for (const { url, dir } of sourceDirs(config.default.datadir, pkg)) {
    const refreshed = await refreshRepo(url, dir, branch, refreshOptions(config, run));
    // The newest commit only (a package's first run) is the HEAD the refresh just read.
    const commits = applyWindow(
      window.after === null && !pkg.buildTagsOnly
        ? [{ hash: refreshed.head, time: refreshed.time }]
        : await listCommits(dir, window.after, pkg.buildTagsOnly ? { tagsOnly: true } : {}),
      window,
    );
    for (const commit of commits) {
      out.push({
        projectName: pkg.name,
        type,
        commitHash: commit.hash,
        distroHash: distgit.hash,
        extendedHash: null,
        dtCommit: commit.time,
        dtDistro: distgit.time,
        dtExtended: 0,
        commitBranch: refreshed.branch,
        repoDir: dir,
        distgitDir: distgit.dir,
        component: config.default.useComponents ? (pkg.component ?? null) : null,
        versionsCsv: null,
      });
    }
  }
  return out;
};

/** Git failures skip the package for this run (DLRN lists it in skiplist.txt). */
export const skippedOnError = async (work: () => Promise<PackageCommits>): Promise<PackageCommits> => {
  try {
    return await work();
  } catch (err) {
    if (err instanceof DlrnError && err.name === 'GitError')
      return { commits: [], skipped: true, error: err.message };
    throw err;
  }
};
