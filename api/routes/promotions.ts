/**
 * Promotions: `GET /api/promotions`, `GET /api/components` and `POST /api/promote` (one link and
 * one row; the batch is the promoteBatch saga). dlrn-spec §7.2.
 */
import { Router, type RouterContext } from '@koa/router';
import { randomBytes } from 'node:crypto';
import { Op, type WhereOptions } from 'sequelize';
import { z } from 'zod';
import type { CommitAttributes, PromotionAttributes } from '../../lib/db/index.ts';
import { applyPromotion } from '../../lib/repo/promotion-change.ts';
import { promoteBatchWorkflowId } from '../../lib/domain/temporal-names.ts';
import { assertLinkable, promotionLink, type PromotionLink } from '../../lib/repo/promote.ts';
import type { promoteBatch, PromoteBatchResult } from '../../workflows/promote-batch.ts';
import { emitEvent, requireTemporal, workflowError } from '../temporal.ts';
import { commitsById, findCommit, NOT_FOUND, repoHash, repoUrl, requireCommit } from '../commits.ts';
import { nowSeconds, type ApiDeps, type ApiState, type Auth } from '../context.ts';
import { float } from '../json.ts';
import { int, parseParams, requireJson, str } from '../params.ts';
import { InputError, NotFoundError } from '../../lib/domain/errors.ts';

const LIMIT_CAP = 100;

const promotionsSchema = z
  .object({
    commit_hash: str.optional(),
    distro_hash: str.optional(),
    extended_hash: str.optional(),
    aggregate_hash: str.optional(),
    promote_name: str.optional(),
    offset: int.refine((n) => n >= 0, 'offset must be greater than or equal to 0').optional(),
    limit: int.refine((n) => n >= 0, 'limit must be greater than or equal to 0').optional(),
    component: str.optional(),
  })
  .passthrough();

const promoteSchema = z
  .object({
    commit_hash: str.optional(),
    distro_hash: str.optional(),
    extended_hash: str.optional(),
    promote_name: str,
  })
  .passthrough();

/** DLRN's answer to a promotion. */
const promotionBody = (
  baseurl: string | null,
  p: z.output<typeof promoteSchema>,
  commit: CommitAttributes,
  timestamp: number,
  user: string | null,
  aggregateHash: string | null,
) => ({
  commit_hash: p.commit_hash,
  distro_hash: p.distro_hash,
  extended_hash: commit.extendedHash,
  repo_hash: repoHash(commit),
  repo_url: repoUrl(baseurl, commit),
  promote_name: p.promote_name,
  component: commit.component,
  timestamp: float(timestamp),
  user,
  aggregate_hash: aggregateHash,
});

type RouteContext = RouterContext<ApiState>;

/** DLRN's promotions: the newest promotions, filtered, 100 at most. */
const promotions =
  (deps: ApiDeps) =>
  async (ctx: RouteContext): Promise<void> => {
    const p = parseParams(ctx, promotionsSchema);
    if (Boolean(p.commit_hash) !== Boolean(p.distro_hash))
      throw new InputError('Both commit_hash and distro_hash must be specified');
    const where: WhereOptions<PromotionAttributes>[] = [];
    if (p.commit_hash && p.distro_hash) {
      const commit = await findCommit(deps.db, p.commit_hash, p.distro_hash, p.extended_hash);
      if (!commit) throw new NotFoundError(NOT_FOUND);
      where.push({ commitId: commit.id });
    }
    if (p.aggregate_hash) where.push({ aggregateHash: p.aggregate_hash });
    if (p.promote_name) where.push({ promotionName: p.promote_name });
    if (p.component) where.push({ component: p.component });
    // DLRN: no limit unless one is given, and never more than 100 then.
    const limit = p.limit === undefined ? undefined : Math.min(p.limit, LIMIT_CAP);
    if (limit === 0) {
      ctx.body = [];
      return;
    }
    const rows = (
      await deps.db.models.Promotion.findAll({
        where: { [Op.and]: where },
        order: [['id', 'DESC']],
        ...(p.offset ? { offset: p.offset } : {}),
        ...(limit === undefined ? {} : { limit }),
      })
    ).map((r) => r.get({ plain: true }));
    const commits = await commitsById(
      deps.db,
      rows.map((r) => r.commitId),
    );
    ctx.body = rows.flatMap((r) => {
      const c = commits.get(r.commitId);
      if (!c || (c.type ?? 'rpm') !== 'rpm') return [];
      return [
        {
          // The stored integer, as DLRN answers it (only promote's own answer has a float).
          timestamp: r.timestamp,
          commit_hash: c.commitHash,
          distro_hash: c.distroHash,
          extended_hash: c.extendedHash,
          aggregate_hash: r.aggregateHash,
          repo_hash: repoHash(c),
          repo_url: repoUrl(deps.config.default.baseurl, c),
          promote_name: r.promotionName,
          component: r.component,
          user: r.user,
        },
      ];
    });
  };

