/**
 * Which old builds `dlrn-purge` removes (dlrn-spec §8.1), decided from facts gathered by the
 * purge activity. Candidates are rpm commits built before the cut-off, newest id first.
 *
 * - Already purged, or with an RPM present in an excluded directory: left alone.
 * - A project's first successful candidate: kept entirely when no newer successful build of the
 *   project exists (repositories still link to its RPMs). Otherwise its RPM files are kept and
 *   everything else in its directory goes (repodata, logs, links), because newer repositories
 *   may still link to those RPMs. DLRN's own code means to do this but then removes the whole
 *   directory anyway, which breaks those repositories; we keep the RPMs.
 * - Other successful candidates: the directory is removed.
 * - Unsuccessful candidates: the directory is removed unless a successful build of the same
 *   commit shares it.
 * Every purged row gets the PURGED flag.
 */

/** `commits.flags` bit of a purged build; the only bit DLRN defines. */
export const PURGED_FLAG = 0x2;

export interface PurgeCandidate {
  id: number;
  projectName: string;
  commitHash: string;
  status: string;
  dtBuild: number;
  flags: number;
  /** Hashed directory relative to `<datadir>/repos`. */
  dir: string;
}

export interface PurgeFacts {
  /** Per project, the newest `dt_build` of its successful rpm builds. */
  newestSuccess: ReadonlyMap<string, number>;
  /** `successKey(project, commit)` of commits that have a successful build. */
  successfulCommits: ReadonlySet<string>;
  /** Ids whose RPMs are in an excluded directory. */
  excluded: ReadonlySet<number>;
}

export const successKey = (projectName: string, commitHash: string): string =>
  `${projectName}\u0000${commitHash}`;

/**
 * - `remove`: delete the directory.
 * - `keep-rpms`: delete everything in it but the RPM files.
 * - `flag-only`: the directory belongs to a successful build of the same commit; only flag.
 */
export type PurgeAction = 'remove' | 'keep-rpms' | 'flag-only';

export interface PurgeStep {
  id: number;
  projectName: string;
  status: string;
  dir: string;
  action: PurgeAction;
}

export interface PurgeDecision {
  steps: PurgeStep[];
  /** Newest successful builds of their project, kept whole. */
  kept: PurgeCandidate[];
  excluded: PurgeCandidate[];
  alreadyPurged: number;
}

export const decidePurge = (candidates: readonly PurgeCandidate[], facts: PurgeFacts): PurgeDecision => {
  const decision: PurgeDecision = { steps: [], kept: [], excluded: [], alreadyPurged: 0 };
  const handled = new Set<string>();
  for (const c of candidates) {
    if (c.flags & PURGED_FLAG) {
      decision.alreadyPurged++;
      continue;
    }
    if (facts.excluded.has(c.id)) {
      decision.excluded.push(c);
      continue;
    }
    const step = (action: PurgeAction) =>
      decision.steps.push({ id: c.id, projectName: c.projectName, status: c.status, dir: c.dir, action });
    if (c.status === 'SUCCESS' && !handled.has(c.projectName)) {
      if ((facts.newestSuccess.get(c.projectName) ?? c.dtBuild) <= c.dtBuild) {
        decision.kept.push(c);
        continue;
      }
      handled.add(c.projectName);
      step('keep-rpms');
    } else if (c.status === 'SUCCESS') {
      step('remove');
    } else {
      step(facts.successfulCommits.has(successKey(c.projectName, c.commitHash)) ? 'flag-only' : 'remove');
    }
  }
  return decision;
};
