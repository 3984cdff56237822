import { ApplicationFailure, log, patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import { stepFailure } from '../lib/domain/temporal-names.ts';
import type { Activities, PromotionLink } from '../activities/index.ts';

interface PromoteBatchItem {
  commitId: number;
  promoteName: string;
  component: string | null;
  /** Checked by the API before the workflow starts (reserved names, paths, purged commits). */
  link: PromotionLink;
  /** The item's commit, to name it in a failure. */
  commitHash?: string;
  distroHash?: string;
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

type Compensation = { name: string; run: () => Promise<void> };

/** Runs the undos in order, then fails the saga with DLRN's words after the step's message. */
const rollBack = async (compensations: Compensation[], message: string): Promise<never> => {
  for (const compensation of compensations) {
    log.info('compensating', { step: compensation.name });
    await compensation.run();
  }
  throw ApplicationFailure.create({
    type: PROMOTE_BATCH_FAILED,
    message: `${message}. All previously created symlinks have been rolled back.`,
    nonRetryable: true,
  });
};

/** How a failure names an item: its place in the batch and what it asked for. */
const describeItem = (item: PromoteBatchItem, index: number, count: number): string =>
  `item ${index + 1} of ${count}: promote_name ${item.promoteName}` +
  (item.commitHash ? `, commit_hash ${item.commitHash}, distro_hash ${item.distroHash ?? ''}` : '');

/**
 * `/api/promote-batch` as a saga: each item's link is switched and its row recorded in one step,
 * under the promotion name's lock (activities/repo/promotions.ts), which registers its undo as
 * soon as it has happened; in component mode the last name's aggregate follows. When a step
 * fails, the undos run in reverse order: each deletes its own row (by id) and moves its link back
 * only if no later promotion moved it since; then the aggregate is made again from the links.
 * The batch leaves no trace of its own, and the workflow fails with the step's message and the
 * item it was on. The undos show in the history as activities like the steps.
 */
export async function promoteBatch(input: PromoteBatchInput): Promise<PromoteBatchResult> {
  if (!patched('promote-item-under-name-lock')) return await promoteBatchBySteps(input);
  const compensations: Compensation[] = [];
  const promotionIds: number[] = [];
  const batchId = workflowInfo().workflowId;
  const last = input.items.at(-1);
  let current = '';
  try {
    for (const [index, item] of input.items.entries()) {
      current = ` (${describeItem(item, index, input.items.length)})`;
      const step = {
        batchId,
        item: index,
        link: item.link,
        row: {
          commitId: item.commitId,
          promotionName: item.promoteName,
          timestamp: input.timestamp,
          user: input.user,
          component: item.component,
        },
      };
      const done = await steps.promoteItem(step);
      promotionIds.push(done.id);
      compensations.unshift({
        name: `undo item ${index + 1} (${item.promoteName}, row ${done.id})`,
        run: () => undo.undoPromoteItem({ ...step, ...done }),
      });
    }
    let aggregateHash: string | null = null;
    if (input.useComponents && last) {
      current = ` (the aggregate of ${last.promoteName})`;
      compensations.push({
        name: `make the aggregate of ${last.promoteName} again`,
        run: () => undo.settleBatchAggregate({ name: last.promoteName }),
      });
      aggregateHash = await steps.aggregateBatch({
        name: last.promoteName,
        promotionId: promotionIds.at(-1) ?? 0,
      });
    }
    return { promotionIds, aggregateHash };
  } catch (err) {
    return await rollBack(compensations, `${stepFailure(err).message}${current}`);
  }
}

/**
 * The saga as it ran before promoteItem (switch, record, aggregate as separate steps, undone by
 * putting previous targets back): kept so a batch started before an upgrade replays and ends.
 */
async function promoteBatchBySteps(input: PromoteBatchInput): Promise<PromoteBatchResult> {
  const compensations: Compensation[] = [];
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
    return await rollBack(compensations, stepFailure(err).message);
  }
}
