import { log, proxyActivities } from '@temporalio/workflow';
import type { Activities, DriverRun } from '../activities/index.ts';
import { jobPackageOf, outputDirOf, publishedPackagesOf, type BuildJob } from '../lib/domain/build.ts';

export interface ImportInput {
  /** The remote hashed repository (`http://host/repos/ab/cd/<dir>`), or a file: URL. */
  repoUrl: string;
  /** How to list this instance's packages (for versions.csv and the maintainers to mail). */
  driverRun: DriverRun;
}

interface ImportedCommit {
  projectName: string;
  commitHash: string;
  status: string;
  /** Our row, when imported. */
  commitId?: number;
  /** Why it was not imported. */
  skipped?: string;
  /** The hashed directory, relative to datadir. */
  outputDir: string;
}

interface ImportResult {
  commits: ImportedCommit[];
}

const { fetchRemoteCommits, listPackages } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { maximumAttempts: 5, initialInterval: '2 seconds' },
});

const { prepareImport } = proxyActivities<Activities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '30 seconds',
  retry: { maximumAttempts: 5, initialInterval: '5 seconds', backoffCoefficient: 2 },
});

const bookkeeping = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { maximumAttempts: 10 },
});

const { postBuild } = proxyActivities<Activities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '30 seconds',
  retry: { maximumAttempts: 5, initialInterval: '5 seconds' },
});

/**
 * `dlrn-remote` and `/api/remote/import`: imports the commits of another instance's hashed
 * repository. Each is recorded as built there (status, notes, build time); a successful one
 * goes through post-build here, so `current` moves (never `consistent`); a failed one mails its
 * maintainers, as a failed local build does.
 */
export async function importCommit(input: ImportInput): Promise<ImportResult> {
  const remotes = await fetchRemoteCommits(input.repoUrl);
  // The package list only adds names to versions.csv and maintainers to mail: an instance that
  // cannot list its packages (an API host without the info repository) still imports.
  const packages = await listPackages(input.driverRun).catch((err: unknown) => {
    log.warn('cannot list packages; importing without the package list', { error: String(err) });
    return undefined;
  });
  const commits: ImportedCommit[] = [];
  for (const remote of remotes) {
    const { commit } = remote;
    const entry: ImportedCommit = {
      projectName: commit.projectName,
      commitHash: commit.commitHash,
      status: remote.status,
      outputDir: outputDirOf({ commit }),
    };
    commits.push(entry);
    const decision = await prepareImport({ repoUrl: input.repoUrl, remote });
    if (decision.skip) {
      entry.skipped = decision.reason;
      continue;
    }
    const pkg = packages?.find((p) => p.name === commit.projectName);
    const job: BuildJob = {
      commit,
      dtBuild: remote.dtBuild,
      pkg: jobPackageOf(commit.projectName, pkg),
      buildEnv: [],
      bootstrap: false,
      verbose: false,
      usePublic: false,
    };
    const { id } = await bookkeeping.recordResult({
      job,
      status: remote.status,
      notes: remote.notes,
      artifacts: remote.artifacts,
    });
    entry.commitId = id;
    if (remote.status === 'SUCCESS') {
      await postBuild({
        job,
        commitId: id,
        ...(packages ? { packages: publishedPackagesOf(packages) } : {}),
        noRepo: false,
        dev: false,
        remoteImport: true,
      });
    }
    await bookkeeping.rsyncBuild({ job, commitId: id, succeeded: remote.status === 'SUCCESS' });
    if (remote.status === 'FAILED') {
      await bookkeeping
        .sendFailureMail({ job, notes: remote.notes, now: Math.floor(Date.now() / 1000) })
        .catch(() => undefined);
    }
  }
  return { commits };
}
