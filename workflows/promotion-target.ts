import {
  condition,
  continueAsNew,
  defineSignal,
  executeChild,
  isCancellation,
  log,
  ParentClosePolicy,
  proxyActivities,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities, PromoteCandidateResult } from '../activities/index.ts';
import type { CandidateStatus } from '../lib/domain/promotion-criteria.ts';
import { stepFailure } from '../lib/domain/temporal-names.ts';
import type { deliverEvent } from './deliver-event.ts';
import type { promoteBatch } from './promote-batch.ts';

/** A vote (or a waiver) that may change the target's decision. */
export const wakeSignal = defineSignal('wake');

export interface PromotionTargetInput {
  target: string;
  /** Longest wait between two decisions without a wake-up (a candidate made by the builders). */
  backstopSeconds?: number;
}

export interface PromotionRecord {
  candidate: string;
  promotionIds: number[];
  dryRun: boolean;
}

// Every activity heartbeats every 5 s (activities/heartbeat.ts): a decision or a promotion whose
// worker died (kill -9) is retried on another within 15 s, not at its start-to-close timeout.
const { decidePromotion } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '15 seconds',
  retry: { maximumAttempts: 10 },
});
const { promoteCandidate, recordAutomaticPromotion } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '15 seconds',
  retry: { maximumAttempts: 10 },
});

/**
 * A promotion made, sent to `[api] webhook_urls` as the API's promotions are (event `promotion`),
 * with `automatic` and the evidence; awaited only until the delivery starts.
 */
const announce = async (target: string, status: CandidateStatus, promotionIds: number[]): Promise<void> => {
  await startChild<typeof deliverEvent>('deliverEvent', {
    workflowId: `${workflowInfo().workflowId}:promoted:${status.candidate.key}`,
    parentClosePolicy: ParentClosePolicy.ABANDON,
    args: [
      {
        event: {
          event: 'promotion',
          timestamp: Math.floor(Date.now() / 1000),
          data: {
            promote_name: target,
            commit_hash: status.candidate.commitHash ?? null,
            distro_hash: status.candidate.distroHash ?? null,
            extended_hash: status.candidate.extendedHash ?? null,
            aggregate_hash: status.candidate.aggregateHash ?? null,
            automatic: true,
            promotion_ids: promotionIds,
            evidence: status.jobs,
          },
        },
      },
    ],
  });
};

/**
 * An aggregate's components promoted to the target by the promoteBatch saga, all or nothing; its
 * rows stored on the decision. The saga is abandoned, not cancelled, if this workflow ends
 * meanwhile: it finishes or rolls back on its own, and the next decision finds which. A saga
 * that rolled back is a refusal for now (logged); the next wake-up tries again.
 */
const promoteAggregate = async (
  target: string,
  status: CandidateStatus,
  batch: NonNullable<PromoteCandidateResult['batch']>,
): Promise<PromoteCandidateResult | undefined> => {
  let promotionIds: number[];
  try {
    ({ promotionIds } = await executeChild<typeof promoteBatch>('promoteBatch', {
      workflowId: `${workflowInfo().workflowId}:batch:${status.candidate.key}`,
      parentClosePolicy: ParentClosePolicy.ABANDON,
      args: [{ items: batch.items, user: null, timestamp: batch.timestamp, useComponents: true }],
    }));
  } catch (err) {
    if (isCancellation(err)) throw err;
    log.error('aggregate promotion not made', {
      target,
      candidate: status.candidate.key,
      error: stepFailure(err).message,
    });
    return undefined;
  }
  await recordAutomaticPromotion({
    decisionId: batch.decisionId,
    target,
    candidate: status.candidate.key,
    promotionIds,
  });
  return { decided: true, promotionIds, dryRun: false };
};

/** Decisions a run makes before it continues as new, keeping its history short. */
const DECISIONS_PER_RUN = 200;

/**
 * One promotion target's durable process: decides at start, on every wake-up signal (votes
 * arriving in a storm are one decision), and at least every backstop interval; promotes the
 * newest candidate that meets the target's criteria and is newer than its current one, once
 * (the decision row is claimed before the promotion). Ends when its target leaves the criteria.
 */
export async function promotionTarget(
  input: PromotionTargetInput,
): Promise<{ promotions: PromotionRecord[] }> {
  let woken = true;
  setHandler(wakeSignal, () => {
    woken = true;
  });
  const backstop = (input.backstopSeconds ?? 600) * 1000;
  const promotions: PromotionRecord[] = [];
  for (let i = 0; i < DECISIONS_PER_RUN; i++) {
    await condition(() => woken, backstop);
    woken = false;
    const decision = await decidePromotion({ target: input.target });
    if (decision.gone) {
      log.info('target no longer in the criteria: ending', { target: input.target });
      return { promotions };
    }
    if (!decision.promote) continue;
    let made = await promoteCandidate({
      target: input.target,
      status: decision.promote,
      dryRun: decision.dryRun,
      workflowId: workflowInfo().workflowId,
      ...(decision.aggregateSource ? { aggregateSource: decision.aggregateSource } : {}),
    });
    if (made.batch) {
      const batched = await promoteAggregate(input.target, decision.promote, made.batch);
      if (!batched) continue;
      made = batched;
    }
    if (made.decided && !made.dryRun && decision.webhooks)
      await announce(input.target, decision.promote, made.promotionIds);
    if (made.decided)
      promotions.push({
        candidate: decision.promote.candidate.key,
        promotionIds: made.promotionIds,
        dryRun: made.dryRun,
      });
  }
  return continueAsNew<typeof promotionTarget>(input);
}
