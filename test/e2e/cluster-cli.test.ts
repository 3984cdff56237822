/**
 * In cluster mode the commands are clients only: the workers own the database. `dlrn --dry-run`
 * and `dlrn-purge` run here against the harness's server with a database URL nothing listens on,
 * while an in-process worker (the real activities, the demo's own database) serves their
 * workflows.
 */
import test from 'ava';
import { Worker } from '@temporalio/worker';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createActivities } from '../../activities/index.ts';
import { WORKER_TUNING } from '../../cli/worker.ts';
import { loadConfig } from '../../lib/config/index.ts';
import { openDatabase } from '../../lib/db/index.ts';
import { createLogger } from '../../lib/logger.ts';
import { makeDemo } from '../../scripts/make-demo.ts';
import { runCli } from '../helpers/cli.ts';
import { temporalAddress, uniqueTaskQueue } from '../helpers/services.ts';
import { connectTemporal, workflowBundle } from '../helpers/temporal.ts';

test('in cluster mode dlrn and dlrn-purge never open the database: one they cannot reach does not matter', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dlrnt-cluster-cli-'));
  const ini = await makeDemo(join(dir, 'demo'));
  const config = await loadConfig(ini);
  const db = await openDatabase(config.default.databaseConnection);
  const env = await connectTemporal();
  const taskQueue = uniqueTaskQueue('cluster-cli');
  const worker = await Worker.create({
    connection: env.connection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    ...WORKER_TUNING,
    activities: createActivities({ config, db, logger: createLogger({ level: 'fatal' }) }),
  });
  const running = worker.run();
  const cluster = [
    '--config-file',
    ini,
    '--config-override',
    `temporal.address=${temporalAddress()}`,
    '--config-override',
    `temporal.task_queue=${taskQueue}`,
    '--config-override',
    'DEFAULT.database_connection=postgresql://nobody@127.0.0.1:1/unreachable',
  ];
  try {
    // (--status is the one question dlrn answers from the database itself, without Temporal.)
    const plan = await runCli('dlrn', [...cluster, '--dry-run'], { cwd: dir });
    t.is(plan.code, 0, plan.stderr);
    t.regex(plan.stdout, /^12 commits to build/m);
    const purge = await runCli('dlrn-purge', [...cluster, '--older-than', '1', '-y', '--dry-run'], {
      cwd: dir,
    });
    t.is(purge.code, 0, purge.stderr);
    t.regex(purge.stdout, /^Dry run, nothing changed\. Would purge 0 builds/m);
  } finally {
    worker.shutdown();
    await running;
    await env.close();
    await db.close();
    await rm(dir, { recursive: true, force: true });
  }
});
