/**
 * What every entry point shares: the DLRN options `--config-file`, `--config-override` and
 * `--debug`, reading projects.ini once, and usage errors that exit as argparse's do.
 */
import { Command, Option } from 'commander';
import { stat } from 'node:fs/promises';
import { loadConfig, type DlrnConfig } from '../lib/config/index.ts';
import { ConfigError } from '../lib/domain/errors.ts';
import type { Database, DatabaseWait } from '../lib/db/index.ts';
import type { Logger } from '../lib/logger.ts';
import { EXIT_USAGE } from './errors.ts';
import pkg from '../package.json' with { type: 'json' };

/** The DLRN release whose files, database, API and flags this project keeps. */
export const DLRN_COMPATIBLE = '0.26.1';

/** What `--version` prints: ours, and the DLRN release a site can switch from. */
export const VERSION = `${pkg.version} (compatible with DLRN ${DLRN_COMPATIBLE})`;

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** A command with DLRN's usage-error behaviour (exit 2) and `--help`/`--version` exiting 0. */
export const newCommand = (name: string, description: string): Command =>
  new Command(name)
    .description(description)
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE))
    .showHelpAfterError();

export const addConfigOptions = (command: Command, configRequired = false): Command =>
  command
    .addOption(
      configRequired
        ? new Option('--config-file <file>', 'config file (projects.ini)').makeOptionMandatory()
        : new Option('--config-file <file>', 'config file').default('projects.ini'),
    )
    .option(
      '--config-override <section.option=value>',
      'override a projects.ini option; repeatable (e.g. DEFAULT.datadir=/tmp/data)',
      collect,
      [],
    )
    .option('--debug', 'print debug logs', false);

export { collect };

export interface ConfigFlags {
  configFile: string;
  configOverride: string[];
}

/**
 * projects.ini with the command line's overrides. A `datadir` that exists but is not a folder
 * is refused here, in DLRN's words for a bad option, before anything tries to write in it.
 */
export const readConfig = async (flags: ConfigFlags): Promise<DlrnConfig> => {
  const config = await loadConfig(flags.configFile, { overrides: flags.configOverride });
  const datadir = config.default.datadir;
  const found = await stat(datadir).catch(() => undefined);
  if (found && !found.isDirectory()) {
    throw new ConfigError(
      [
        {
          where: 'DEFAULT.datadir',
          message: `[DEFAULT] datadir = "${datadir}": not a folder (it is a file)`,
        },
      ],
      config.file,
    );
  }
  return config;
};

/**
 * Loaded when a command needs it: `--help` and `--version` never load sequelize. A worker's
 * database (`worker`) waits out a server that stops answering for `[database] reconnect_timeout`,
 * saying so in the heartbeat of the step that waits (which `dlrn` prints), and, once per outage,
 * through `worker.tell` (a local `dlrn` prints it: its worker is itself) or the log. Every other
 * process fails at once.
 */
export const openConfiguredDatabase = async (
  config: DlrnConfig,
  options: { worker?: { logger: Logger; tell?: (line: string) => void } } = {},
): Promise<Database> => {
  const worker = options.worker;
  const noteWait = worker ? (await import('../activities/heartbeat.ts')).noteWait : () => false;
  let outage: DatabaseWait | undefined;
  const onWait = (wait: DatabaseWait | undefined): void => {
    noteWait(wait);
    if (wait && !outage) {
      outage = wait;
      if (worker?.tell) worker.tell(`Waiting for ${wait.what}: ${wait.detail}`);
      else worker?.logger.warn({ database: wait.what, error: wait.detail }, 'waiting for the database');
    } else if (!wait && outage) {
      const what = outage.what;
      outage = undefined;
      if (worker?.tell) worker.tell(`${what.charAt(0).toUpperCase()}${what.slice(1)} is answering again.`);
      else worker?.logger.warn({ database: what }, 'the database is answering again');
    }
  };
  return (await import('../lib/db/index.ts')).openDatabase(config.default.databaseConnection, {
    sqliteWal: config.database.sqliteWal,
    ...(worker ? { reconnectMs: config.database.reconnectTimeout * 1000, onWait } : {}),
  });
};

/** What a local-mode worker in this process needs, made only when one runs (cli/worker.ts). */
export const localWorkerDeps =
  (config: DlrnConfig, logger: Logger, tell?: (line: string) => void) =>
  async (): Promise<{ config: DlrnConfig; db: Database; logger: Logger }> => ({
    config,
    db: await openConfiguredDatabase(config, { worker: { logger, ...(tell ? { tell } : {}) } }),
    logger,
  });
