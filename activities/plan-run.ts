/**
 * The first step of a `run`: list the packages, select the named ones, find the new commits of
 * each, write the skiplist, order the builds, and for a build run write the run's manifest. One
 * activity instead of one per package: a 2,000-package site adds six events to the run's
 * history, not twelve thousand. What the run keeps in its history is the compact queue (the
 * ids of each build); the commits themselves are read back from the manifest in slices
 * (`loadQueue`) as builds start.
 */
import type { CommitCandidate } from '../lib/domain/packages.ts';
import { byBuildOrder, byCommitTime } from '../lib/domain/discovery.ts';
import { jobPackageOf, publishedPackagesOf, type BuildJob } from '../lib/domain/build.ts';
import { mapLimit, selectPackages } from '../lib/domain/select.ts';
import type { ActivityDeps } from './deps.ts';
import {
  discoverCommits,
  orderBuilds,
  readPackageList,
  writeSkiplist,
  type OrderResult,
} from './discovery.ts';
import { watchingGit, type GitWait } from './git.ts';
import { beat, currentActivity } from './heartbeat.ts';
import { sweepOrphanWorkspaces } from './build/workspace.ts';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { DriverRun } from './pkginfo/index.ts';
import { readRunManifest, writeRunManifest } from './run-manifest.ts';

export interface PlanRunInput {
  /** The run workflow's id: names its manifest. */
  runId: string;
  driverRun: DriverRun;
  packageNames: string[];
  projectNames: string[];
  headOnly: boolean;
  /** `--dev` and `--run` keep commits that were already built. */
  keepBuilt: boolean;
  /** `--order`: build in spec dependency order. */
  order: boolean;
  /** Packages discovered at once. */
  discoveryConcurrency: number;
  /**
   * `manifest`: a build run (write the manifest, answer the compact queue); `full`: answer the
   * whole commits (`--dry-run`, `--run`), no manifest.
   */
  answer: 'manifest' | 'full';
}

/** What the run keeps of one queued commit: enough to name, show and order its build. */
export type QueuedCommit = Pick<
  CommitCandidate,
  'projectName' | 'commitHash' | 'distroHash' | 'extendedHash' | 'component' | 'retries'
>;

/** The heartbeat of discovery: how far it is, what it waits on, what it skipped so far. */
export interface DiscoveryProgress {
  step: 'discovering';
  done: number;
  total: number;
  /** Packages whose clone or fetch is waiting on a server now. */
  waiting: ({ name: string } & GitWait)[];
  /** The packages skipped so far (the newest 20 in a heartbeat). */
  skipped: { name: string; error: string }[];
}

export interface RunPlan {
  /** Names of the packages selected. */
  packages: string[];
  unknownNames: string[];
  skipped: { name: string; error: string }[];
  /** What the package-info driver wants a person told (a `tags=` no package carries). */
  warnings?: string[];
  order?: OrderResult;
  /** The queue in build order: whole commits (`full`) or their ids (`manifest`). */
  queue: CommitCandidate[] | QueuedCommit[];
  /** The manifest's path, relative to datadir (`manifest`). */
  manifest?: string;
}

const compact = (c: CommitCandidate): QueuedCommit => ({
  projectName: c.projectName,
  commitHash: c.commitHash,
  distroHash: c.distroHash,
  extendedHash: c.extendedHash,
  component: c.component,
  ...(c.retries ? { retries: c.retries } : {}),
});

/** Whether a workflow is running now (the activity's own Temporal client asks). */
const isRunning = async (workflowId: string): Promise<boolean> => {
  const client = currentActivity()?.client;
  if (!client) return true;
  try {
    return (await client.workflow.getHandle(workflowId).describe()).status.name === 'RUNNING';
  } catch (err) {
    return !(err instanceof WorkflowNotFoundError);
  }
};