/** The components builds belong to (use_components). */
const components =
  (deps: ApiDeps) =>
  async (ctx: RouteContext): Promise<void> => {
    const rows = await deps.db.models.Promotion.findAll({
      attributes: ['component'],
      where: { component: { [Op.ne]: null } },
      group: ['component'],
    });
    ctx.body = {
      components: rows
        .map((r) => r.getDataValue('component'))
        .filter((c): c is string => Boolean(c))
        .sort(),
    };
  };

/** DLRN's promote: a name moved to a commit's repository, atomically, and recorded. */
const promote =
  (deps: ApiDeps) =>
  async (ctx: RouteContext): Promise<void> => {
    requireJson(ctx);
    const p = parseParams(ctx, promoteSchema);
    if (!p.commit_hash || !p.distro_hash)
      throw new InputError('Both commit_hash and distro_hash must be specified.');
    const commit = await requireCommit(deps.db, p.commit_hash, p.distro_hash, p.extended_hash);
    const link = promotionLink(deps.config, commit, p.promote_name);
    await assertLinkable(link);
    const timestamp = Math.trunc(nowSeconds(deps));
    // Under the name's lock, the link and the row together: a link that cannot be made is a
    // ToolError (a 500 with DLRN's message), a row that cannot be written puts the link back.
    const { aggregateHash } = await applyPromotion(deps, {
      link,
      row: {
        commitId: commit.id,
        promotionName: p.promote_name,
        timestamp,
        user: ctx.state.user ?? null,
        component: commit.component,
      },
      aggregate: deps.config.default.useComponents,
    });
    const body = promotionBody(
      deps.config.default.baseurl,
      p,
      commit,
      timestamp,
      ctx.state.user ?? null,
      aggregateHash,
    );
    await emitEvent(deps, 'promotion', body);
    ctx.status = 201;
    ctx.body = body;
  };

type BatchItem = { p: z.output<typeof promoteSchema>; commit: CommitAttributes; link: PromotionLink };

/** Every item of a promote-batch body checked, as DLRN does, before anything is touched. */
const checkBatch = async (deps: ApiDeps, ctx: RouteContext, body: unknown): Promise<BatchItem[]> => {
  if (!Array.isArray(body)) throw new InputError('The body must be a JSON array of promotions');
  const items: BatchItem[] = [];
  for (const raw of body) {
    const p = parseParams(ctx, promoteSchema, raw as Record<string, unknown>);
    if (!p.commit_hash || !p.distro_hash)
      throw new InputError('Both commit_hash and distro_hash must be specified.');
    const commit = await findCommit(deps.db, p.commit_hash, p.distro_hash, p.extended_hash);
    if (!commit)
      throw new NotFoundError(
        `commit_hash+distro_hash+extended_hash not found for ${p.commit_hash}_${p.distro_hash}_${p.extended_hash ?? 'None'}`,
      );
    const link = promotionLink(deps.config, commit, p.promote_name);
    await assertLinkable(link);
    items.push({ p, commit, link });
  }
  return items;
};

/** The promoteBatch saga over checked items, to its end: the aggregate hash, or DLRN's 500. */
const runPromoteBatch = async (
  deps: ApiDeps,
  items: BatchItem[],
  user: string | null,
  timestamp: number,
): Promise<PromoteBatchResult> => {
  const temporal = requireTemporal(deps);
  try {
    return await temporal.client.workflow.execute<typeof promoteBatch>('promoteBatch', {
      taskQueue: temporal.taskQueue,
      workflowId: promoteBatchWorkflowId(timestamp * 1000, randomBytes(4).toString('hex')),
      args: [
        {
          items: items.map(({ p, commit, link }) => ({
            commitId: commit.id,
            promoteName: p.promote_name,
            component: commit.component,
            link,
            commitHash: commit.commitHash ?? '',
            distroHash: commit.distroHash ?? '',
          })),
          user,
          timestamp,
          useComponents: deps.config.default.useComponents,
        },
      ],
    });
  } catch (err) {
    throw workflowError(err);
  }
};

/** DLRN's promote-batch, as the promoteBatch saga: every item checked first, then the workflow. */
const promoteBatchRoute =
  (deps: ApiDeps) =>
  async (ctx: RouteContext): Promise<void> => {
    requireJson(ctx);
    const items = await checkBatch(deps, ctx, (ctx.request as { body?: unknown }).body);
    const last = items.at(-1);
    if (!last) throw new InputError('The array of promotions is empty');
    const timestamp = Math.trunc(nowSeconds(deps));
    const user = ctx.state.user ?? null;
    const result = await runPromoteBatch(deps, items, user, timestamp);
    const { baseurl } = deps.config.default;
    for (const { p, commit } of items)
      await emitEvent(deps, 'promotion', promotionBody(baseurl, p, commit, timestamp, user, null));
    ctx.status = 201;
    ctx.body = promotionBody(baseurl, last.p, last.commit, timestamp, user, result.aggregateHash);
  };

export const promotionRoutes = (deps: ApiDeps, auth: Auth): Router<ApiState> => {
  const router = new Router<ApiState>();
  router.get('/api/promotions', auth.read, auth.cached, promotions(deps));
  router.get('/api/components', auth.read, components(deps));
  router.post('/api/promote', auth.write, promote(deps));
  router.post('/api/promote-batch', auth.write, promoteBatchRoute(deps));
  return router;
};
