/**
 * `dlrn-check` (ours; DLRN has none): verifies a site's invariants (each successful build's
 * directory, artifacts and metadata; no dangling symlink under repos/; `current` listing every
 * package's newest success; no duplicate successes; no build workflow without a run; no stale
 * post-build lock or build workspace) and lists every violation, one line each. Exits 0 when
 * the site is clean, 1 when something is wrong. Reads only: never starts a Temporal server.
 */
import { Connection, Client } from '@temporalio/client';
import type { DlrnConfig } from '../lib/config/index.ts';
import { openDatabase, type Database } from '../lib/db/index.ts';
import { InputError } from '../lib/domain/errors.ts';
import { createLogger } from '../lib/logger.ts';
import {
  checkSite,
  formatViolation,
  type SiteCheckReport,
  type TemporalLister,
} from '../lib/repo/site-check.ts';
import { isTemporalServing } from '../lib/temporal-dev-server.ts';
import { addConfigOptions, newCommand, readConfig, VERSION } from './common.ts';
import { EXIT_FAILURE, EXIT_OK, runMain } from './errors.ts';
import { say } from './output.ts';

interface CheckFlags {
  configFile: string;
  configOverride: string[];
  debug: boolean;
  json: boolean;
  staleAfter: string;
}

interface ReachedTemporal {
  lister: TemporalLister;
  close(): Promise<void>;
}

/**
 * Temporal when it already answers: the configured cluster, or in local mode a dev server on
 * `local_port`. Otherwise the reason the orphan-build check is skipped.
 */
const reachTemporal = async (config: DlrnConfig): Promise<ReachedTemporal | { skipped: string }> => {
  const { address, namespace, taskQueue, localPort } = config.temporal;
  const target = address || `127.0.0.1:${localPort}`;
  if (!address && !(await isTemporalServing(target)))
    return { skipped: `no Temporal dev server serves on ${target} (local mode; dlrn-check starts none)` };
  try {
    const connection = await Connection.connect({ address: target, connectTimeout: 5_000 });
    return {
      lister: { client: new Client({ connection, namespace }), taskQueue },
      close: () => connection.close(),
    };
  } catch (err) {
    return { skipped: `Temporal at ${target} is not reachable: ${(err as Error).message}` };
  }
};

const printReport = (report: SiteCheckReport, json: boolean): void => {
  const ok = report.violations.length === 0;
  if (json) {
    say(
      JSON.stringify({
        ok,
        commits: report.commits,
        links: report.links,
        skipped: report.skipped,
        violations: report.violations.map((v) => ({ ...v, line: formatViolation(v) })),
      }),
    );
    return;
  }
  for (const v of report.violations) say(formatViolation(v));
  for (const s of report.skipped) say(`skipped ${s}`);
  const counts = `${report.commits} commits, ${report.links} links checked`;
  say(
    ok
      ? `site ok: ${counts}`
      : `site broken: ${report.violations.length} violation${report.violations.length === 1 ? '' : 's'}; ${counts}`,
  );
};

/** The site could not be read at all: one line (or one JSON object) saying why; exit 1. */
const cannotCheck = (err: unknown, json: boolean): number => {
  const message = err instanceof Error ? err.message : String(err);
  if (json) say(JSON.stringify({ ok: false, error: message }));
  else say(`site not checked: ${message}`);
  return EXIT_FAILURE;
};

const main = async (): Promise<number> => {
  const flags = addConfigOptions(
    newCommand('dlrn-check', "Verify a site's invariants and list every violation."),
  )
    .option('--json', 'print one JSON object instead of lines', false)
    .option('--stale-after <minutes>', 'a build workspace unchanged for longer than this is stale', '360')
    .version(VERSION, '--version')
    .parse()
    .opts<CheckFlags>();
  if (!/^\d+$/.test(flags.staleAfter.trim()))
    throw new InputError(`argument --stale-after: "${flags.staleAfter}" is not a whole number of minutes`);
  const config = await readConfig(flags);
  const logger = createLogger({ debug: flags.debug, name: 'dlrn-check', level: 'error' });
  // A check changes nothing: no migration, and a SQLite file opened read-only (not created).
  let db: Database;
  try {
    db = await openDatabase(config.default.databaseConnection, {
      readOnly: true,
      logSql: (sql) => logger.debug({ sql }, 'query'),
    });
  } catch (err) {
    return cannotCheck(err, flags.json);
  }
  const temporal = await reachTemporal(config);
  try {
    const report = await checkSite({
      config,
      db,
      now: Date.now(),
      staleAfterMinutes: Number(flags.staleAfter),
      temporal: 'skipped' in temporal ? temporal : temporal.lister,
    });
    printReport(report, flags.json);
    return report.violations.length === 0 ? EXIT_OK : EXIT_FAILURE;
  } catch (err) {
    // A database with no DLRN tables, one that went away: one line, not a stack trace.
    if (!(err instanceof Error) || !/^Sequelize|^DatabaseError$/.test(err.name)) throw err;
    return cannotCheck(err, flags.json);
  } finally {
    if (!('skipped' in temporal)) await temporal.close();
    await db.close();
  }
};

runMain(main);
