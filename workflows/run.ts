import {
  condition,
  defineQuery,
  isCancellation,
  ParentClosePolicy,
  proxyActivities,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { defineSearchAttributeKey, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type {
  Activities,
  DriverRun,
  RunProgramResult,
  OrderResult,
  PackageStatus,
  RecheckResult,
  JoinedBuild,
} from '../activities/index.ts';
import { byBuildOrder, byCommitTime } from '../lib/domain/discovery.ts';
import { buildWorkflowId, jobPackageOf, publishedPackagesOf, type BuildJob } from '../lib/domain/build.ts';
import type { BuildStatusName, CommitCandidate, PackageInfo } from '../lib/domain/packages.ts';
import { SearchAttribute } from '../lib/domain/temporal-names.ts';
import type { buildCommit, BuildCommitResult } from './build-commit.ts';
import { mapLimit, selectPackages } from '../lib/domain/select.ts';

/**
 * One invocation of `dlrn`. `build` discovers, orders and builds; `plan` stops before building
 * (`--dry-run`); `status` reports the last build of each package (`--status`); `recheck`
 * forgets the last build of the named packages (`--recheck`).
 */
export interface RunInput {
  mode: 'build' | 'plan' | 'status' | 'recheck';
  driverRun: DriverRun;
  packageNames: string[];
  projectNames: string[];
  headOnly: boolean;
  dev: boolean;
  /** `--order`: build in spec dependency order. */
  order: boolean;
  /** `--run PROGRAM`: run it for each package head instead of building (implies head-only). */
  runProgram?: string;
  /** `--build-env VAR=VALUE` items. */
  buildEnv: string[];
  /** `--stop`: end at the first failure. */
  stop: boolean;
  forceRecheck?: boolean;
  /** Packages discovered at once (DLRN uses one process per CPU). */
  discoveryConcurrency: number;
  /** Builds at once: `[DEFAULT] workers`, 1 with `--sequential` or `--order`. */
  workers?: number;
  /** `[DEFAULT] maxretries`. */
  maxretries?: number;
  /** `[DEFAULT] baseurl`, for log URLs. */
  baseurl?: string | null;
  /** `--no-repo`. */
  noRepo?: boolean;
  /** `--verbose-build`, `--use-public`. */
  verbose?: boolean;
  usePublic?: boolean;
  /** `--log-commands`. */
  logCommands?: boolean;
  /** `[api] webhook_urls` is set: failed builds send a webhook event. */
  webhooks?: boolean;
}

/** One build the run started, and how it ended. */
export interface RunBuild {
  projectName: string;
  commitHash: string;
  distroHash: string;
  workflowId: string;
  status: BuildStatusName | 'RUNNING' | 'QUEUED' | 'NOT_STARTED';
  notes?: string;
  outputDir?: string;
  /** When its post-build held the lock (epoch ms), for a successful build. */
  published?: { startedAt: number; endedAt: number };
  /**
   * Not built by this run: `built` when the commit already had a finished build (its row is
   * reported), `joined` when another run was building it and this run waited for its result.
   */
  elsewhere?: 'built' | 'joined';
}

/** What the `progress` query answers while the run goes on. */
export interface RunProgress {
  phase: 'discovering' | 'building' | 'done';
  builds: RunBuild[];
}

export const progressQuery = defineQuery<RunProgress>('progress');

export interface RunResult {
  /** Names of the packages selected. */
  packages: string[];
  unknownNames: string[];
  skipped: { name: string; error: string }[];
  /** Commits to build, in build order. */
  queue: CommitCandidate[];
  order?: OrderResult;
  status?: PackageStatus[];
  recheck?: RecheckResult[];
  /** `--run`: the program's result for each commit it ran for, in queue order. */
  programRuns?: (RunProgramResult & { projectName: string; commitHash: string })[];
  /** `build`: every commit of the queue and how its build ended. */
  builds?: RunBuild[];
}

const buildKeys = {
  project: defineSearchAttributeKey(SearchAttribute.project, 'KEYWORD'),
  commitHash: defineSearchAttributeKey(SearchAttribute.commitHash, 'KEYWORD'),
  distroHash: defineSearchAttributeKey(SearchAttribute.distroHash, 'KEYWORD'),
  component: defineSearchAttributeKey(SearchAttribute.component, 'KEYWORD'),
  status: defineSearchAttributeKey(SearchAttribute.status, 'KEYWORD'),
};

const jobOf = (
  input: RunInput,
  commit: CommitCandidate,
  pkg: PackageInfo | undefined,
): Omit<BuildJob, 'dtBuild'> => ({
  commit,
  pkg: jobPackageOf(commit.projectName, pkg),
  buildEnv: input.buildEnv,
  bootstrap: input.order,
  verbose: input.verbose ?? false,
  usePublic: (input.usePublic ?? false) || input.dev,
  logCommands: input.logCommands ?? false,
});

/**
 * Starts the commit's build as a child, or, when a build of it is already going under another
 * run (the same workflow id is Running), waits for that one: a commit is never built twice at
 * once. A build id that already finished starts again and finds the commit's row (claimBuild).
 */
const startOrJoin = async (
  input: RunInput,
  commit: CommitCandidate,
  packages: PackageInfo[],
  manifest: string,
  entry: RunBuild,
): Promise<JoinedBuild> => {
  let child;
  try {
    child = await startChild<typeof buildCommit>('buildCommit', {
      workflowId: entry.workflowId,
      args: [
        {
          job: jobOf(
            input,
            commit,
            packages.find((p) => p.name === commit.projectName),
          ),
          maxretries: input.maxretries ?? 3,
          // The package list by reference: a build's history does not grow with the site.
          manifest,
          noRepo: input.noRepo ?? false,
          dev: input.dev,
          webhooks: input.webhooks ?? false,
          ...(input.baseurl ? { baseurl: input.baseurl } : {}),
        },
      ],
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      typedSearchAttributes: [
        { key: buildKeys.project, value: commit.projectName },
        { key: buildKeys.commitHash, value: commit.commitHash },
        { key: buildKeys.distroHash, value: commit.distroHash },
        { key: buildKeys.component, value: commit.component ?? 'None' },
        { key: buildKeys.status, value: 'QUEUED' },
      ],
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    entry.elsewhere = 'joined';
    return await join.awaitBuild(entry.workflowId);
  }
  const result: BuildCommitResult = await child.result();
  if (result.alreadyBuilt) entry.elsewhere = 'built';
  return result;
};

/**
 * Builds the queue as child workflows: at most `workers` at once, each project's commits one
 * after the other in queue order, and with `--stop` nothing new after the first failure.
 */
const buildQueue = async (
  input: RunInput,
  queue: CommitCandidate[],
  packages: PackageInfo[],
  manifest: string,
  builds: RunBuild[],
): Promise<void> => {
  const limit = input.order ? 1 : Math.max(1, input.workers ?? 1);
  const busy = new Set<string>();
  let running = 0;
  let failed = false;
  const pending: Promise<void>[] = [];
  for (const [index, commit] of queue.entries()) {
    await condition(() => (failed ? true : running < limit && !busy.has(commit.projectName)));
    const entry = builds[index];
    if (!entry) continue;
    if (failed && input.stop) {
      entry.status = 'NOT_STARTED';
      continue;
    }
    running++;
    busy.add(commit.projectName);
    entry.status = 'RUNNING';
    pending.push(
      (async () => {
        try {
          const result = await startOrJoin(input, commit, packages, manifest, entry);
          entry.status = result.status;
          entry.notes = result.notes;
          if (result.outputDir) entry.outputDir = result.outputDir;
          if (result.published) {
            entry.published = { startedAt: result.published.startedAt, endedAt: result.published.endedAt };
          }
          if (result.status !== 'SUCCESS') failed = failed || input.stop;
        } catch (err) {
          // A build workflow that failed outright (not a failed package build): reported, and
          // the run goes on, as DLRN goes on after a worker exception.
          if (isCancellation(err)) throw err;
          entry.status = 'FAILED';
          entry.notes =
            err instanceof Error
              ? err.cause instanceof Error
                ? err.cause.message
                : err.message
              : String(err);
          failed = failed || input.stop;
        } finally {
          // DLRN regenerates its reports after every build, with the run's remaining queue;
          // a report that cannot be written does not change the build's result.
          await generateReports({
            manifest,
            headOnly: input.headOnly,
            now: Math.floor(Date.now() / 1000),
          }).catch(() => undefined);
          running--;
          busy.delete(commit.projectName);
        }
      })(),
    );
  }
  await Promise.all(pending);
};

// Every activity heartbeats while it runs (activities/heartbeat.ts): a dead worker's step is on
// another worker within the heartbeat timeout, not at the start-to-close one.
const { generateReports } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { maximumAttempts: 5, initialInterval: '2 seconds' },
});

const {
  listPackages,
  discoverCommits,
  writeSkiplist,
  orderBuilds,
  packageStatus,
  recheckPackages,
  writeRunManifest,
  removeRunManifest,
} = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { maximumAttempts: 3, initialInterval: '2 seconds' },
});

