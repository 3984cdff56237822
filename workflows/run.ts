import {
  condition,
  defineQuery,
  isCancellation,
  makeContinueAsNewFunc,
  ParentClosePolicy,
  patched,
  proxyActivities,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type {
  Activities,
  DriverRun,
  RunProgramResult,
  OrderResult,
  PackageStatus,
  RecheckResult,
  JoinedBuild,
  QueuedCommit,
  QueuedJob,
  RunPlan,
} from '../activities/index.ts';
import type { BuildJob } from '../lib/domain/build.ts';
import type { BuildStatusName, CommitCandidate } from '../lib/domain/packages.ts';
import { ErrorType } from '../lib/domain/errors.ts';
import { buildWorkflowId, PROGRESS_QUERY, searchKeys, stepFailure } from '../lib/domain/temporal-names.ts';
import type { buildCommit, BuildCommitResult } from './build-commit.ts';
import { selectPackages } from '../lib/domain/select.ts';

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
  /** `[DEFAULT] rsyncdest` is set (when false, builds skip their rsync step). */
  rsync?: boolean;
  /**
   * Continue as a new run after this many builds (tests; by default a run hands over when its
   * history nears a few thousand events).
   */
  buildsPerRun?: number;
  /** Set by the run itself when it continues as new: where the previous run left off. */
  carried?: RunCarry;
}

/** What a run continued as new carries over from the one before. */
export interface RunCarry {
  plan: Omit<RunPlan, 'queue' | 'manifest'> & { manifest: string };
  /** Every build of the queue, the finished ones with their results. */
  builds: RunBuild[];
  /** The queue index the new run starts from. */
  next: number;
  /** `--stop`: a build failed, nothing more starts. */
  failed: boolean;
  /** Why nothing more starts whatever --stop says (a full disk). */
  halted?: string;
}

/** One build the run started, and how it ended. */
export interface RunBuild {
  projectName: string;
  commitHash: string;
  distroHash: string;
  workflowId: string;
  /** The package's component (`use_components`). */
  component?: string;
  status: BuildStatusName | 'RUNNING' | 'QUEUED' | 'NOT_STARTED';
  notes?: string;
  outputDir?: string;
  /**
   * For a successful build: when its post-build held the lock (epoch ms), and whether it moved
   * `consistent` (not while `failures` packages fail).
   */
  published?: { startedAt: number; endedAt: number; failures: number; consistent: boolean };
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
  /** The packages discovery skipped (git failed), once it has ended. */
  skipped?: { name: string; error: string }[];
}

const progressQuery = defineQuery<RunProgress>(PROGRESS_QUERY);

export interface RunResult {
  /** Names of the packages selected. */
  packages: string[];
  unknownNames: string[];
  skipped: { name: string; error: string }[];
  /** What the package-info driver wants a person told (a `tags=` no package carries). */
  warnings?: string[];
  /** Commits to build, in build order (`--dry-run`, `--run`; a build run lists them in `builds`). */
  queue: CommitCandidate[];
  order?: OrderResult;
  status?: PackageStatus[];
  recheck?: RecheckResult[];
  /** `--run`: the program's result for each commit it ran for, in queue order. */
  programRuns?: (RunProgramResult & { projectName: string; commitHash: string })[];
  /** `build`: every commit of the queue and how its build ended. */
  builds?: RunBuild[];
  /** Why the run stopped starting builds before its queue ended (a full disk). */
  stopped?: string;
}

