/**
 * The decisions of DLRN's commit discovery (dlrn-spec §4.2), as pure functions over rows the
 * caller read from the database.
 */
import type { CommitCandidate, StoredCommit } from './packages.ts';

/** Which commits to ask git for: all after `after` (epoch seconds), or only the newest. */
export interface CommitWindow {
  /** `null`: only the newest commit (DLRN's `since = -1`). */
  after: number | null;
  /** Keep only the newest commit of what git returns. */
  headOnly: boolean;
}

/**
 * From the last processed commit of the package (newest non-RETRY row) and, when its branch
 * differs from the branch to build now, the last one built on that branch.
 */
export const commitWindow = (
  lastProcessed: StoredCommit | null,
  lastBuiltOnBranch: StoredCommit | null,
  sourceBranch: string | null,
  headOnly: boolean,
): CommitWindow => {
  if (!lastProcessed) return { after: null, headOnly: true };
  if (lastProcessed.commitBranch === sourceBranch) {
    return { after: Math.trunc(lastProcessed.dtCommit ?? 0), headOnly };
  }
  // The package switched branches: continue from the last build on the new branch, newest only.
  if (lastBuiltOnBranch) return { after: Math.trunc(lastBuiltOnBranch.dtCommit ?? 0), headOnly: true };
  return { after: null, headOnly: true };
};

/** git returns commits oldest first; the window keeps all or only the newest. */
export const applyWindow = <T>(commits: readonly T[], window: CommitWindow): T[] =>
  window.after === null || window.headOnly ? commits.slice(-1) : [...commits];

const same = (a: string | null, b: string | null): boolean => (a ?? null) === (b ?? null);

/**
 * DLRN's `_add_commits` filter: a candidate is new unless a non-RETRY row of its type has the
 * same (commit, distro, extended) hashes or the same (commit time, distro, extended). So RETRY
 * rows are rebuilt, a new distgit commit rebuilds an already built source commit, and two
 * source commits with the same timestamp are built once. `--dev` and `--run` keep them all.
 */
export const newCommits = (
  candidates: readonly CommitCandidate[],
  stored: readonly StoredCommit[],
  keepAll = false,
): CommitCandidate[] => {
  if (keepAll) return [...candidates];
  const done = stored.filter((row) => row.status !== 'RETRY');
  return candidates.filter(
    (c) =>
      !done.some(
        (row) =>
          (row.type ?? 'rpm') === c.type &&
          same(row.distroHash, c.distroHash) &&
          same(row.extendedHash, c.extendedHash) &&
          (row.commitHash === c.commitHash ||
            (row.dtCommit !== null && Math.trunc(row.dtCommit) === Math.trunc(c.dtCommit))),
      ),
  );
};

/** Sort by commit time, oldest first, keeping the queue order of equal times (stable). */
export const byCommitTime = (commits: readonly CommitCandidate[]): CommitCandidate[] =>
  [...commits].sort((a, b) => a.dtCommit - b.dtCommit);

/** Sort by the position of the project in a build order (unknown projects last), then time. */
export const byBuildOrder = (
  commits: readonly CommitCandidate[],
  order: readonly string[],
): CommitCandidate[] => {
  const index = (name: string) => {
    const i = order.indexOf(name);
    return i < 0 ? order.length : i;
  };
  return [...commits].sort((a, b) => index(a.projectName) - index(b.projectName) || a.dtCommit - b.dtCommit);
};