// Waiting for another run's build: as long as that build takes, retried on another worker.
const join = proxyActivities<Activities>({
  startToCloseTimeout: '24 hours',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '2 seconds', maximumInterval: '30 seconds' },
});

// A user's program runs once: its exit code is the answer, a retry could repeat its effects.
const { runProgram } = proxyActivities<Activities>({
  startToCloseTimeout: '4 hours',
  retry: { maximumAttempts: 1 },
});

export async function run(input: RunInput): Promise<RunResult> {
  const progress: RunProgress = { phase: 'discovering', builds: [] };
  setHandler(progressQuery, () => progress);
  const all = await listPackages(input.driverRun);
  const { selected, unknown } = selectPackages(all, input.packageNames, input.projectNames);
  const base: RunResult = {
    packages: selected.map((p) => p.name),
    unknownNames: unknown,
    skipped: [],
    queue: [],
  };
  if (input.mode === 'status') return { ...base, status: await packageStatus(selected) };
  if (input.mode === 'recheck') {
    return {
      ...base,
      recheck: await recheckPackages({ names: base.packages, force: input.forceRecheck ?? false }),
    };
  }

  const headOnly = input.headOnly || input.runProgram !== undefined;
  const keepBuilt = input.dev || input.runProgram !== undefined;
  const found = await mapLimit(
    selected.filter((pkg) => pkg.types.includes('rpm')),
    input.discoveryConcurrency,
    async (pkg) => ({
      pkg,
      result: await discoverCommits({ pkg, driverRun: input.driverRun, type: 'rpm', headOnly, keepBuilt }),
    }),
  );
  const skipped = found.flatMap(({ pkg, result }) =>
    result.skipped ? [{ name: pkg.name, error: result.error ?? 'skipped' }] : [],
  );
  await writeSkiplist(skipped.map((s) => s.name));
  const commits = found.flatMap(({ result }) => result.commits);
  let planned: RunResult = { ...base, skipped, queue: byCommitTime(commits) };
  if (input.order && commits.length > 0) {
    const queued = new Set(commits.map((c) => c.projectName));
    const order = await orderBuilds(selected.filter((p) => queued.has(p.name)));
    planned = { ...planned, queue: byBuildOrder(commits, order.order), order };
  }
  if (input.runProgram === undefined) {
    if (input.mode !== 'build') return planned;
    progress.phase = 'building';
    progress.builds = planned.queue.map((c) => ({
      projectName: c.projectName,
      commitHash: c.commitHash,
      distroHash: c.distroHash,
      workflowId: buildWorkflowId(c, workflowInfo().taskQueue),
      status: 'QUEUED',
    }));
    // Every package of the driver, not only the selected ones: post-build lists them all, as DLRN.
    // Written once; builds and reports get its path (their histories stay small at any size).
    const manifest = await writeRunManifest({
      runId: workflowInfo().workflowId,
      manifest: {
        packages: publishedPackagesOf(all),
        upstreams: Object.fromEntries(
          all.map((p) => [p.name, Array.isArray(p.upstream) ? (p.upstream[0] ?? '') : p.upstream]),
        ),
        queue: planned.queue,
      },
    });
    await buildQueue(input, planned.queue, all, manifest, progress.builds);
    await removeRunManifest(manifest);
    progress.phase = 'done';
    return { ...planned, builds: progress.builds };
  }

  const programRuns: NonNullable<RunResult['programRuns']> = [];
  for (const commit of planned.queue) {
    const outcome = await runProgram({ commit, program: input.runProgram, buildEnv: input.buildEnv });
    programRuns.push({ ...outcome, projectName: commit.projectName, commitHash: commit.commitHash });
    if (outcome.exitCode !== 0 && input.stop) break;
  }
  return { ...planned, programRuns };
}
