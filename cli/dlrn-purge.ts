/**
 * `dlrn-purge`: removes builds older than a number of days (dlrn-spec §8.1) as a `purge`
 * workflow, keeping each project's newest successful build. Asks first unless `-y`;
 * `--dry-run` lists what would go and changes nothing.
 */
import { randomBytes } from 'node:crypto';
import type { purge as purgeWorkflow, PurgeInput, PurgeResult } from '../workflows/purge.ts';
import type { PurgeListing } from '../activities/index.ts';
import { InputError } from '../lib/domain/errors.ts';
import { commandWorkflowId } from '../lib/domain/temporal-names.ts';
import { createLogger } from '../lib/logger.ts';
import { addConfigOptions, newCommand, localWorkerDeps, readConfig, VERSION } from './common.ts';
import { EXIT_OK, runMain } from './errors.ts';
import { say } from './output.ts';
import { ask } from './prompt.ts';
import { installRuntimeLogger, withTemporal, workflowUrl } from './worker.ts';

interface PurgeFlags {
  configFile: string;
  configOverride: string[];
  debug: boolean;
  olderThan: string;
  y: boolean;
  dryRun: boolean;
  excludeDirs?: string;
}

/** Python's `datetime.ctime()`, as DLRN's question shows the cut-off: `Wed Nov 25 10:00:00 2026`. */
const ctime = (d: Date): string => {
  const [day, mon, date, year, time] = d.toString().split(' ');
  return `${day} ${mon} ${String(Number(date)).padStart(2, ' ')} ${time} ${year}`;
};

const WHAT: Record<PurgeListing['action'], string> = {
  remove: 'remove',
  'keep-rpms': 'clean, keeping RPMs',
  'flag-only': 'flag only (directory shared with a successful build)',
  keep: 'keep: newest successful build of its project',
  exclude: 'keep: RPMs in an excluded directory',
};

const printResult = (result: PurgeResult): void => {
  const { plan } = result;
  for (const entry of plan.listing) {
    say(
      `${(result.dryRun ? 'would ' : '') + WHAT[entry.action]}: ${entry.dir} (${entry.projectName}, id ${entry.id}, ${entry.status})`,
    );
  }
  const total = Object.values(plan.actions).reduce((n, ids) => n + ids.length, 0);
  if (plan.listing.length < total + plan.kept + plan.excluded) {
    say(`... ${total + plan.kept + plan.excluded - plan.listing.length} more not listed`);
  }
  for (const dir of plan.aggregates) say(`${result.dryRun ? 'would remove' : 'removed'} aggregate ${dir}`);
  const counts =
    `${plan.actions.remove.length} directories removed, ${plan.actions['keep-rpms'].length} cleaned keeping RPMs, ` +
    `${plan.actions['flag-only'].length} flagged only; ${plan.kept} newest kept, ${plan.excluded} excluded, ` +
    `${plan.alreadyPurged} purged before; ${plan.aggregates.length} aggregate directories`;
  say(
    result.dryRun
      ? `Dry run, nothing changed. Would purge ${total} builds: ${counts}.`
      : `Purged ${result.purged} builds: ${counts}.`,
  );
};

const main = async (): Promise<number> => {
  const flags = addConfigOptions(newCommand('dlrn-purge', 'Purge builds older than a number of days.'), true)
    .requiredOption('--older-than <days>', 'purge builds older than this many days')
    .option('-y', 'answer "yes" to the question', false)
    .option('--dry-run', 'change nothing; show what would be purged', false)
    .option('--exclude-dirs <dirs>', 'comma-separated directories whose RPMs are kept with their builds')
    .version(VERSION, '--version')
    .parse()
    .opts<PurgeFlags>();
  if (!/^\d+$/.test(flags.olderThan.trim()))
    throw new InputError(`argument --older-than: "${flags.olderThan}" is not a whole number of days`);
  const now = Date.now();
  const cutoffMs = now - Number(flags.olderThan) * 86_400_000;
  const config = await readConfig(flags);
  if (!flags.y) {
    const answer = await ask(`Remove all data before ${ctime(new Date(cutoffMs))}, correct? [N/y] `);
    if (answer.trim().toLowerCase() !== 'y') {
      say('Nothing purged.');
      return EXIT_OK;
    }
  }
  const logger = createLogger({ debug: flags.debug, name: 'dlrn-purge', level: 'error' });
  installRuntimeLogger(logger);
  const input: PurgeInput = {
    cutoff: Math.floor(cutoffMs / 1000),
    excludeDirs: (flags.excludeDirs ?? '').split(',').filter((d) => d.trim() !== ''),
    cwd: process.cwd(),
    dryRun: flags.dryRun,
  };
  const workflowId = commandWorkflowId('purge', now, randomBytes(4).toString('hex'));
  const { result, url } = await withTemporal(
    config,
    localWorkerDeps(config, logger),
    async (client, endpoint) => ({
      result: await client.workflow.execute<typeof purgeWorkflow>('purge', {
        taskQueue: endpoint.taskQueue,
        workflowId,
        args: [input],
      }),
      url: workflowUrl(endpoint, workflowId),
    }),
  );
  printResult(result);
  if (url) say(`Purge workflow: ${url}`);
  return EXIT_OK;
};

runMain(main);
