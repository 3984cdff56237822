/**
 * Wakes automatic promotion: after a vote is stored, each promotion target whose criteria name
 * the vote's job (as required or as an alternative) gets a wake-up signal, its workflow started
 * if it is not running (signal-with-start). Votes arriving in a storm cost one signal in flight
 * per target and one more after it, not one each. Waivers wake their target the same way. A
 * failure to signal is logged, never the request's error: the workflow's backstop timer decides
 * anyway.
 */
import type { Client } from '@temporalio/client';
import type { PromotionCriteria } from '../lib/domain/promotion-criteria.ts';
import { promotionTargetWorkflowId } from '../lib/domain/temporal-names.ts';
import { loadCriteria } from '../lib/repo/promotion-criteria-file.ts';
import type { promotionTarget } from '../workflows/promotion-target.ts';
import type { ApiDeps } from './context.ts';

/** How long a read criteria file is trusted before it is read again. */
const CRITERIA_TTL_MS = 2_000;

/** Wakes one target's workflow, starting it when it is not running. */
export const wakeTarget = async (client: Client, taskQueue: string, target: string): Promise<void> => {
  await client.workflow.signalWithStart<typeof promotionTarget, []>('promotionTarget', {
    taskQueue,
    workflowId: promotionTargetWorkflowId(taskQueue, target),
    args: [{ target }],
    signal: 'wake',
    signalArgs: [],
  });
};

export type PromotionWaker = (wake: { job?: string; target?: string }) => void;

export const createPromotionWaker = (deps: ApiDeps): PromotionWaker => {
  let criteria: { read: number; value: Promise<PromotionCriteria | undefined> } | undefined;
  const current = (): Promise<PromotionCriteria | undefined> => {
    const now = Date.now();
    if (!criteria || now - criteria.read > CRITERIA_TTL_MS)
      criteria = {
        read: now,
        value: loadCriteria(deps.config, {
          keepLastGood: true,
          onBad: (err) =>
            deps.logger.error({ error: err.message }, 'promotion criteria invalid: the last good ones wake'),
        }).catch(() => undefined),
      };
    return criteria.value;
  };
  const state = new Map<string, { again: boolean }>();
  const signal = async (target: string): Promise<void> => {
    const running = state.get(target);
    if (running) {
      running.again = true;
      return;
    }
    const entry = { again: false };
    state.set(target, entry);
    try {
      do {
        entry.again = false;
        const temporal = deps.temporal;
        if (!temporal) return;
        await wakeTarget(temporal.client, temporal.taskQueue, target);
      } while (entry.again);
    } catch (err) {
      deps.logger.error({ err, target }, 'cannot wake the promotion target');
    } finally {
      state.delete(target);
    }
  };
  return (wake) => {
    if (!deps.temporal || !deps.config.promotions.criteriaFile) return;
    void current().then((c) => {
      for (const t of c?.targets ?? []) {
        const jobs = [...t.jobs, ...Object.values(t.alternatives).flat()];
        if (t.name === wake.target || (wake.job !== undefined && jobs.includes(wake.job)))
          void signal(t.name);
      }
    });
  };
};
