/**
 * DLRN's HTML pages (dlrn-spec §7.3): `civotes.html` and `civotes_agg.html` (the newest 100
 * votes, grouped, rendered here), and `civotes_detail.html`, `civotes_agg_detail.html` and
 * `report.html`, whose rows the browser fetches from `/api/graphql` (api/static/dlrn-api.js;
 * no CDN, unlike DLRN's jQuery and DataTables). Assets are served under `/static/`.
 */
import { Router, type RouterContext } from '@koa/router';
import { readFile } from 'node:fs/promises';
import nunjucks from 'nunjucks';
import { Op } from 'sequelize';
import { z } from 'zod';
import { PROJECT_ROOT } from '../../lib/paths.ts';
import { findCommit, repoHash } from '../commits.ts';
import type { ApiDeps, ApiState, Auth } from '../context.ts';
import { bool, int, parseParams, str } from '../params.ts';
import { InputError } from '../../lib/domain/errors.ts';

const PAGE = 100;
/** The API's page templates (templates/api), escaped. */
export const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(`${PROJECT_ROOT}/templates/api`), {
  autoescape: true,
});
const STATIC: Record<string, { file: string; type: string }> = {
  'styles.css': { file: `${PROJECT_ROOT}/templates/stylesheets/styles.css`, type: 'text/css' },
  'dlrn-api.js': {
    file: `${PROJECT_ROOT}/api/static/dlrn-api.js`,
    type: 'application/javascript',
  },
};

const when = (seconds: number | null): string =>
  seconds
    ? new Date(seconds * 1000)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, '')
    : '';

const offsetSchema = z
  .object({ offset: int.refine((n) => n >= 0, 'offset must be greater than or equal to 0').optional() })
  .passthrough();

interface Group {
  key: string;
  detail: string;
  repoHash?: string;
  component?: string | null;
  lastTs: number;
  last: string;
  passed: number;
  failed: number;
}

const tally = (
  groups: Map<string, Group>,
  key: string,
  make: () => Omit<Group, 'passed' | 'failed' | 'lastTs' | 'last'>,
  vote: boolean | null,
  ts: number | null,
) => {
  const g = groups.get(key) ?? { ...make(), passed: 0, failed: 0, lastTs: 0, last: '' };
  if (vote) g.passed++;
  else g.failed++;
  if ((ts ?? 0) > g.lastTs) {
    g.lastTs = ts ?? 0;
    g.last = when(ts);
  }
  groups.set(key, g);
};

type PageContext = RouterContext<ApiState>;

const sorted = (groups: Map<string, Group>) => [...groups.values()].sort((a, b) => b.lastTs - a.lastTs);

/** The scripts and styles the pages load (no CDN). */
const staticFile = async (ctx: PageContext): Promise<void> => {
  const asset = STATIC[ctx.params.name ?? ''];
  if (!asset) return; // Koa's 404
  ctx.type = asset.type;
  ctx.body = await readFile(asset.file);
};

/** The newest votes grouped by commit, as DLRN's civotes.html. */
const civotesPage =
  (deps: ApiDeps) =>
  async (ctx: PageContext): Promise<void> => {
    const offset = parseParams(ctx, offsetSchema).offset ?? 0;
    const votes = await deps.db.models.CiVote.findAll({
      where: { ciName: { [Op.ne]: 'consistent' } },
      order: [
        ['timestamp', 'DESC'],
        ['id', 'DESC'],
      ],
      offset,
      limit: PAGE,
    });
    const commits = new Map(
      (
        await deps.db.models.Commit.findAll({
          where: { id: { [Op.in]: [...new Set(votes.map((v) => v.getDataValue('commitId')))] } },
        })
      ).map((c) => [c.getDataValue('id'), c.get({ plain: true })]),
    );
    const groups = new Map<string, Group>();
    for (const row of votes) {
      const v = row.get({ plain: true });
      const c = commits.get(v.commitId);
      if (!c) continue;
      tally(
        groups,
        `${v.commitId}`,
        () => ({
          key: c.commitHash ?? '',
          repoHash: repoHash(c),
          component: v.component,
          detail: `civotes_detail.html?commit_hash=${c.commitHash ?? ''}&distro_hash=${c.distroHash ?? ''}`,
        }),
        v.ciVote,
        v.timestamp,
      );
    }
    ctx.type = 'html';
    ctx.body = env.render('votes.html.j2', {
      title: 'CI votes',
      groupedBy: 'commit',
      keyTitle: 'Commit hash',
      withCommit: true,
      rows: sorted(groups),
      offset,
      limit: PAGE,
    });
  };

/** The newest votes on aggregates grouped by aggregate hash. */
const civotesAggPage =
  (deps: ApiDeps) =>
  async (ctx: PageContext): Promise<void> => {
    const offset = parseParams(ctx, offsetSchema).offset ?? 0;
    const votes = await deps.db.models.CiVoteAgg.findAll({
      order: [
        ['timestamp', 'DESC'],
        ['id', 'DESC'],
      ],
      offset,
      limit: PAGE,
    });
    const groups = new Map<string, Group>();
    for (const row of votes) {
      const v = row.get({ plain: true });
      tally(
        groups,
        v.refHash,
        () => ({ key: v.refHash, detail: `civotes_agg_detail.html?ref_hash=${v.refHash}` }),
        v.ciVote,
        v.timestamp,
      );
    }
    ctx.type = 'html';
    ctx.body = env.render('votes.html.j2', {
      title: 'CI votes on aggregates',
      groupedBy: 'aggregate hash',
      keyTitle: 'Aggregate hash',
      withCommit: false,
      rows: sorted(groups),
      offset,
      limit: PAGE,
    });
  };

