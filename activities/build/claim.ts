/**
 * claimBuild: the database check right before a commit is built. A commit that already has a
 * finished build (a non-RETRY row of the same project, hashes and type) is never built again
 * unless a person removes that row (`--recheck`, `/api/recheck_package`): the workflow reports
 * the row instead. Two runs that overlap, a resumed run and a retried start all end here.
 */
import { outputDirOf, type BuildJob } from '../../lib/domain/build.ts';
import type { BuildStatusName } from '../../lib/domain/packages.ts';
import type { ActivityDeps } from '../deps.ts';

/** A finished build of the commit, as its row records it. */
export interface ExistingBuild {
  id: number;
  status: BuildStatusName;
  notes: string;
  artifacts: string[];
  /** The hashed directory, relative to datadir. */
  outputDir: string;
}

export interface BuildClaim {
  /** The newest finished (non-RETRY) build of this commit: this one must not build it again. */
  existing?: ExistingBuild;
  /** RETRY rows the commit already has: DLRN counts them against `maxretries`. */
  retries: number;
}

/** The rows of the job's commit (project, commit, distro and extended hash, type), oldest first. */
const rowsOf = (deps: ActivityDeps, job: Pick<BuildJob, 'commit'>) =>
  deps.db.models.Commit.findAll({
    where: {
      projectName: job.commit.projectName,
      commitHash: job.commit.commitHash,
      distroHash: job.commit.distroHash,
      extendedHash: job.commit.extendedHash,
      type: job.commit.type,
    },
    order: [['id', 'ASC']],
  });

export const claimBuild = async (deps: ActivityDeps, job: Pick<BuildJob, 'commit'>): Promise<BuildClaim> => {
  const rows = (await rowsOf(deps, job)).map((r) => r.get({ plain: true }));
  const finished = rows.filter((r) => r.status !== 'RETRY').at(-1);
  const retries = rows.filter((r) => r.status === 'RETRY').length;
  if (!finished) return { retries };
  return {
    retries,
    existing: {
      id: finished.id,
      status: (finished.status ?? 'FAILED') as BuildStatusName,
      notes: finished.notes ?? '',
      artifacts: (finished.artifacts ?? '').split(',').filter(Boolean),
      outputDir: outputDirOf(job),
    },
  };
};

/** True when a SUCCESS row owns the job's hashed directory: nothing may remove or rewrite it. */
export const successOwnsDirectory = async (
  deps: ActivityDeps,
  job: Pick<BuildJob, 'commit'>,
): Promise<boolean> => (await rowsOf(deps, job)).some((r) => r.getDataValue('status') === 'SUCCESS');
