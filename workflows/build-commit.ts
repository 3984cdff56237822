import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  isCancellation,
  ParentClosePolicy,
  patched,
  proxyActivities,
  proxyLocalActivities,
  startChild,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { deliverEvent } from './deliver-event.ts';
import type { Duration } from '@temporalio/common';
import type { Activities, ExistingBuild, PostBuildResult, PublishedPackage } from '../activities/index.ts';
import { ErrorType } from '../lib/domain/errors.ts';
import { failureNotes, outputDirOf, type BuildJob } from '../lib/domain/build.ts';
import type { BuildStatusName } from '../lib/domain/packages.ts';
import { buildFailedEventWorkflowId, searchKeys, stepFailure } from '../lib/domain/temporal-names.ts';

export interface BuildCommitInput {
  /** The job without its build time, which the workflow takes from its own clock. */
  job: Omit<BuildJob, 'dtBuild'>;
  /** `[DEFAULT] maxretries`: a transient failure is tried again at most this many times. */
  maxretries: number;
  /** First retry delay; later ones double (tests shorten it). */
  retryInterval?: Duration;
  /** `[DEFAULT] baseurl`, for the log URL in the workflow's memo. */
  baseurl?: string | null;
  /** Longest a single build step may run. */
  buildTimeout?: Duration;
  /** The run's packages, in the driver's order, for versions.csv; all known ones when absent. */
  packages?: PublishedPackage[];
  /** The run's manifest, whose packages stand for `packages` (passed by reference). */
  manifest?: string;
  /** `--no-repo`: no links, metadata or .repo file in the hashed directory. */
  noRepo?: boolean;
  /** `--dev`: no `consistent` vote. */
  dev?: boolean;
  /** `[api] webhook_urls` is set: a failed build starts the deliverEvent workflow. */
  webhooks?: boolean;
  /** false: `[DEFAULT] rsyncdest` is empty and the rsync step is skipped (run by default). */
  rsync?: boolean;
}

export interface BuildCommitResult {
  commitId: number;
  status: BuildStatusName;
  notes: string;
  artifacts: string[];
  /** The hashed directory, relative to datadir. */
  outputDir: string;
  /** NVR of the source RPM, when one was made. */
  srpm?: string;
  /** The repository step of a successful build. */
  published?: PostBuildResult;
  /**
   * The commit already had a finished build (its row is reported here): this workflow built
   * nothing. A second run, a resumed run or a repeated trigger ends this way.
   */
  alreadyBuilt?: boolean;
}

/** What a person opening the build in the Web UI searches by and looks for first. */
const announce = (job: BuildJob, outputDir: string, baseurl: string | null | undefined): void => {
  const { commit } = job;
  upsertSearchAttributes([
    { key: searchKeys.project, value: commit.projectName },
    { key: searchKeys.commitHash, value: commit.commitHash },
    { key: searchKeys.distroHash, value: commit.distroHash },
    { key: searchKeys.component, value: commit.component ?? 'None' },
    { key: searchKeys.status, value: 'BUILDING' },
  ]);
  // Where the logs are.
  upsertMemo({
    outputDir,
    log: `${outputDir}/rpmbuild.log`,
    ...(baseurl
      ? { logUrl: `${baseurl.replace(/\/$/, '')}/${outputDir.replace(/^repos\//, '')}/rpmbuild.log` }
      : {}),
  });
};

