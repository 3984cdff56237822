/**
 * CI votes: `repo_status`, `agg_status`, `last_tested_repo` (GET and POST) and `report_result`,
 * with DLRN's parameters, rules and messages (dlrn-spec §7.2).
 */
import { Router, type RouterContext } from '@koa/router';
import type { CreationAttributes } from 'sequelize';
import { z } from 'zod';
import {
  newestVote,
  successfulCommitById,
  votesOfCommit,
  type CiVoteAttributes,
  type CiVoteModel,
  type CommitAttributes,
} from '../../lib/db/index.ts';
import { requireCommit } from '../commits.ts';
import { nowSeconds, type ApiDeps, type ApiState, type Auth } from '../context.ts';
import { bool, int, parseParams, requireJson, str } from '../params.ts';
import { emitEvent } from '../temporal.ts';
import { groupCommit } from '../group-commit.ts';
import { InputError, NotFoundError } from '../../lib/domain/errors.ts';

const voteOf = (
  vote: CiVoteAttributes,
  commit: Pick<CommitAttributes, 'commitHash' | 'distroHash' | 'extendedHash'>,
) => ({
  timestamp: vote.timestamp,
  commit_hash: commit.commitHash,
  distro_hash: commit.distroHash,
  extended_hash: commit.extendedHash,
  job_id: vote.ciName,
  success: Boolean(vote.ciVote),
  in_progress: Boolean(vote.ciInProgress),
  url: vote.ciUrl,
  notes: vote.notes,
  user: vote.user,
  component: vote.component,
});

const lastTestedSchema = z
  .object({
    max_age: int.refine((n) => n >= 0, 'Max age parameter must be greater than or equal to 0'),
    success: bool.optional(),
    job_id: str.optional(),
    sequential_mode: bool.optional(),
    previous_job_id: str.optional(),
    component: str.optional(),
  })
  .passthrough();

const lastTestedPostSchema = lastTestedSchema.extend({ reporting_job_id: str });

const repoStatusSchema = z
  .object({
    commit_hash: str,
    distro_hash: str,
    extended_hash: str.optional(),
    success: bool.optional(),
  })
  .passthrough();

const aggStatusSchema = z.object({ aggregate_hash: str, success: bool.optional() }).passthrough();

type LastTested = z.output<typeof lastTestedSchema>;

const checkLastTested = (p: LastTested): void => {
  if (p.max_age < 0) throw new InputError('Max age parameter must be greater than or equal to 0');
  if (p.sequential_mode && !p.previous_job_id) throw new InputError('Missing parameter previous_job_id');
};

/**
 * DLRN's vote search for last_tested_repo, with its fallbacks: the job's own votes (or, in
 * sequential mode, only the previous job's), then any vote, then any vote of the component.
 */
const findVote = async (deps: ApiDeps, p: LastTested): Promise<CiVoteAttributes> => {
  const cutoff = p.max_age === 0 ? 0 : nowSeconds(deps) - p.max_age * 3600;
  const job = p.sequential_mode ? p.previous_job_id : p.job_id;
  const newest = (narrow: { job?: boolean; component?: boolean }) =>
    newestVote(deps.db, {
      after: cutoff,
      ...(narrow.job ? { notConsistent: true, ...(job === undefined ? {} : { job }) } : {}),
      ...(p.success === undefined ? {} : { success: p.success }),
      ...(narrow.component && p.component !== undefined ? { component: p.component } : {}),
    });
  let vote = await newest({ job: true, component: true });
  if (!vote && p.sequential_mode) throw new NotFoundError('No vote found');
  if (!vote && job !== undefined) vote = await newest({});
  vote ??= await newest({ component: true });
  if (!vote) throw new NotFoundError('No vote found');
  return vote;
};

const commitOfVote = async (deps: ApiDeps, vote: CiVoteAttributes): Promise<CommitAttributes> => {
  const row = await successfulCommitById(deps.db, vote.commitId);
  if (!row) throw new NotFoundError('No vote found');
  return row;
};

const lastTestedBody = (vote: CiVoteAttributes, commit: CommitAttributes) => ({
  commit_hash: commit.commitHash,
  distro_hash: commit.distroHash,
  extended_hash: commit.extendedHash,
  timestamp: vote.timestamp,
  job_id: vote.ciName,
  success: Boolean(vote.ciVote),
  in_progress: Boolean(vote.ciInProgress),
  user: vote.user,
  component: vote.component,
});

const reportSchema = z
  .object({
    timestamp: int,
    success: bool,
    job_id: str,
    url: str,
    commit_hash: str.optional(),
    distro_hash: str.optional(),
    extended_hash: str.optional(),
    aggregate_hash: str.optional(),
    notes: str.optional(),
  })
  .passthrough();

/** Where report_result's votes go: grouped into shared transactions (api/group-commit.ts). */
type StoreVote = (row: CreationAttributes<CiVoteModel>) => Promise<void>;
type RouteContext = RouterContext<ApiState>;

/** DLRN's repo_status: the votes on a commit. */
const repoStatus =
  (deps: ApiDeps) =>
  async (ctx: RouteContext): Promise<void> => {
    const p = parseParams(ctx, repoStatusSchema);
    const commit = await requireCommit(deps.db, p.commit_hash, p.distro_hash, p.extended_hash);
    const votes = await votesOfCommit(deps.db, commit.id, p.success);
    ctx.state.cacheTags = [`commit:${commit.id}`];
    ctx.body = votes.map((v) =>
      voteOf(v, {
        commitHash: p.commit_hash,
        distroHash: p.distro_hash,
        extendedHash: commit.extendedHash,
      }),
    );
  };

