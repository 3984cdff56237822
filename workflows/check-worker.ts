import { proxyActivities } from '@temporalio/workflow';
import type { Activities, WorkerInspection } from '../activities/index.ts';

interface CheckWorkerInput {
  /** Tools a build needs; the result lists those missing on the worker that ran the check. */
  requiredTools: string[];
}

interface CheckWorkerResult {
  inspection: WorkerInspection;
  missingTools: string[];
}

const { inspectWorker } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 3 },
});

/**
 * Runs on a worker's task queue and reports what that worker can do: tool versions and the
 * database it writes to. `dlrn-worker --check` starts it; it shows in the Web UI like a build.
 */
export async function checkWorker(input: CheckWorkerInput): Promise<CheckWorkerResult> {
  const inspection = await inspectWorker();
  const tools = inspection.tools as Record<string, string | null>;
  return { inspection, missingTools: input.requiredTools.filter((tool) => !tools[tool]) };
}
