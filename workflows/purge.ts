import { proxyActivities } from '@temporalio/workflow';
import type { Activities, PurgePlan } from '../activities/index.ts';
import type { PurgeAction } from '../lib/domain/purge.ts';

export interface PurgeInput {
  /** Builds with `dt_build` before this epoch second are purged (the CLI computes it). */
  cutoff: number;
  /** `--exclude-dirs`. */
  excludeDirs: string[];
  /** The command's working directory, for relative `excludeDirs`. */
  cwd: string;
  dryRun: boolean;
  /** Rows per applying activity (default 200). */
  batchSize?: number;
}

export interface PurgeResult {
  plan: PurgePlan;
  dryRun: boolean;
  /** Rows flagged PURGED by this run. */
  purged: number;
  aggregatesRemoved: number;
}

const { planPurge } = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { maximumAttempts: 3, initialInterval: '2 seconds' },
});

const { applyPurgeSteps, removeAggregates } = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '2 seconds', maximumAttempts: 10 },
});

// The newest-successful builds lose everything but their RPMs first; then the rest.
const ACTION_ORDER: PurgeAction[] = ['keep-rpms', 'remove', 'flag-only'];

/**
 * `dlrn-purge`: decides what goes (one activity that reads the database and the tree), then
 * removes directories and flags rows in batches. Each batch is idempotent, so a crash of a
 * worker or of the command loses nothing: the workflow goes on from the batch it was in.
 */
export async function purge(input: PurgeInput): Promise<PurgeResult> {
  const plan = await planPurge({ cutoff: input.cutoff, excludeDirs: input.excludeDirs, cwd: input.cwd });
  if (input.dryRun) return { plan, dryRun: true, purged: 0, aggregatesRemoved: 0 };
  const batch = input.batchSize ?? 200;
  let purged = 0;
  for (const action of ACTION_ORDER) {
    const ids = plan.actions[action];
    for (let i = 0; i < ids.length; i += batch) {
      purged += await applyPurgeSteps({ action, ids: ids.slice(i, i + batch) });
    }
  }
  const aggregatesRemoved = plan.aggregates.length > 0 ? await removeAggregates(plan.aggregates) : 0;
  return { plan, dryRun: false, purged, aggregatesRemoved };
}
