/**
 * Names shared by every process that talks to Temporal: search attributes, the default task
 * queue, and workflow ids. Kept here so the worker, the CLI, the API and the dev server agree.
 */

/** Custom search attributes set on every build workflow (all Keyword-typed). */
export const SearchAttribute = {
  project: 'DlrnProject',
  commitHash: 'DlrnCommitHash',
  distroHash: 'DlrnDistroHash',
  component: 'DlrnComponent',
  status: 'DlrnStatus',
} as const;

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