/** The activity proxies of one build, each with the timeouts and retries its steps need. */
const stepsOf = (input: BuildCommitInput) => {
  const retry = {
    maximumAttempts: input.maxretries + 1,
    initialInterval: input.retryInterval ?? '30 seconds',
    backoffCoefficient: 2,
  };
  return {
    // The build's own short database steps run as local activities: in the worker that runs the
    // workflow, without a round trip through the server's task queues (about 35 ms each).
    bookkeeping: proxyLocalActivities<Activities>({
      startToCloseTimeout: '5 minutes',
      retry: { maximumAttempts: 10 },
    }),
    // Steps that reach other systems (mail, Gerrit, rsync): ordinary activities, heartbeating.
    notify: proxyActivities<Activities>({
      startToCloseTimeout: '5 minutes',
      heartbeatTimeout: '30 seconds',
      retry: { maximumAttempts: 10 },
    }),
    // Sources and preprocess; transient failures retried up to maxretries times. A cancelled
    // build waits for its step to stop (the step kills its tools), so its workspace is removed
    // after, not under, a tool that still runs; a step whose worker is gone ends at its
    // heartbeat timeout.
    sources: proxyActivities<Activities>({
      startToCloseTimeout: '1 hour',
      heartbeatTimeout: '30 seconds',
      retry,
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    }),
    build: proxyActivities<Activities>({
      startToCloseTimeout: input.buildTimeout ?? '6 hours',
      heartbeatTimeout: '30 seconds',
      retry,
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    }),
    publish: proxyActivities<Activities>({
      startToCloseTimeout: '2 hours',
      heartbeatTimeout: '30 seconds',
      retry: { maximumAttempts: 5, initialInterval: '5 seconds' },
    }),
  };
};
type Steps = ReturnType<typeof stepsOf>;

/** The finished build this one joins: its row, reported as this workflow's result. */
const joined = (existing: ExistingBuild): BuildCommitResult => {
  upsertSearchAttributes([{ key: searchKeys.status, value: existing.status }]);
  upsertMemo({ alreadyBuilt: `row ${existing.id}: built before, not again` });
  return { ...existing, commitId: existing.id, alreadyBuilt: true };
};

interface Outcome {
  /** The job as built: koji's rhpkg mode commits to the distgit, so its hashes are the new ones. */
  built: BuildJob;
  status: BuildStatusName;
  notes: string;
  artifacts: string[];
  srpm?: string;
  /** The step refused: another build of this commit finished while this one was starting. */
  alreadyBuilt?: boolean;
}

/** Whether the build is cancelled: the failure says so, or the build was asked to stop. */
const cancelled = (err: unknown): boolean =>
  isCancellation(err) || CancellationScope.current().consideredCancelled;

/**
 * Sources, preprocess, source RPM and binary RPMs. A package that does not build is an outcome
 * (FAILED, or RETRY for a transient failure that outlasted this build's retries while the commit
 * has fewer than maxretries RETRY rows, DLRN's rule); a cancellation or a bug is thrown.
 */
const buildPackage = async (
  job: BuildJob,
  steps: Steps,
  retriesSoFar: number,
  maxretries: number,
): Promise<Outcome> => {
  let srpm: string | undefined;
  try {
    await steps.sources.prepareSources(job);
    await steps.sources.preprocess(job);
    srpm = (await steps.build.buildSrpm(job)).srpm;
    const rpms = await steps.build.buildRpm({ job, srpm });
    return {
      built: { ...job, commit: rpms.commit },
      status: 'SUCCESS',
      notes: 'OK',
      artifacts: rpms.artifacts,
      srpm,
    };
  } catch (err) {
    // A step that ends any way once the build is cancelled (killed, timed out) is the cancellation.
    if (cancelled(err) || !(err instanceof ActivityFailure)) throw err;
    const failure = stepFailure(err);
    // Not the package's fault: no FAILED row; the build fails and its run stops starting others.
    if (failure.type === ErrorType.DiskFullError)
      throw ApplicationFailure.create({ type: failure.type, message: failure.message, nonRetryable: true });
    const status =
      failure.type === ErrorType.TransientBuildError && retriesSoFar < maxretries ? 'RETRY' : 'FAILED';
    return {
      built: job,
      status,
      notes: failureNotes(job.commit.projectName, failure.message),
      artifacts: [],
      ...(srpm ? { srpm } : {}),
      ...(failure.type === ErrorType.AlreadyBuiltError ? { alreadyBuilt: true } : {}),
    };
  }
};

/**
 * Tells people of a failed build: the maintainers' mail, the Gerrit review, the build_failed
 * webhook. None of them changes the build's result: a mail that cannot be sent after its
 * retries is dropped, and the webhook's receivers are not waited for.
 */
