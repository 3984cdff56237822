import { ApplicationFailure, log, proxyActivities } from '@temporalio/workflow';
import { stepFailure } from '../lib/domain/temporal-names.ts';
import type { Activities, PromotionLink } from '../activities/index.ts';

interface PromoteBatchItem {
  commitId: number;
  promoteName: string;
  component: string | null;
  /** Checked by the API before the workflow starts (reserved names, paths, purged commits). */
  link: PromotionLink;
}

interface PromoteBatchInput {
  items: PromoteBatchItem[];
  user: string | null;
  /** Epoch seconds of the request, the same for every row. */
  timestamp: number;
  /** Component mode: one aggregate, for the last item's name, stored on the last row. */
  useComponents: boolean;
}

export interface PromoteBatchResult {
  promotionIds: number[];
  aggregateHash: string | null;
}

/** The failure the API turns into its answer: the failing step's status code and message. */
const PROMOTE_BATCH_FAILED = 'PromoteBatchFailed';

// Every step heartbeats (activities/heartbeat.ts): when the worker running one dies, the step is
// retried on another worker within ten seconds, and the API request waiting on the saga answers.
const steps = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { maximumAttempts: 3, initialInterval: '1 second' },
});

// An undo must happen: it is retried far longer than a step.
const undo = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { maximumAttempts: 50, initialInterval: '1 second', maximumInterval: '1 minute' },
});

/**
 * `/api/promote-batch` as a saga: each step (switch a link, record a row, build the aggregate)
 * registers its compensation as soon as it has happened; when a step fails, every compensation
 * runs in reverse order (links back to their previous targets, rows deleted, aggregate links
 * restored), so the batch leaves no trace, and the workflow fails with the step's status code.
 * The compensations show in the history as activities like the steps.
 */
export async function promoteBatch(input: PromoteBatchInput): Promise<PromoteBatchResult> {
  const compensations: { name: string; run: () => Promise<void> }[] = [];
  const promotionIds: number[] = [];
  let aggregateHash: string | null = null;
  try {
    for (const item of input.items) {
      const previous = await steps.switchPromotion(item.link);
      compensations.unshift({
        name: `restore link ${item.promoteName}`,
        run: () => undo.restorePromotion({ link: item.link.link, previous }),
      });
      const id = await steps.recordPromotion({
        commitId: item.commitId,
        promotionName: item.promoteName,
        timestamp: input.timestamp,
        user: input.user,
        component: item.component,
      });
      promotionIds.push(id);
      compensations.unshift({ name: `delete promotion row ${id}`, run: () => undo.deletePromotion(id) });
    }
    const last = input.items.at(-1);
    if (input.useComponents && last) {
      const aggregate = await steps.aggregatePromotion(last.promoteName);
      compensations.unshift({
        name: `restore aggregate ${last.promoteName}`,
        run: () => undo.restoreAggregate({ name: last.promoteName, previous: aggregate.previous }),
      });
      aggregateHash = aggregate.hash;
      await steps.setPromotionAggregate({ id: promotionIds.at(-1) ?? 0, hash: aggregate.hash });
    }
    return { promotionIds, aggregateHash };
  } catch (err) {
    const { message } = stepFailure(err);
    for (const compensation of compensations) {
      log.info('compensating', { step: compensation.name });
      await compensation.run();
    }
    throw ApplicationFailure.create({
      type: PROMOTE_BATCH_FAILED,
      message: `${message}. All previously created symlinks have been rolled back.`,
      nonRetryable: true,
    });
  }
}