const jobOf = (input: RunInput, queued: QueuedJob): Omit<BuildJob, 'dtBuild'> => ({
  commit: queued.commit,
  pkg: queued.pkg,
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
  queued: QueuedJob,
  manifest: string,
  entry: RunBuild,
): Promise<JoinedBuild> => {
  let child;
  for (let attempt = 0; ; attempt++) {
    try {
      child = await startBuild(input, queued, manifest, entry);
      break;
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      entry.elsewhere = 'joined';
      const joined = await join.awaitBuild(entry.workflowId);
      // A build another run started and then stopped (Ctrl-C twice, a cancelled run) has no result:
      // this run builds the commit itself.
      if (!joined.cancelled || attempt >= 2 || !patched('rebuild-a-cancelled-joined-build')) return joined;
      delete entry.elsewhere;
    }
  }
  const result: BuildCommitResult = await child.result();
  if (result.alreadyBuilt) entry.elsewhere = 'built';
  return result;
};

/** Starts the commit's build workflow as a child of the run. */
const startBuild = (input: RunInput, queued: QueuedJob, manifest: string, entry: RunBuild) => {
  const { commit } = queued;
  return startChild<typeof buildCommit>('buildCommit', {
    workflowId: entry.workflowId,
    args: [
      {
        job: jobOf(input, queued),
        maxretries: input.maxretries ?? 3,
        // The package list by reference: a build's history does not grow with the site.
        manifest,
        noRepo: input.noRepo ?? false,
        dev: input.dev,
        webhooks: input.webhooks ?? false,
        ...(input.rsync === false ? { rsync: false } : {}),
        ...(input.baseurl ? { baseurl: input.baseurl } : {}),
      },
    ],
    parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
    typedSearchAttributes: [
      { key: searchKeys.project, value: commit.projectName },
      { key: searchKeys.commitHash, value: commit.commitHash },
      { key: searchKeys.distroHash, value: commit.distroHash },
      { key: searchKeys.component, value: commit.component ?? 'None' },
      { key: searchKeys.status, value: 'QUEUED' },
    ],
  });
};

/**
 * DLRN writes its reports after every build. Here a build that ends asks for them, and a request
 * made while they are being written is served by one more pass after it: the pages end the same,
 * and a run of 2,000 builds does not write them 2,000 times nor queue 2,000 report activities.
 */
const reportWriter = (manifest: string, headOnly: boolean) => {
  let wanted = false;
  let writing: Promise<void> | undefined;
  const loop = async (): Promise<void> => {
    while (wanted) {
      wanted = false;
      // A report that cannot be written does not change any build's result.
      await generateReports({ manifest, headOnly, now: Math.floor(Date.now() / 1000) }).catch(
        () => undefined,
      );
    }
    writing = undefined;
  };
  return {
    request: (): void => {
      wanted = true;
      writing ??= loop();
    },
    idle: (): Promise<void> => writing ?? Promise.resolve(),
  };
};

/** How many queued commits one `loadQueue` reads from the manifest. */
const QUEUE_SLICE = 50;

/**
 * A run hands over to a new run of itself (continue-as-new) before its history reaches these
 * (Temporal warns at 10,240 events and 10 MB): each build adds a dozen events.
 */
const HISTORY_EVENTS = 4_000;
const HISTORY_BYTES = 4 * 1024 * 1024;

/** What a run's notes keep of a build's notes: the first line and the tool's first error line. */
const briefNotes = (notes: string): string => {
  const lines = notes.split('\n').filter((l) => l.trim() !== '');
  const error = lines.slice(1).find((l) => /error:/i.test(l));
  return [lines[0] ?? '', ...(error ? [error] : [])].join('\n').slice(0, 600);
};

/**
 * Whether this run hands the rest of its queue to a new run of itself (continue-as-new): after
 * `buildsPerRun` builds, or when its history grows long (Temporal's suggestion, or our bounds).
 */
const timeToHandOver = (input: RunInput, started: number): boolean => {
  const info = workflowInfo();
  return (
    started >= (input.buildsPerRun ?? Infinity) ||
    info.continueAsNewSuggested ||
    info.historyLength >= HISTORY_EVENTS ||
    info.historySize >= HISTORY_BYTES
  );
};

/** A finished build's result, written into its entry of the run's progress. */
const settleBuild = (entry: RunBuild, result: JoinedBuild): void => {
  entry.status = result.status;
  entry.notes = briefNotes(result.notes);
  if (result.outputDir) entry.outputDir = result.outputDir;
  if (result.published) {
    const { startedAt, endedAt, failures, consistent } = result.published;
    entry.published = { startedAt, endedAt, failures, consistent };
  }
};

/**
 * Builds the queue from `from` on as child workflows: at most `workers` at once, each project's
 * commits one after the other in queue order, and with `--stop` nothing new after the first
 * failure. Stops starting builds when the history is long enough to hand over to a new run,
 * waits for the ones it started, and answers where the next run goes on.
 */
const buildQueue = async (
  input: RunInput,
  manifest: string,
  builds: RunBuild[],
  from: number,
  failedBefore: boolean,
  haltedBefore?: string,
): Promise<{ next: number; failed: boolean; halted?: string }> => {
  const limit = input.order ? 1 : Math.max(1, input.workers ?? 1);
  const reports = reportWriter(manifest, input.headOnly);
  const busy = new Set<string>();
  let running = 0;
  let failed = failedBefore;
  // Why the run stops starting builds whatever --stop says (a full disk), once it must.
  let halted = haltedBefore;
  let started = 0;
  let slice: { from: number; jobs: QueuedJob[] } = { from, jobs: [] };
  const pending: Promise<void>[] = [];
  let index = from;
  for (; index < builds.length; index++) {
    const entry = builds[index];
    if (!entry) continue;
    await condition(() => (failed || halted ? true : running < limit && !busy.has(entry.projectName)));
    if ((failed && input.stop) || halted) {
      entry.status = 'NOT_STARTED';
      continue;
    }
    if (started > 0 && timeToHandOver(input, started)) break;
    if (index >= slice.from + slice.jobs.length) {
      slice = { from: index, jobs: await loadQueue({ manifest, from: index, to: index + QUEUE_SLICE }) };
    }
    const queued = slice.jobs[index - slice.from];
    if (!queued) throw new Error(`the run manifest ${manifest} has no build ${index}`);
    started++;
    running++;
    busy.add(entry.projectName);
    entry.status = 'RUNNING';
    pending.push(
      (async () => {
        try {
          settleBuild(entry, await startOrJoin(input, queued, manifest, entry));
          if (entry.status !== 'SUCCESS') failed = failed || input.stop;
        } catch (err) {
          // A build workflow that failed outright (not a failed package build): reported, and
          // the run goes on, as DLRN goes on after a worker exception.
          if (isCancellation(err)) throw err;
          const why = stepFailure(err);
          entry.status = 'FAILED';
          // What the child's step raised says why.
          entry.notes = briefNotes(why.message);
          failed = failed || input.stop;
          // A full disk fails every build that follows: the run starts no more.
          if (why.type === ErrorType.DiskFullError) halted ??= why.message;
        } finally {
          reports.request();
          running--;
          busy.delete(entry.projectName);
        }
      })(),
    );
  }
  await Promise.all(pending);
  await reports.idle();
  return { next: index, failed, ...(halted ? { halted } : {}) };
};

// Every activity heartbeats while it runs (activities/heartbeat.ts): a dead worker's step is on
// another worker within the heartbeat timeout, not at the start-to-close one.
const { generateReports } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { maximumAttempts: 5, initialInterval: '2 seconds' },
});

