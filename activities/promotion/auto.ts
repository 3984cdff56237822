/**
 * Automatic promotion's activities: the decision for one target (`decidePromotion`, read-only)
 * and the promotion it calls for (`promoteCandidate`), made once per target and candidate: the
 * decision row is claimed first, the link and the promotion row go through the API's promote
 * path under the name's lock, and a retry after a dead worker finds the claim and the row. An
 * aggregate candidate's components are promoted by the workflow through the promoteBatch saga
 * (all or nothing): `promoteCandidate` claims and names the items, `recordAutomaticPromotion`
 * stores the rows the saga made.
 */
import { componentsOf, decideTarget } from '../../lib/db/promotion-candidates.ts';
import { claimDecision, setDecisionPromotions } from '../../lib/db/promotion-decisions.ts';
import type { CandidateStatus, PromotionCriteria } from '../../lib/domain/promotion-criteria.ts';
import { loadCriteria } from '../../lib/repo/promotion-criteria-file.ts';
import { promotionLink, type PromotionLink } from '../../lib/repo/promote.ts';
import { applyPromotion } from '../../lib/repo/promotion-change.ts';
import { ConfigError } from '../../lib/domain/errors.ts';
import type { ActivityDeps } from '../deps.ts';

export interface PromotionDecision {
  /** The target is no longer in the criteria file (or the file is gone): its workflow ends. */
  gone?: boolean;
  dryRun: boolean;
  /** Candidates considered that do not meet the criteria yet. */
  pending: number;
  /** The candidate to promote now, with the jobs that justify it. */
  promote?: CandidateStatus;
  /** An aggregate target: the promote name its candidates' components come from. */
  aggregateSource?: string;
  /** `[api] webhook_urls` is set: a promotion is sent to them with its evidence. */
  webhooks: boolean;
  /** The criteria file is invalid and no good one was read before: nothing decided. */
  invalid?: string;
}

const nowSeconds = () => Math.trunc(Date.now() / 1000);

export const decidePromotion = async (
  deps: ActivityDeps,
  input: { target: string },
): Promise<PromotionDecision> => {
  // A file edited into something invalid: the last good criteria keep deciding, and the
  // error is logged on every decision until it is fixed; with none read yet, nothing is decided.
  const webhooks = deps.config.api.webhookUrls.length > 0;
  let criteria: PromotionCriteria | undefined;
  try {
    criteria = await loadCriteria(deps.config, {
      keepLastGood: true,
      onBad: (err) =>
        deps.logger.error({ error: err.message }, 'promotion criteria invalid: the last good ones decide'),
    });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    deps.logger.error(
      { error: err.message },
      'promotion criteria invalid: nothing decided until the file is fixed',
    );
    return { dryRun: false, pending: 0, webhooks, invalid: err.message };
  }
  const target = criteria?.targets.find((t) => t.name === input.target);
  if (!target) return { gone: true, dryRun: false, pending: 0, webhooks };
  const { decision } = await decideTarget(deps.db, target, nowSeconds());
  return {
    webhooks,
    dryRun: target.dryRun,
    pending: decision.statuses.filter((s) => !s.meets).length,
    ...(decision.promote ? { promote: decision.promote } : {}),
    ...(target.source.kind === 'aggregate' ? { aggregateSource: target.source.name } : {}),
  };
};

export interface PromoteCandidateInput {
  target: string;
  status: CandidateStatus;
  dryRun: boolean;
  workflowId: string;
  /** An aggregate candidate: the promote name its components come from. */
  aggregateSource?: string;
}

/** An aggregate's components to promote to the target, all or nothing, by the promoteBatch saga. */
export interface AggregateBatch {
  decisionId: number;
  timestamp: number;
  items: {
    commitId: number;
    promoteName: string;
    component: string | null;
    link: PromotionLink;
    commitHash: string;
    distroHash: string;
  }[];
}

export interface PromoteCandidateResult {
  /** False when this decision's promotion was complete before (a repeated wake-up). */
  decided: boolean;
  promotionIds: number[];
  dryRun: boolean;
  /** An aggregate candidate still to promote: the workflow runs this batch. */
  batch?: AggregateBatch;
}

