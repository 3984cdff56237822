/**
 * Names shared by every process that talks to Temporal: search attributes, the progress query,
 * the default task queue, and workflow ids; and the walk along a failure's causes. Kept here so
 * the worker, the CLI, the API and the dev server agree (people search the Web UI by these).
 */
import { defineSearchAttributeKey } from '@temporalio/common';

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