/** DLRN's agg_status: the votes on an aggregate. */
const aggStatus =
  (deps: ApiDeps) =>
  async (ctx: RouteContext): Promise<void> => {
    const p = parseParams(ctx, aggStatusSchema);
    const votes = await deps.db.models.CiVoteAgg.findAll({
      where: { refHash: p.aggregate_hash, ...(p.success === undefined ? {} : { ciVote: p.success }) },
      order: [['id', 'ASC']],
    });
    ctx.state.cacheTags = [`aggregate:${p.aggregate_hash}`];
    ctx.body = votes.map((row) => {
      const v = row.get({ plain: true });
      return {
        timestamp: v.timestamp,
        aggregate_hash: v.refHash,
        job_id: v.ciName,
        success: Boolean(v.ciVote),
        in_progress: Boolean(v.ciInProgress),
        url: v.ciUrl,
        notes: v.notes,
        user: v.user,
      };
    });
  };

/** DLRN's last_tested_repo: the repository of the newest vote that matches. */
const lastTestedRepo =
  (deps: ApiDeps) =>
  async (ctx: RouteContext): Promise<void> => {
    const p = parseParams(ctx, lastTestedSchema);
    checkLastTested(p);
    const vote = await findVote(deps, p);
    // The newest vote that matches: any new vote may change it.
    ctx.state.cacheTags = ['votes'];
    ctx.body = lastTestedBody(vote, await commitOfVote(deps, vote));
  };

/** DLRN's POST last_tested_repo: the same search, recorded as an in-progress vote of the reporting job. */
const lastTestedRepoClaim =
  (deps: ApiDeps) =>
  async (ctx: RouteContext): Promise<void> => {
    requireJson(ctx);
    const p = parseParams(ctx, lastTestedPostSchema);
    checkLastTested(p);
    const vote = await findVote(deps, p);
    const commit = await commitOfVote(deps, vote);
    const created = await deps.db.models.CiVote.create({
      commitId: commit.id,
      ciName: p.reporting_job_id,
      ciUrl: '',
      ciVote: false,
      ciInProgress: true,
      timestamp: Math.trunc(nowSeconds(deps)),
      notes: '',
      user: ctx.state.user ?? null,
      component: vote.component,
    });
    ctx.state.changed = [`commit:${commit.id}`, 'votes'];
    ctx.status = 201;
    ctx.body = lastTestedBody(created.get({ plain: true }), commit);
  };

/** DLRN's report_result: a CI job's vote on a commit or an aggregate. */
const reportResult =
  (deps: ApiDeps, storeVote: StoreVote) =>
  async (ctx: RouteContext): Promise<void> => {
    requireJson(ctx);
    const p = parseParams(ctx, reportSchema);
    // DLRN's rules, in its order and words; an empty string counts as not given.
    if (!p.commit_hash && !p.distro_hash && !p.aggregate_hash)
      throw new InputError(
        '"Either the aggregate hash or both commit_hash and distro_hash must be provided"',
      );
    if (p.commit_hash && !p.distro_hash)
      throw new InputError('If commit_hash is provided, distro_hash must be provided too');
    if (p.distro_hash && !p.commit_hash)
      throw new InputError('If distro_hash is provided, commit_hash must be provided too');
    if (p.aggregate_hash && (p.commit_hash || p.distro_hash))
      throw new InputError('aggregate_hash and commit/distro_hash cannot be combined');
    const common = {
      ciName: p.job_id,
      ciUrl: p.url,
      ciVote: p.success,
      ciInProgress: false,
      timestamp: p.timestamp,
      notes: p.notes ?? '',
      user: ctx.state.user ?? null,
    };
    let commit: CommitAttributes | undefined;
    let component: string | null = null;
    if (p.aggregate_hash) {
      const known = await deps.db.models.Promotion.findOne({ where: { aggregateHash: p.aggregate_hash } });
      if (!known) throw new NotFoundError('aggregate_hash not found');
      // Set before the write: a write that fails half-way drops everything anyway.
      ctx.state.changed = [`aggregate:${p.aggregate_hash}`];
      await deps.db.models.CiVoteAgg.create({ refHash: p.aggregate_hash, ...common });
    } else {
      commit = await requireCommit(deps.db, p.commit_hash ?? '', p.distro_hash ?? '', p.extended_hash);
      component = commit.component;
      ctx.state.changed = [`commit:${commit.id}`, 'votes'];
      await storeVote({ commitId: commit.id, component, ...common });
    }
    const body = {
      commit_hash: p.commit_hash ?? null,
      distro_hash: p.distro_hash ?? null,
      extended_hash: commit ? commit.extendedHash : null,
      aggregate_hash: p.aggregate_hash ?? null,
      timestamp: p.timestamp,
      job_id: p.job_id,
      success: p.success,
      in_progress: false,
      url: p.url,
      notes: p.notes ?? '',
      user: ctx.state.user ?? null,
      component,
    };
    await emitEvent(deps, 'vote', body);
    deps.wakePromotions?.({ job: p.job_id });
    ctx.status = 201;
    ctx.body = body;
  };

export const voteRoutes = (deps: ApiDeps, auth: Auth): Router<ApiState> => {
  const router = new Router<ApiState>();
  const { models } = deps.db;
  // report_result's votes: concurrent ones share a transaction (api/group-commit.ts).
  const storeVote = groupCommit((rows: CreationAttributes<CiVoteModel>[]) => models.CiVote.bulkCreate(rows));

  router.get('/api/repo_status', auth.read, auth.cached, repoStatus(deps));
  router.get('/api/agg_status', auth.read, auth.cached, aggStatus(deps));
  router.get('/api/last_tested_repo', auth.read, auth.cached, lastTestedRepo(deps));
  router.post('/api/last_tested_repo', auth.write, lastTestedRepoClaim(deps));
  router.post('/api/report_result', auth.write, reportResult(deps, storeVote));
  return router;
};
