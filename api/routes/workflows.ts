/**
 * Endpoints that start workflows: `POST /api/remote/import` (DLRN's; the importCommit
 * workflow) and `POST /api/trigger` (ours: a run now, so a forge webhook can replace polling).
 */
import { Router } from '@koa/router';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { commandWorkflowId, triggerWorkflowId } from '../../lib/domain/temporal-names.ts';
import type { importCommit } from '../../workflows/import.ts';
import type { RunInput } from '../../workflows/run.ts';
import { nowSeconds, type ApiDeps, type ApiState, type Auth } from '../context.ts';
import { parseParams, requireJson, str } from '../params.ts';
import { requireTemporal, workflowError } from '../temporal.ts';
import { InputError } from '../../lib/domain/errors.ts';

/** A build run as `dlrn` without flags makes it, for some packages or projects or all. */
const triggeredRun = (deps: ApiDeps, packageNames: string[], projectNames: string[]): RunInput => ({
  mode: 'build',
  driverRun: { cwd: process.cwd(), dev: false, local: false },
  packageNames,
  projectNames,
  headOnly: false,
  dev: false,
  order: false,
  buildEnv: [],
  stop: false,
  discoveryConcurrency: 4,
  workers: deps.config.default.workers,
  maxretries: deps.config.default.maxretries,
  baseurl: deps.config.default.baseurl,
  noRepo: false,
  webhooks: deps.config.api.webhookUrls.length > 0,
  rsync: deps.config.default.rsyncdest !== '',
});

export const workflowRoutes = (deps: ApiDeps, auth: Auth): Router<ApiState> => {
  const router = new Router<ApiState>();
  router.post('/api/remote/import', auth.write, async (ctx) => {
    requireJson(ctx);
    const p = parseParams(ctx, z.object({ repo_url: str }).passthrough());
    let url: URL | undefined;
    try {
      url = new URL(p.repo_url);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))
      throw new InputError(`repo_url ${p.repo_url} is not an http or https URL`);
    const temporal = requireTemporal(deps);
    const workflowId = commandWorkflowId('import', nowSeconds(deps) * 1000, randomBytes(4).toString('hex'));
    try {
      await temporal.client.workflow.execute<typeof importCommit>('importCommit', {
        taskQueue: temporal.taskQueue,
        workflowId,
        args: [{ repoUrl: p.repo_url, driverRun: { cwd: process.cwd(), dev: false, local: false } }],
      });
    } catch (err) {
      throw workflowError(err, 'Remote import failed with error: ');
    }
    ctx.status = 201;
    ctx.body = { repo_url: p.repo_url };
  });

  router.post('/api/trigger', auth.write, async (ctx) => {
    const p = parseParams(
      ctx,
      z.object({ project_name: str.optional(), package_name: str.optional() }).passthrough(),
    );
    if (p.project_name && p.package_name) throw new InputError('Give project_name or package_name, not both');
    const temporal = requireTemporal(deps);
    const target = p.package_name
      ? `package:${p.package_name}`
      : p.project_name
        ? `project:${p.project_name}`
        : 'all';
    // One id per target: a burst of webhooks while a run for the same target is going joins it
    // instead of starting a second, overlapping run.
    const handle = await temporal.client.workflow.start('run', {
      taskQueue: temporal.taskQueue,
      workflowId: triggerWorkflowId(target),
      workflowIdConflictPolicy: 'USE_EXISTING',
      args: [
        triggeredRun(deps, p.package_name ? [p.package_name] : [], p.project_name ? [p.project_name] : []),
      ],
    });
    ctx.status = 201;
    ctx.body = { workflow_id: handle.workflowId, run_id: handle.firstExecutionRunId, target };
  });
  return router;
};
