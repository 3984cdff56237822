/**
 * `dlrn-api`: DLRN's HTTP API on Koa, on `[api] listen`:`port` of projects.ini, over the database
 * of `database_connection`, starting its workflows on `[temporal]`. Stops cleanly on SIGINT and
 * SIGTERM.
 */
import { createApp } from '../api/app.ts';
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

interface ApiFlags extends ConfigFlags {
  debug: boolean;
}

runMain(async () => {
  const flags = addConfigOptions(newCommand('dlrn-api', "Serve DLRN's HTTP API."))
    .version(VERSION, '--version')
    .parse()
    .opts<ApiFlags>();
  const config = await readConfig(flags);
  const logger = createLogger({ debug: flags.debug, name: 'dlrn-api', level: 'info' });
  installRuntimeLogger(logger);
  const db = await openConfiguredDatabase(config);
  // promote-batch, remote import and trigger start workflows: in cluster mode remote workers run
  // them; in local mode this process runs a worker too (and the dev server when none listens).
  const endpoint = await resolveTemporal(config);
  const client = await connectClient(endpoint);
  const worker = config.temporal.address ? undefined : await createWorker(endpoint, { config, db, logger });
  const working = worker?.run();
  const app = createApp({ config, db, logger, temporal: { client, taskQueue: endpoint.taskQueue } });
  const { listen, port } = config.api;
  const server = app.listen(port, listen);
  await new Promise<void>((ready, fail) => {
    server.once('listening', ready);
    server.once('error', fail);
  });
  say(
    `dlrn-api listening on http://${listen}:${port}/api/ (Temporal ${endpoint.address}, task queue ${endpoint.taskQueue})`,
  );
  await new Promise<void>((stop) => {
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await new Promise<void>((closed) => server.close(() => closed()));
  stopWorker(worker);
  await working;
  await client.connection.close();
  await endpoint.local?.release();
  await db.close();
  return EXIT_OK;
});