/** The votes of a commit, a component or a job; rows filled from GraphQL. */
const civotesDetailPage =
  (deps: ApiDeps) =>
  async (ctx: PageContext): Promise<void> => {
    const p = parseParams(
      ctx,
      offsetSchema.extend({
        commit_hash: str.optional(),
        distro_hash: str.optional(),
        component: str.optional(),
        ci_name: str.optional(),
        success: bool.optional(),
      }),
    );
    const byCommit = Boolean(p.commit_hash && p.distro_hash);
    if (!byCommit && !p.component && !p.ci_name)
      throw new InputError(
        'Please specify either commit_hash+distro_hash, component or ci_name as parameters.',
      );
    const commit = byCommit ? await findCommit(deps.db, p.commit_hash ?? '', p.distro_hash ?? '') : undefined;
    const query: [string, string][] = [['query', 'civote']];
    if (byCommit) query.push(['commit-id', String(commit?.id ?? -1)]);
    if (p.success !== undefined) query.push(['ci-vote', String(p.success)]);
    if (p.component) query.push(['component', p.component]);
    if (p.ci_name) query.push(['ci-name', p.ci_name]);
    if (p.offset) query.push(['offset', String(p.offset)]);
    ctx.type = 'html';
    ctx.body = env.render('query.html.j2', {
      title: 'CI votes detail',
      subtitle: byCommit
        ? `Votes on ${p.commit_hash ?? ''}_${(p.distro_hash ?? '').slice(0, 8)}`
        : `Votes of ${p.ci_name ?? p.component ?? ''}`,
      columns: [
        'CI name',
        'Repo hash',
        'Component',
        'Results URL',
        'Vote',
        'In progress',
        'Timestamp',
        'Notes',
      ],
      query,
    });
  };

/** The votes of an aggregate or a job; rows filled from GraphQL. */
const civotesAggDetailPage = (ctx: PageContext): void => {
  const p = parseParams(
    ctx,
    offsetSchema.extend({ ref_hash: str.optional(), ci_name: str.optional(), success: bool.optional() }),
  );
  if (!p.ref_hash && !p.ci_name)
    throw new InputError('Please specify either ref_hash or ci_name as parameters.');
  const query: [string, string][] = [['query', 'civoteAgg']];
  if (p.ref_hash) query.push(['ref-hash', p.ref_hash]);
  if (p.ci_name) query.push(['ci-name', p.ci_name]);
  if (p.success !== undefined) query.push(['ci-vote', String(p.success)]);
  if (p.offset) query.push(['offset', String(p.offset)]);
  ctx.type = 'html';
  ctx.body = env.render('query.html.j2', {
    title: 'CI votes on an aggregate, detail',
    subtitle: `Votes on ${p.ref_hash ?? p.ci_name ?? ''}`,
    columns: ['CI name', 'Aggregate hash', 'Results URL', 'Vote', 'In progress', 'Timestamp', 'Notes'],
    query,
  });
};

/** The detailed build report; rows filled from GraphQL. */
const reportPage =
  (deps: ApiDeps) =>
  (ctx: PageContext): void => {
    const p = parseParams(
      ctx,
      offsetSchema.extend({ package: str.optional(), component: str.optional(), success: str.optional() }),
    );
    const query: [string, string][] = [
      ['query', 'commits'],
      ['baseurl', deps.config.default.baseurl ?? ''],
    ];
    if (p.package) query.push(['package', p.package]);
    if (p.component) query.push(['component', p.component]);
    if (p.success !== undefined) query.push(['status', p.success === '1' ? 'SUCCESS' : 'FAILED']);
    if (p.offset) query.push(['offset', String(p.offset)]);
    ctx.type = 'html';
    ctx.body = env.render('query.html.j2', {
      title: 'Detailed build report',
      subtitle: p.package ? `Builds of ${p.package}` : 'The newest builds',
      columns: [
        'Build date/time',
        'Commit date/time',
        'Project',
        'Version-release',
        'Commit hash',
        'Component',
        'Status',
        'Repository',
        'Build log',
      ],
      query,
    });
  };

export const pageRoutes = (deps: ApiDeps, auth: Auth): Router<ApiState> => {
  const router = new Router<ApiState>();
  router.get('/static/:name', staticFile);
  router.get('/api/civotes.html', auth.read, civotesPage(deps));
  router.get('/api/civotes_agg.html', auth.read, civotesAggPage(deps));
  router.get('/api/civotes_detail.html', auth.read, civotesDetailPage(deps));
  router.get('/api/civotes_agg_detail.html', auth.read, civotesAggDetailPage);
  router.get('/api/report.html', auth.read, reportPage(deps));
  return router;
};
