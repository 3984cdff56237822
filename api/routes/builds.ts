/** `GET/POST /api/health`, `GET /api/metrics/builds` and `POST /api/recheck_package` (dlrn-spec §7.2). */
import { Router, type RouterContext } from '@koa/router';
import { Op } from 'sequelize';
import { z } from 'zod';
import type { ApiDeps, ApiState, Auth } from '../context.ts';
import { parseParams, str } from '../params.ts';
import { ConflictError, InputError, NotFoundError } from '../../lib/domain/errors.ts';

const day = z.string().transform((v, ctx) => {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v);
  const t = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) / 1000 : NaN;
  if (!m || !Number.isFinite(t) || new Date(t * 1000).toISOString().slice(0, 10) !== v) {
    ctx.addIssue({ code: 'custom', message: 'Invalid date format, it must be YYYY-mm-dd' });
    return z.NEVER;
  }
  return t;
});

export const buildRoutes = (deps: ApiDeps, auth: Auth): Router<ApiState> => {
  const router = new Router<ApiState>();
  const { models } = deps.db;

  const health = async (ctx: RouterContext<ApiState>) => {
    const any = await models.Commit.findOne({ attributes: ['id'] });
    ctx.body = { result: any ? 'ok' : 'ok, no commits in DB' };
  };
  router.get('/api/health', auth.read, health);
  router.post('/api/health', auth.write, health);

  router.get('/api/metrics/builds', auth.read, async (ctx) => {
    let p: { start_date: number; end_date: number; package_name?: string | undefined };
    try {
      p = parseParams(
        ctx,
        z.object({ start_date: day, end_date: day, package_name: str.optional() }).passthrough(),
      );
    } catch (err) {
      if (err instanceof InputError && /YYYY-mm-dd/.test(err.message))
        throw new InputError('Invalid date format, it must be YYYY-mm-dd');
      throw err;
    }
    const project = p.package_name ? { projectName: p.package_name } : {};
    const succeeded = await models.Commit.count({
      where: { ...project, status: 'SUCCESS', dtBuild: { [Op.gte]: p.start_date, [Op.lt]: p.end_date } },
    });
    const failed = await models.Commit.count({
      where: { ...project, status: 'FAILED', dtBuild: { [Op.gte]: p.start_date, [Op.lte]: p.end_date } },
    });
    ctx.body = { succeeded, failed, total: succeeded + failed };
  });

  router.post('/api/recheck_package', auth.write, async (ctx) => {
    const p = parseParams(ctx, z.object({ package_name: str }).passthrough());
    const last = await models.Commit.findOne({
      where: { projectName: p.package_name, type: 'rpm', status: { [Op.ne]: 'RETRY' } },
      order: [['id', 'DESC']],
    });
    if (!last)
      throw new NotFoundError(
        `Could not find commits for package ${p.package_name}. There are no existing commits or the commit to be rechecked is already marked as RETRY.`,
      );
    if (last.getDataValue('status') === 'SUCCESS')
      throw new ConflictError(
        `Could not recheck package ${p.package_name}. It's not possible to recheck a successful commit`,
      );
    await last.destroy();
    ctx.status = 201;
    ctx.body = { result: 'ok' };
  });
  return router;
};
