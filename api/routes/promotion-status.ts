/**
 * "Why not promoted?" (ours): `GET /api/promotion_status?promote_name=<target>` answers, for each
 * candidate the target's criteria consider, each required job as passed, satisfied by an
 * alternative, waived, failed or missing, and the one-line reason the candidate is or is not
 * promoted; `commit_hash` and `distro_hash` (or `aggregate_hash`, for a target of aggregates)
 * narrow the answer to one candidate. Without `promote_name`: every target's, as `{targets}`.
 */
import { Router, type RouterContext } from '@koa/router';
import { z } from 'zod';
import { decideTarget } from '../../lib/db/promotion-candidates.ts';
import { listDecisions } from '../../lib/db/promotion-decisions.ts';
import { InputError } from '../../lib/domain/errors.ts';
import type { JobState, TargetCriteria } from '../../lib/domain/promotion-criteria.ts';
import { loadCriteria } from '../../lib/repo/promotion-criteria-file.ts';
import { nowSeconds, type ApiDeps, type ApiState, type Auth } from '../context.ts';
import { parseParams, str } from '../params.ts';
import { env as pages } from './pages.ts';
import { candidateKey } from './waivers.ts';

const statusSchema = z
  .object({
    promote_name: str.optional(),
    commit_hash: str.optional(),
    distro_hash: str.optional(),
    extended_hash: str.optional(),
    aggregate_hash: str.optional(),
  })
  .passthrough();

const jobJson = (j: JobState) => {
  switch (j.state) {
    case 'passed':
    case 'failed':
      return { job_id: j.job, state: j.state, url: j.url, timestamp: j.timestamp };
    case 'alternative':
      return { job_id: j.job, state: j.state, by: j.by, url: j.url, timestamp: j.timestamp };
    case 'waived':
      return { job_id: j.job, state: j.state, reason: j.reason, until: j.until, waiver: j.waiver };
    default:
      return { job_id: j.job, state: j.state };
  }
};

/** One target's answer: its current candidate, the next, its decisions, each candidate's jobs. */
const targetStatus = async (deps: ApiDeps, target: TargetCriteria, only: string | null, now: number) => {
  const { decision, current } = await decideTarget(deps.db, target, now);
  return {
    promote_name: target.name,
    dry_run: target.dryRun,
    current: current?.key ?? null,
    promote: decision.promote?.candidate.key ?? null,
    // The automatic promotions made (and dry-run decisions), newest first, with their evidence.
    decisions: (await listDecisions(deps.db, target.name)).map((d) => ({
      candidate: d.candidate,
      dry_run: d.dryRun,
      decided_at: d.decidedAt,
      promotion_ids: d.promotionIds,
      evidence: d.evidence,
      workflow_id: d.workflowId,
    })),
    candidates: decision.statuses
      .filter((s) => only === null || s.candidate.key === only)
      .map((s) => ({
        candidate: s.candidate.key,
        commit_hash: s.candidate.commitHash ?? null,
        distro_hash: s.candidate.distroHash ?? null,
        extended_hash: s.candidate.extendedHash ?? null,
        aggregate_hash: s.candidate.aggregateHash ?? null,
        time: s.candidate.time,
        meets: s.meets,
        reason: s.reason,
        jobs: s.jobs.map(jobJson),
      })),
  };
};

/** One target's answer, or without `promote_name` every target's, as `{targets: [...]}`. */
const promotionStatus =
  (deps: ApiDeps) =>
  async (ctx: RouterContext<ApiState>): Promise<void> => {
    const p = parseParams(ctx, statusSchema);
    const criteria = await loadCriteria(deps.config);
    if (!criteria) throw new InputError('Automatic promotion is off: [promotions] criteria_file is not set');
    const only = candidateKey(p);
    const now = Math.trunc(nowSeconds(deps));
    if (p.promote_name === undefined) {
      if (only !== null) throw new InputError('A candidate narrows one target: give promote_name too');
      const targets = [];
      for (const target of criteria.targets) targets.push(await targetStatus(deps, target, null, now));
      ctx.body = { targets };
      return;
    }
    const target = criteria.targets.find((t) => t.name === p.promote_name);
    if (!target)
      throw new InputError(
        `${p.promote_name} has no promotion criteria in ${criteria.file} (targets: ${criteria.targets.map((t) => t.name).join(', ') || 'none'})`,
      );
    ctx.body = await targetStatus(deps, target, only, now);
  };

/** Candidates per target on the page: a person reads the newest, the API has them all. */
const PAGE_CANDIDATES = 10;

const jobText = (j: JobState): { state: string; text: string; url?: string } => {
  const day = (s: number) => new Date(s * 1000).toISOString().slice(0, 16).replace('T', ' ');
  switch (j.state) {
    case 'passed':
      return { state: j.state, text: 'passed', url: j.url };
    case 'failed':
      return { state: j.state, text: 'failed', url: j.url };
    case 'alternative':
      return { state: j.state, text: `passed by ${j.by}`, url: j.url };
    case 'waived':
      return { state: j.state, text: `waived until ${day(j.until)}: ${j.reason}` };
    default:
      return { state: j.state, text: 'missing' };
  }
};

/** Every target's decision, for a person in a browser. */
const promotionPage =
  (deps: ApiDeps) =>
  async (ctx: RouterContext<ApiState>): Promise<void> => {
    const criteria = await loadCriteria(deps.config);
    if (!criteria) throw new InputError('Automatic promotion is off: [promotions] criteria_file is not set');
    const now = Math.trunc(nowSeconds(deps));
    const targets = [];
    for (const target of criteria.targets) {
      const { decision, current } = await decideTarget(deps.db, target, now);
      targets.push({
        name: target.name,
        dryRun: target.dryRun,
        source:
          target.source.kind === 'consistent'
            ? "the builders' consistent votes"
            : `${target.source.kind === 'aggregate' ? 'the aggregates promoted to' : 'the promotions to'} ${target.source.name}`,
        current: current?.key,
        promote: decision.promote?.candidate.key,
        jobs: target.jobs,
        candidates: decision.statuses.slice(0, PAGE_CANDIDATES).map((s) => ({
          key: s.candidate.key,
          short: s.candidate.key
            .split('/')
            .map((h) => h.slice(0, 8))
            .join('/'),
          meets: s.meets,
          reason: s.reason,
          jobs: s.jobs.map(jobText),
        })),
      });
    }
    ctx.type = 'html';
    ctx.body = pages.render('promotions.html.j2', { targets, file: criteria.file, shown: PAGE_CANDIDATES });
  };

export const promotionStatusRoutes = (deps: ApiDeps, auth: Auth): Router<ApiState> => {
  const router = new Router<ApiState>();
  router.get('/api/promotion_status', auth.read, promotionStatus(deps));
  router.get('/api/promotion_status.html', auth.read, promotionPage(deps));
  return router;
};
