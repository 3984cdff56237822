/**
 * Names shared by every process that talks to Temporal: search attributes, the progress query,
 * the default task queue, and workflow ids; and the walk along a failure's causes. Kept here so
 * the worker, the CLI, the API and the dev server agree (people search the Web UI by these).
 */
import {
  ActivityFailure,
  ApplicationFailure,
  ChildWorkflowFailure,
  defineSearchAttributeKey,
} from '@temporalio/common';
import type { CommitCandidate } from './packages.ts';

/** Custom search attributes set on every build workflow (all Keyword-typed). */
export const SearchAttribute = {
  project: 'DlrnProject',
  commitHash: 'DlrnCommitHash',
  distroHash: 'DlrnDistroHash',
  component: 'DlrnComponent',
  status: 'DlrnStatus',
} as const;

/** The typed keys of `SearchAttribute`, for the workflows that set them. */
export const searchKeys = {
  project: defineSearchAttributeKey(SearchAttribute.project, 'KEYWORD'),
  commitHash: defineSearchAttributeKey(SearchAttribute.commitHash, 'KEYWORD'),
  distroHash: defineSearchAttributeKey(SearchAttribute.distroHash, 'KEYWORD'),
  component: defineSearchAttributeKey(SearchAttribute.component, 'KEYWORD'),
  status: defineSearchAttributeKey(SearchAttribute.status, 'KEYWORD'),
};

/** The query a run workflow answers with its progress (`RunProgress`, workflows/run.ts). */
export const PROGRESS_QUERY = 'progress';

/**
 * A failure and its causes, outermost first. Temporal wraps what a step threw in layers
 * (WorkflowFailedError, ChildWorkflowFailure, ActivityFailure, ApplicationFailure); callers pick
 * the layer they need from this one walk.
 */
export const causesOf = (err: unknown): Error[] => {
  const chain: Error[] = [];
  for (let cause: unknown = err; cause instanceof Error && !chain.includes(cause); cause = cause.cause)
    chain.push(cause);
  return chain;
};

/**
 * What a failed step raised, under the wrappers Temporal puts around it (ActivityFailure,
 * ChildWorkflowFailure): the first cause that is not one, with its type when it is an
 * application failure (our error's `name`, e.g. TransientBuildError). Workflow code branches on
 * the type and reports the message.
 */
export const stepFailure = (err: unknown): { type?: string; message: string } => {
  const cause = causesOf(err).find(
    (c) => !(c instanceof ActivityFailure) && !(c instanceof ChildWorkflowFailure),
  );
  if (cause instanceof ApplicationFailure)
    return { ...(cause.type ? { type: cause.type } : {}), message: cause.message };
  return { message: cause?.message ?? (err instanceof Error ? err.message : String(err)) };
};

/**
 * For clients of a failed workflow (WorkflowFailedError): what its step threw, the innermost
 * application failure in the chain, else the innermost failure of any kind (a cancellation).
 */
export const rootCause = (err: Error): Error => {
  const chain = causesOf(err);
  return chain.findLast((c) => c instanceof ApplicationFailure) ?? chain.at(-1) ?? err;
};

/** `--search-attribute` values for `temporal server start-dev` and `operator search-attribute create`. */
export const searchAttributeDefinitions = (): string[] =>
  Object.values(SearchAttribute).map((name) => `${name}=Keyword`);

export const DEFAULT_TASK_QUEUE = 'dlrn';

/** Id of the workflow that checks a worker can do its job (tools, database). */
export const checkWorkerId = (taskQueue: string, nonce: string): string =>
  `check-worker:${taskQueue}:${nonce}`;

/** Id of a workflow one command invocation starts; `now` is epoch milliseconds. */
export const commandWorkflowId = (kind: 'run' | 'purge' | 'import', now: number, nonce: string): string =>
  `${kind}:${new Date(now).toISOString().replace(/\.\d+Z$/, 'Z')}:${nonce}`;

/** Id of one `dlrn` invocation's run workflow. */
export const runWorkflowId = (now: number, nonce: string): string => commandWorkflowId('run', now, nonce);

/**
 * Id of the run a `POST /api/trigger` starts: one per target (`all`, `project:<name>`,
 * `package:<name>`), so a burst of webhooks joins the run going instead of overlapping it.
 */
export const triggerWorkflowId = (target: string): string => `trigger:${target}`;

/**
 * A promotion target's durable process (workflows/promotion-target.ts): one per target name of a
 * site (its task queue, as builds are).
 */
export const promotionTargetWorkflowId = (taskQueue: string, target: string): string =>
  `promotion:${taskQueue}:${target}`;

/** Id prefix of the runs a schedule starts; Temporal appends each run's scheduled time. */
export const scheduledRunWorkflowId = (scheduleId: string): string => `scheduled-run:${scheduleId}`;

/** Id of one `POST /api/promotions` batch saga; `now` is epoch milliseconds. */
export const promoteBatchWorkflowId = (now: number, nonce: string): string =>
  `promote-batch:${new Date(now).toISOString()}:${nonce}`;

/** Id of the delivery of one webhook event the API emits; `now` is epoch milliseconds. */
export const eventWorkflowId = (event: string, now: number, nonce: string): string =>
  `event:${event}:${new Date(now).toISOString()}:${nonce}`;

/** Id of the `build_failed` event delivery of one build workflow: one per build attempt. */
export const buildFailedEventWorkflowId = (buildWorkflowId: string): string =>
  `event:build_failed:${buildWorkflowId}`;

/**
 * `build:<project>:<commit>:<distro>[:<extended>]`: one workflow per commit build of a site, so
 * every run that wants the same commit meets the same workflow. A commit rebuilt after DLRN's
 * RETRY gets `:retry<N>` (N RETRY rows so far): each attempt is its own workflow in the Web UI.
 * Sites sharing a namespace have task queues of their own: on another queue than the default
 * `dlrn` the id ends with `@<queue>`, so two sites building the same commit never meet.
 */
export const buildWorkflowId = (
  c: Pick<CommitCandidate, 'projectName' | 'commitHash' | 'distroHash' | 'extendedHash' | 'retries'>,
  taskQueue = DEFAULT_TASK_QUEUE,
): string =>
  `build:${c.projectName}:${c.commitHash}:${c.distroHash}${c.extendedHash ? `:${c.extendedHash}` : ''}` +
  (c.retries ? `:retry${c.retries}` : '') +
  (taskQueue === DEFAULT_TASK_QUEUE ? '' : `@${taskQueue}`);