export const promoteCandidate = async (
  deps: ActivityDeps,
  input: PromoteCandidateInput,
): Promise<PromoteCandidateResult> => {
  const { db, config } = deps;
  const candidate = input.status.candidate;
  const { decision, created } = await claimDecision(db, {
    target: input.target,
    candidate: candidate.key,
    dryRun: input.dryRun,
    decidedAt: nowSeconds(),
    evidence: input.status,
    workflowId: input.workflowId,
  });
  if (input.dryRun || decision.promotionIds) {
    deps.logger.info(
      { target: input.target, candidate: candidate.key, dryRun: input.dryRun, decided: created },
      input.dryRun ? 'promotion decided (dry run: nothing moved)' : 'promotion made before',
    );
    return { decided: created, promotionIds: decision.promotionIds ?? [], dryRun: input.dryRun };
  }
  if (candidate.aggregateHash) return aggregateBatchOf(deps, input, decision.id, candidate.aggregateHash);
  const commit = await db.models.Commit.findOne({
    where: {
      commitHash: candidate.commitHash ?? '',
      distroHash: candidate.distroHash ?? '',
      status: 'SUCCESS',
      ...(candidate.extendedHash ? { extendedHash: candidate.extendedHash } : {}),
    },
    order: [['id', 'DESC']],
  });
  if (!commit) throw new Error(`${candidate.key}: no successful build of this candidate to promote`);
  const row = commit.get({ plain: true });
  // A claim whose promotion was made before its worker died: the newest row of the name is it.
  const last = await db.models.Promotion.findOne({
    where: { promotionName: input.target },
    order: [['id', 'DESC']],
  });
  let id: number;
  if (last && last.getDataValue('commitId') === row.id) {
    id = last.getDataValue('id');
  } else {
    ({ id } = await applyPromotion(deps, {
      link: promotionLink(config, row, input.target),
      row: {
        commitId: row.id,
        promotionName: input.target,
        timestamp: nowSeconds(),
        user: null,
        component: row.component,
      },
      aggregate: config.default.useComponents,
    }));
  }
  await setDecisionPromotions(db, decision.id, [id]);
  deps.logger.info(
    { target: input.target, candidate: candidate.key, promotion: id },
    'promoted automatically',
  );
  // Decided here: this call made (or finished) the promotion, a retry after a dead worker too.
  return { decided: true, promotionIds: [id], dryRun: false };
};

/**
 * An aggregate candidate's promotion: its components (each component's commit in the source's
 * aggregate), each to be promoted to the target. A promotion made before a worker or workflow
 * died (every component's newest row of the target is that commit) is recorded, not made again.
 */
const aggregateBatchOf = async (
  deps: ActivityDeps,
  input: PromoteCandidateInput,
  decisionId: number,
  aggregateHash: string,
): Promise<PromoteCandidateResult> => {
  const { db, config } = deps;
  const source = input.aggregateSource;
  if (!source) throw new Error(`${input.target}: an aggregate candidate without its source name`);
  const components = await componentsOf(db, source, aggregateHash);
  if (components.length === 0)
    throw new Error(`${aggregateHash}: no promotion to ${source} made this aggregate; nothing to promote`);
  const commits = await db.models.Commit.findAll({ where: { id: components.map((c) => c.commitId) } });
  const byId = new Map(commits.map((c) => [c.getDataValue('id'), c.get({ plain: true })]));
  const newest = await Promise.all(
    components.map((c) =>
      db.models.Promotion.findOne({
        where: { promotionName: input.target, component: c.component },
        order: [['id', 'DESC']],
      }),
    ),
  );
  if (newest.every((row, i) => row && row.getDataValue('commitId') === components[i]?.commitId)) {
    const ids = newest.map((row) => row?.getDataValue('id') ?? 0);
    await setDecisionPromotions(db, decisionId, ids);
    deps.logger.info(
      { target: input.target, candidate: aggregateHash, promotions: ids },
      'promotion made before',
    );
    return { decided: true, promotionIds: ids, dryRun: false };
  }
  const items = components.map((c) => {
    const row = byId.get(c.commitId);
    if (!row)
      throw new Error(`${aggregateHash}: commit ${c.commitId} of component ${c.component ?? 'None'} is gone`);
    return {
      commitId: row.id,
      promoteName: input.target,
      component: row.component,
      link: promotionLink(config, row, input.target),
      commitHash: row.commitHash ?? '',
      distroHash: row.distroHash ?? '',
    };
  });
  return {
    decided: false,
    promotionIds: [],
    dryRun: false,
    batch: { decisionId, timestamp: nowSeconds(), items },
  };
};

/** The rows an aggregate's promoteBatch saga made, stored on its decision. */
export const recordAutomaticPromotion = async (
  deps: ActivityDeps,
  input: { decisionId: number; target: string; candidate: string; promotionIds: number[] },
): Promise<void> => {
  await setDecisionPromotions(deps.db, input.decisionId, input.promotionIds);
  deps.logger.info(
    { target: input.target, candidate: input.candidate, promotions: input.promotionIds },
    'promoted automatically',
  );
};
