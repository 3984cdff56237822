/**
 * Every side effect the workflows need, built from injected dependencies. The worker calls
 * createActivities once; workflows see only the `Activities` type.
 */
import type { ActivityDeps } from './deps.ts';
import { inspectWorker } from './inspect-worker.ts';

export type { ActivityDeps } from './deps.ts';
export type { WorkerInspection } from './inspect-worker.ts';

export const createActivities = (deps: ActivityDeps) => ({
  inspectWorker: () => inspectWorker(deps),
});

export type Activities = ReturnType<typeof createActivities>;