const tellFailure = async (
  built: BuildJob,
  commitId: number,
  notes: string,
  steps: Steps,
  webhooks: boolean,
): Promise<void> => {
  await steps.notify
    .sendFailureMail({ job: built, notes, now: Math.floor(Date.now() / 1000) })
    .catch(() => undefined);
  await steps.notify.submitReview({ job: built, commitId }).catch(() => undefined);
  if (!webhooks) return;
  // Awaited only until it starts.
  await startChild<typeof deliverEvent>('deliverEvent', {
    workflowId: buildFailedEventWorkflowId(workflowInfo().workflowId),
    parentClosePolicy: ParentClosePolicy.ABANDON,
    args: [
      {
        event: {
          event: 'build_failed',
          timestamp: Math.floor(Date.now() / 1000),
          data: {
            project_name: built.commit.projectName,
            commit_hash: built.commit.commitHash,
            distro_hash: built.commit.distroHash,
            extended_hash: built.commit.extendedHash,
            component: built.commit.component,
            commit_id: commitId,
            notes,
            output_dir: outputDirOf(built),
          },
        },
      },
    ],
  }).catch(() => undefined);
};

/**
 * Builds one commit: sources at the exact hashes, preprocess, source RPM, binary RPMs, and the
 * result recorded in DLRN's database. A failed package build is a result (FAILED with the reason
 * in notes), not a failed workflow. Transient failures (DLRN's patterns) are retried by Temporal
 * up to `maxretries` times; the attempts show in the history.
 */
export async function buildCommit(input: BuildCommitInput): Promise<BuildCommitResult> {
  const job: BuildJob = { ...input.job, dtBuild: Math.floor(Date.now() / 1000) };
  announce(job, outputDirOf(job), input.baseurl);
  const steps = stepsOf(input);
  // The database check right before building: a commit is built once, whoever asks again.
  const claim = await steps.bookkeeping.claimBuild(job);
  if (claim.existing) return joined(claim.existing);
  const outcome = await buildPackage(job, steps, claim.retries, input.maxretries).catch(
    async (err: unknown) => {
      // Cancelled (Ctrl-C twice, the run cancelled): the workspace, its worktree and any tool
      // still running go, even when the worker that ran them is gone (the next one does it).
      if (!cancelled(err) || !patched('remove-workspace-when-cancelled')) throw err;
      await CancellationScope.nonCancellable(() => steps.bookkeeping.removeWorkspace(job));
      throw isCancellation(err) ? err : new CancelledFailure('the build was cancelled');
    },
  );
  if (outcome.alreadyBuilt) {
    // Report the build that won; if its row is gone again, this one's failure stands.
    const again = await steps.bookkeeping.claimBuild(job);
    if (again.existing) return joined(again.existing);
  }
  // A built package is recorded and published whatever happens to the run now: a cancellation
  // here would leave a SUCCESS row whose repository has no metadata.
  return await CancellationScope.nonCancellable(async () => {
    const { built, artifacts, srpm } = outcome;
    let { status, notes } = outcome;
    const { id } = await steps.bookkeeping.recordResult({ job: built, status, notes, artifacts });
    // Serialized across every build and worker by the post-build lock; waits as long as needed.
    const published =
      status === 'SUCCESS'
        ? await steps.publish.postBuild({
            job: built,
            commitId: id,
            noRepo: input.noRepo ?? false,
            dev: input.dev ?? false,
            ...(input.packages ? { packages: input.packages } : {}),
            ...(input.manifest ? { manifest: input.manifest } : {}),
          })
        : undefined;
    const synced =
      input.rsync === false
        ? { synced: false }
        : await steps.notify.rsyncBuild({ job: built, commitId: id, succeeded: status === 'SUCCESS' });
    if (synced.error && status === 'SUCCESS') {
      // DLRN records a build whose repository could not be copied as FAILED.
      status = 'FAILED';
      notes = synced.error;
    }
    if (status === 'FAILED') await tellFailure(built, id, notes, steps, input.webhooks ?? false);
    upsertSearchAttributes([{ key: searchKeys.status, value: status }]);
    return {
      commitId: id,
      status,
      notes,
      artifacts,
      outputDir: outputDirOf(built),
      ...(srpm ? { srpm: srpm.replace(/\.src\.rpm$/, '') } : {}),
      ...(published ? { published } : {}),
    };
  });
}