const { listPackages, planRun, loadQueue, packageStatus, recheckPackages, removeRunManifest } =
  proxyActivities<Activities>({
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
  if (input.carried) return await buildRun(input, input.carried, progress);
  if (input.mode === 'status' || input.mode === 'recheck') {
    const all = await listPackages(input.driverRun);
    const { selected, unknown } = selectPackages(all, input.packageNames, input.projectNames);
    const base = { packages: selected.map((p) => p.name), unknownNames: unknown, skipped: [], queue: [] };
    if (input.mode === 'status') return { ...base, status: await packageStatus(selected) };
    return {
      ...base,
      recheck: await recheckPackages({ names: base.packages, force: input.forceRecheck ?? false }),
    };
  }

  const building = input.mode === 'build' && input.runProgram === undefined;
  const plan = await planRun({
    runId: workflowInfo().workflowId,
    driverRun: input.driverRun,
    packageNames: input.packageNames,
    projectNames: input.projectNames,
    headOnly: input.headOnly || input.runProgram !== undefined,
    keepBuilt: input.dev || input.runProgram !== undefined,
    order: input.order,
    discoveryConcurrency: input.discoveryConcurrency,
    answer: building ? 'manifest' : 'full',
  });
  if (building && plan.manifest) {
    const { queue, manifest, ...rest } = plan;
    const taskQueue = workflowInfo().taskQueue;
    const builds: RunBuild[] = (queue as QueuedCommit[]).map((c) => ({
      projectName: c.projectName,
      commitHash: c.commitHash,
      distroHash: c.distroHash,
      workflowId: buildWorkflowId(c, taskQueue),
      status: 'QUEUED',
      ...(c.component ? { component: c.component } : {}),
    }));
    return await buildRun(input, { plan: { ...rest, manifest }, builds, next: 0, failed: false }, progress);
  }
  const planned: RunResult = { ...plan, queue: plan.queue as CommitCandidate[] };
  if (input.runProgram === undefined) return planned;

  const programRuns: NonNullable<RunResult['programRuns']> = [];
  for (const commit of planned.queue) {
    const outcome = await runProgram({ commit, program: input.runProgram, buildEnv: input.buildEnv });
    programRuns.push({ ...outcome, projectName: commit.projectName, commitHash: commit.commitHash });
    if (outcome.exitCode !== 0 && input.stop) break;
  }
  return { ...planned, programRuns };
}

/**
 * The building part of a run, from `carried.next` on. When the history grows long it continues
 * as a new run of the same workflow id with what it has done so far: the CLI, the Web UI and
 * `result()` follow the chain, and no history holds more than a few hundred builds.
 */
const buildRun = async (input: RunInput, carried: RunCarry, progress: RunProgress): Promise<RunResult> => {
  progress.phase = 'building';
  progress.builds = carried.builds;
  progress.skipped = carried.plan.skipped;
  const { manifest, ...plan } = carried.plan;
  const { next, failed, halted } = await buildQueue(
    input,
    manifest,
    carried.builds,
    carried.next,
    carried.failed,
    carried.halted,
  );
  if (next < carried.builds.length) {
    // The memo (the run's owner) goes along: a resumed chain is still its owner's.
    const handOver = makeContinueAsNewFunc<typeof run>({ memo: workflowInfo().memo ?? {} });
    return await handOver({ ...input, carried: { ...carried, next, failed, ...(halted ? { halted } : {}) } });
  }
  await removeRunManifest(manifest);
  progress.phase = 'done';
  return { ...plan, queue: [], builds: carried.builds, ...(halted ? { stopped: halted } : {}) };
};
