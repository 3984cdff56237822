/**
 * Waivers of automatic promotion (ours): `POST /api/waivers` makes one (a target, a job, a reason,
 * an expiry, optionally one candidate), `GET /api/waivers` lists those in force (`all=true`: every
 * one ever made), `DELETE /api/waivers/<id>` withdraws one. Writes are authenticated and record the
 * user; a withdrawn waiver keeps its row.
 */
import { Router, type RouterContext } from '@koa/router';
import { z } from 'zod';
import {
  createWaiver,
  findWaiver,
  listWaivers,
  withdrawWaiver,
  type WaiverRecord,
} from '../../lib/db/waivers.ts';
import { commitKey } from '../../lib/db/promotion-candidates.ts';
import { ConflictError, InputError, NotFoundError } from '../../lib/domain/errors.ts';
import { checkPromoteName } from '../../lib/repo/promote.ts';
import { nowSeconds, type ApiDeps, type ApiState, type Auth } from '../context.ts';
import { bool, int, parseParams, requireJson, str } from '../params.ts';

type RouteContext = RouterContext<ApiState>;

/** Longest a waiver may last: a waiver is a stopgap, not a change of criteria. */
const MAX_WAIVER_SECONDS = 90 * 24 * 3600;

const createSchema = z
  .object({
    promote_name: str,
    job_id: str.min(1, 'ensure this value has at least 1 characters').max(256),
    reason: str.min(1, 'ensure this value has at least 1 characters').max(4096),
    expires_at: int.optional(),
    expires_in: int.optional(),
    commit_hash: str.optional(),
    distro_hash: str.optional(),
    extended_hash: str.optional(),
    aggregate_hash: str.optional(),
  })
  .passthrough();

const listSchema = z.object({ promote_name: str.optional(), all: bool.optional() }).passthrough();

/** The candidate a waiver is limited to: DLRN's commit/distro(/extended) pair or an aggregate hash. */
export const candidateKey = (p: {
  commit_hash?: string;
  distro_hash?: string;
  extended_hash?: string;
  aggregate_hash?: string;
}): string | null => {
  if (p.aggregate_hash !== undefined) {
    if (p.commit_hash !== undefined || p.distro_hash !== undefined)
      throw new InputError('Give either aggregate_hash or commit_hash and distro_hash, not both');
    return p.aggregate_hash;
  }
  if (p.commit_hash === undefined && p.distro_hash === undefined) return null;
  if (p.commit_hash === undefined || p.distro_hash === undefined)
    throw new InputError('commit_hash and distro_hash go together');
  return commitKey({
    commitHash: p.commit_hash,
    distroHash: p.distro_hash,
    extendedHash: p.extended_hash ?? null,
  });
};

export const waiverJson = (w: WaiverRecord) => ({
  id: w.id,
  promote_name: w.target,
  job_id: w.job,
  reason: w.reason,
  candidate: w.candidate,
  expires_at: w.expiresAt,
  user: w.user,
  created_at: w.createdAt,
  withdrawn_by: w.withdrawnBy,
  withdrawn_at: w.withdrawnAt,
});

const create =
  (deps: ApiDeps) =>
  async (ctx: RouteContext): Promise<void> => {
    requireJson(ctx);
    const p = parseParams(ctx, createSchema);
    checkPromoteName(p.promote_name);
    const now = Math.trunc(nowSeconds(deps));
    if ((p.expires_at === undefined) === (p.expires_in === undefined))
      throw new InputError(
        'Give the waiver an end: expires_at (epoch seconds) or expires_in (seconds), one of them',
      );
    const expiresAt = p.expires_at ?? now + (p.expires_in ?? 0);
    if (expiresAt <= now) throw new InputError(`expires_at ${expiresAt} is not in the future (now ${now})`);
    if (expiresAt - now > MAX_WAIVER_SECONDS)
      throw new InputError(
        `a waiver lasts at most ${MAX_WAIVER_SECONDS / 86400} days; change the criteria instead`,
      );
    const waiver = await createWaiver(deps.db, {
      target: p.promote_name,
      job: p.job_id,
      reason: p.reason,
      candidate: candidateKey(p),
      expiresAt,
      user: ctx.state.user ?? '',
      createdAt: now,
    });
    ctx.state.changed = [`waivers:${waiver.target}`];
    deps.wakePromotions?.({ target: waiver.target });
    ctx.status = 201;
    ctx.body = waiverJson(waiver);
  };

const list =
  (deps: ApiDeps) =>
  async (ctx: RouteContext): Promise<void> => {
    const p = parseParams(ctx, listSchema);
    const waivers = await listWaivers(deps.db, {
      now: Math.trunc(nowSeconds(deps)),
      ...(p.promote_name === undefined ? {} : { target: p.promote_name }),
      ...(p.all ? { all: true } : {}),
    });
    ctx.body = waivers.map(waiverJson);
  };

const withdraw =
  (deps: ApiDeps) =>
  async (ctx: RouteContext): Promise<void> => {
    const id = Number(ctx.params.id);
    if (!/^\d+$/.test(ctx.params.id ?? '') || !Number.isSafeInteger(id) || id > 2 ** 31 - 1)
      throw new InputError(`Invalid waiver id ${JSON.stringify(ctx.params.id)}`);
    const waiver = await findWaiver(deps.db, id);
    if (!waiver) throw new NotFoundError(`No waiver ${id}`);
    const now = Math.trunc(nowSeconds(deps));
    if (!(await withdrawWaiver(deps.db, id, ctx.state.user ?? '', now)))
      throw new ConflictError(`Waiver ${id} was withdrawn already, by ${waiver.withdrawnBy ?? '?'}`);
    ctx.state.changed = [`waivers:${waiver.target}`];
    deps.wakePromotions?.({ target: waiver.target });
    ctx.body = waiverJson((await findWaiver(deps.db, id)) ?? waiver);
  };

export const waiverRoutes = (deps: ApiDeps, auth: Auth): Router<ApiState> => {
  const router = new Router<ApiState>();
  router.post('/api/waivers', auth.write, create(deps));
  router.get('/api/waivers', auth.read, list(deps));
  router.delete('/api/waivers/:id', auth.write, withdraw(deps));
  return router;
};