export const planRun = async (deps: ActivityDeps, input: PlanRunInput): Promise<RunPlan> => {
  // What a build that could not clean up left behind (terminated, or cancelled while its worker
  // was gone) goes first: workspace, worktree, tools still running on this host.
  const swept = await sweepOrphanWorkspaces(deps, isRunning);
  if (swept.length > 0) deps.logger.info({ workspaces: swept }, 'removed workspaces no running build owns');
  const { packages: all, warnings } = await readPackageList(deps, input.driverRun);
  const { selected, unknown } = selectPackages(all, input.packageNames, input.projectNames);
  const rpm = selected.filter((pkg) => pkg.types.includes('rpm'));
  const progress: DiscoveryProgress = {
    step: 'discovering',
    done: 0,
    total: rpm.length,
    waiting: [],
    skipped: [],
  };
  const waits = new Map<string, GitWait>();
  // The newest skips only: the CLI tells each once, and the plan lists them all at the end.
  const tell = () =>
    beat({
      ...progress,
      skipped: progress.skipped.slice(-20),
      waiting: [...waits].map(([name, wait]) => ({ name, ...wait })),
    });
  tell();
  const found = await mapLimit(rpm, input.discoveryConcurrency, async (pkg) => {
    // Each clone or fetch that waits on a server is in the heartbeat while it waits, so `dlrn`
    // names the package and the server at once; a skipped package is told as soon as it is.
    const onWait = (wait: GitWait | undefined) => {
      if (wait) waits.set(pkg.name, wait);
      else waits.delete(pkg.name);
      tell();
    };
    const result = await watchingGit(onWait, () =>
      discoverCommits(deps, {
        pkg,
        driverRun: input.driverRun,
        type: 'rpm',
        headOnly: input.headOnly,
        keepBuilt: input.keepBuilt,
      }),
    );
    progress.done++;
    if (result.skipped) progress.skipped.push({ name: pkg.name, error: result.error ?? 'skipped' });
    waits.delete(pkg.name);
    tell();
    return { pkg, result };
  });
  const skipped = found.flatMap(({ pkg, result }) =>
    result.skipped ? [{ name: pkg.name, error: result.error ?? 'skipped' }] : [],
  );
  await writeSkiplist(
    deps,
    skipped.map((s) => s.name),
  );
  const commits = found.flatMap(({ result }) => result.commits);
  let queue = byCommitTime(commits);
  let order: OrderResult | undefined;
  if (input.order && commits.length > 0) {
    const queued = new Set(commits.map((c) => c.projectName));
    order = await orderBuilds(
      deps,
      selected.filter((p) => queued.has(p.name)),
    );
    queue = byBuildOrder(commits, order.order);
  }
  const plan = {
    packages: selected.map((p) => p.name),
    unknownNames: unknown,
    skipped,
    ...(warnings.length > 0 ? { warnings } : {}),
    ...(order ? { order } : {}),
  };
  if (input.answer === 'full') return { ...plan, queue };
  const byName = new Map(all.map((p) => [p.name, p]));
  // Every package of the driver, not only the selected ones: post-build lists them all, as DLRN.
  const manifest = await writeRunManifest(deps, {
    runId: input.runId,
    manifest: {
      packages: publishedPackagesOf(all),
      upstreams: Object.fromEntries(
        all.map((p) => [p.name, Array.isArray(p.upstream) ? (p.upstream[0] ?? '') : p.upstream]),
      ),
      queue,
      jobPackages: Object.fromEntries(
        [...new Set(queue.map((c) => c.projectName))].map((name) => [
          name,
          jobPackageOf(name, byName.get(name)),
        ]),
      ),
    },
  });
  return { ...plan, queue: queue.map(compact), manifest };
};

/** One queued build as its workflow needs it: the whole commit and the package's keys. */
export interface QueuedJob {
  commit: CommitCandidate;
  pkg: BuildJob['pkg'];
}

/** Builds `from` to `to` (exclusive) of the run's queue, read from its manifest. */
export const loadQueue = async (
  deps: ActivityDeps,
  input: { manifest: string; from: number; to: number },
): Promise<QueuedJob[]> => {
  const manifest = await readRunManifest(deps, input.manifest);
  return manifest.queue.slice(input.from, input.to).map((commit) => ({
    commit,
    pkg: manifest.jobPackages?.[commit.projectName] ?? jobPackageOf(commit.projectName, undefined),
  }));
};
