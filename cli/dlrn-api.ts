/**
 * `dlrn-api`: DLRN's HTTP API on Koa, on `[api] listen`:`port` of projects.ini, over the database
 * of `database_connection`. Stops cleanly on SIGINT and SIGTERM.
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
  const db = await openConfiguredDatabase(config);
  const app = createApp({ config, db, logger });
  const { listen, port } = config.api;
  const server = app.listen(port, listen);
  await new Promise<void>((ready, fail) => {
    server.once('listening', ready);
    server.once('error', fail);
  });
  say(`dlrn-api listening on http://${listen}:${port}/api/`);
  await new Promise<void>((stop) => {
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await new Promise<void>((closed) => server.close(() => closed()));
  await db.close();
  return EXIT_OK;
});
