/**
 * `dlrn-server`: the all-in-one process for one machine. In local mode it starts the Temporal
 * dev server with its Web UI (history in `<datadir>/temporal.sqlite`, so it survives restarts)
 * unless one is listening, runs a worker, and keeps both up until SIGINT or SIGTERM, so a
 * person can browse builds and Temporal Schedules made with `dlrn schedule` start runs. In
 * cluster mode it runs a worker against the configured cluster. The DLRN API listens on
 * `[api] listen`:`port` beside them.
 */
import type { Server } from 'node:http';
import { createApp } from '../api/app.ts';
import { wakeTarget } from '../api/promotion-wake.ts';
import { loadCriteria } from '../lib/repo/promotion-criteria-file.ts';
import { createLogger } from '../lib/logger.ts';
import {
  addConfigOptions,
  newCommand,
  openConfiguredDatabase,
  readConfig,
  VERSION,
  type ConfigFlags,
} from './common.ts';
import { EXIT_OK, runMain } from './errors.ts';
import { say } from './output.ts';
import { connectClient, createWorker, installRuntimeLogger, resolveTemporal, stopWorker } from './worker.ts';

interface ServerFlags extends ConfigFlags {
  debug: boolean;
}

const main = async (): Promise<number> => {
  const flags = addConfigOptions(
    newCommand(
      'dlrn-server',
      'Keep Temporal (local mode), a worker, the Web UI and the API up on this machine.',
    ),
  )
    .version(VERSION, '--version')
    .parse()
    .opts<ServerFlags>();
  const config = await readConfig(flags);
  // Checked before anything starts: a bad criteria file is a configuration error.
  const criteria = await loadCriteria(config);
  const logger = createLogger({ debug: flags.debug, name: 'dlrn-server', level: 'warn' });
  installRuntimeLogger(logger, config.temporal.metricsPort);
  // The API answers at once when the database is down; the worker waits the outage out.
  const db = await openConfiguredDatabase(config);
  const workerDb = await openConfiguredDatabase(config, { worker: { logger } });
  const endpoint = await resolveTemporal(config);
  try {
    const worker = await createWorker(endpoint, { config, db: workerDb, logger });
    const { listen, port } = config.api;
    const apiClient = await connectClient(endpoint);
    const api: Server = await new Promise((ready, fail) => {
      const server = createApp({
        config,
        db,
        logger,
        temporal: { client: apiClient, taskQueue: endpoint.taskQueue },
      }).listen(port, listen, () => ready(server));
      server.once('error', fail);
    });
    const client = await connectClient(endpoint);
    // Automatic promotion: every target's workflow running.
    for (const target of criteria?.targets ?? []) await wakeTarget(client, endpoint.taskQueue, target.name);
    const schedules: string[] = [];
    for await (const s of client.schedule.list())
      schedules.push(`${s.scheduleId}${s.state.paused ? ' (paused)' : ''}`);
    await client.connection.close();
    say(`dlrn-server ready: worker polling task queue "${endpoint.taskQueue}" on ${endpoint.address}`);
    say(
      endpoint.local?.startedHere
        ? `  Temporal dev server started here; history in ${config.default.datadir}/temporal.sqlite`
        : `  Temporal at ${endpoint.address} (${config.temporal.address ? 'cluster mode' : 'a dev server already running'})`,
    );
    if (endpoint.uiUrl)
      say(`  Web UI        ${endpoint.uiUrl}/namespaces/${encodeURIComponent(endpoint.namespace)}/workflows`);
    say(`  API           http://${listen}:${port}/api/`);
    say(`  repositories  ${config.default.datadir}/repos`);
    if (criteria)
      say(
        `  promotions    ${criteria.targets.map((t) => t.name).join(', ') || 'no target'} (${criteria.file})`,
      );
    say(
      `  schedules     ${schedules.length ? schedules.join(', ') : 'none (dlrn schedule create --every N)'}`,
    );
    say('Stop with Ctrl-C.');
    process.once('SIGINT', () => stopWorker(worker));
    process.once('SIGTERM', () => stopWorker(worker));
    await worker.run();
    await new Promise<void>((closed) => api.close(() => closed()));
    await apiClient.connection.close();
    say('dlrn-server stopped.');
    return EXIT_OK;
  } finally {
    await endpoint.local?.release();
    await workerDb.close();
    await db.close();
  }
};

runMain(main);
