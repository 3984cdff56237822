/**
 * `dlrn-worker`: executes build workflows and activities. In cluster mode (`[temporal]
 * address` set) any number of these run on any machines; in local mode it starts the dev
 * server with its Web UI when none is listening. `--check` runs the checkWorker workflow on
 * this worker and prints what the host has.
 */
import { randomUUID } from 'node:crypto';
import type { checkWorker } from '../workflows/check-worker.ts';
import { checkWorkerId } from '../lib/domain/temporal-names.ts';
import { ToolError } from '../lib/domain/errors.ts';
import { createLogger } from '../lib/logger.ts';
import { addConfigOptions, newCommand, openConfiguredDatabase, readConfig, VERSION } from './common.ts';
import { EXIT_FAILURE, EXIT_OK, runMain } from './errors.ts';
import { say } from './output.ts';
import {
  connectClient,
  createWorker,
  installRuntimeLogger,
  resolveTemporal,
  workflowUrl,
  stopWorker,
} from './worker.ts';

interface WorkerFlags {
  configFile: string;
  configOverride: string[];
  debug: boolean;
  check: boolean;
}

const REQUIRED_TOOLS = ['rpmbuild', 'rpmspec', 'createrepo_c', 'git'];

const main = async (): Promise<number> => {
  const flags = addConfigOptions(
    newCommand('dlrn-worker', 'Run a worker that executes DLRN build workflows.'),
  )
    .option('--check', 'run the checkWorker workflow on this worker, print the result and exit', false)
    .version(VERSION, '--version')
    .parse()
    .opts<WorkerFlags>();
  const config = await readConfig(flags);
  // A check is a command a person reads: worker chatter only when something is wrong.
  const logger = createLogger({
    debug: flags.debug,
    name: 'dlrn-worker',
    level: flags.check ? 'warn' : 'info',
  });
  installRuntimeLogger(logger, config.temporal.metricsPort);
  // A worker waits out a database restart; a check says at once that the database is down.
  const db = await openConfiguredDatabase(config, flags.check ? {} : { worker: { logger } });
  const endpoint = await resolveTemporal(config);
  try {
    const worker = await createWorker(endpoint, { config, db, logger });
    if (!flags.check) {
      say(`dlrn-worker polling task queue "${endpoint.taskQueue}" on ${endpoint.address}`);
      if (endpoint.uiUrl) say(`Temporal Web UI: ${endpoint.uiUrl}`);
      process.once('SIGINT', () => stopWorker(worker));
      process.once('SIGTERM', () => stopWorker(worker));
      await worker.run();
      return EXIT_OK;
    }
    const client = await connectClient(endpoint);
    const workflowId = checkWorkerId(endpoint.taskQueue, randomUUID());
    const result = await worker.runUntil(
      client.workflow.execute<typeof checkWorker>('checkWorker', {
        taskQueue: endpoint.taskQueue,
        workflowId,
        args: [{ requiredTools: REQUIRED_TOOLS }],
      }),
    );
    const { inspection } = result;
    say(`worker ${inspection.hostname} (pid ${inspection.pid}, node ${inspection.node})`);
    for (const [tool, version] of Object.entries(inspection.tools))
      say(`  ${tool.padEnd(13)} ${version ?? 'MISSING'}`);
    say(
      `  database      ${db.target.display} (${inspection.database.dialect}, alembic ${inspection.database.alembicVersion ?? 'none'}, ${inspection.database.commits} commits)`,
    );
    const url = workflowUrl(endpoint, workflowId);
    say(`  workflow      ${workflowId}${url ? `\n  Web UI        ${url}` : ''}`);
    if (result.missingTools.length > 0) {
      throw new ToolError(`this worker lacks ${result.missingTools.join(', ')}; run scripts/bootstrap.sh`);
    }
    return result.missingTools.length === 0 ? EXIT_OK : EXIT_FAILURE;
  } finally {
    await endpoint.local?.release();
    await db.close();
  }
};

runMain(main);
