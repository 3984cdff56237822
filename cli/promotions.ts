/**
 * `dlrn promotions`: automatic promotion from the command line (ours).
 *
 * - `check`: reads and checks `[promotions] criteria_file`, and lists its targets.
 * - `status [TARGET...]`: each target's current candidate, the one it would promote, and why
 *   each of the newest candidates is or is not promoted (the database, as `--status` reads it).
 * - `waive`: records a waiver in the database (who: `--user`, by default the login name).
 * - `start`: starts (or wakes) every target's workflow, for a cluster without `dlrn-server`.
 */
import type { Command } from 'commander';
import { userInfo } from 'node:os';
import type { DlrnConfig } from '../lib/config/index.ts';
import { commitKey, decideTarget } from '../lib/db/promotion-candidates.ts';
import { createWaiver } from '../lib/db/waivers.ts';
import { ConfigError, InputError } from '../lib/domain/errors.ts';
import type { PromotionCriteria } from '../lib/domain/promotion-criteria.ts';
import { checkPromoteName } from '../lib/repo/promote.ts';
import { loadCriteria } from '../lib/repo/promotion-criteria-file.ts';
import { wakeTarget } from '../api/promotion-wake.ts';
import { createLogger } from '../lib/logger.ts';
import {
  addConfigOptions,
  newCommand,
  openConfiguredDatabase,
  readConfig,
  type ConfigFlags,
} from './common.ts';
import { EXIT_OK } from './errors.ts';
import { say } from './output.ts';
import { connectClient, installRuntimeLogger, resolveTemporal } from './worker.ts';

interface WaiveFlags extends ConfigFlags {
  target: string;
  job: string;
  reason: string;
  expiresIn: string;
  commitHash?: string;
  distroHash?: string;
  user: string;
}

const criteriaOf = async (config: DlrnConfig): Promise<PromotionCriteria> => {
  const criteria = await loadCriteria(config);
  if (!criteria)
    throw new ConfigError(
      [
        {
          where: 'promotions.criteria_file',
          message: 'automatic promotion is off: [promotions] criteria_file is not set',
        },
      ],
      config.file,
    );
  return criteria;
};

const check = async (flags: ConfigFlags): Promise<number> => {
  const criteria = await criteriaOf(await readConfig(flags));
  say(`${criteria.file}: ${criteria.targets.length} target(s), all checked`);
  for (const t of criteria.targets)
    say(
      `  ${t.name}${t.dryRun ? ' (dry run)' : ''}: from ${t.source.kind === 'consistent' ? 'consistent' : t.source.name}, ` +
        `jobs ${t.jobs.join(', ')}, the newest ${t.candidates} candidates`,
    );
  return EXIT_OK;
};

const status = async (names: string[], flags: ConfigFlags): Promise<number> => {
  const config = await readConfig(flags);
  const criteria = await criteriaOf(config);
  for (const name of names)
    if (!criteria.targets.some((t) => t.name === name))
      throw new InputError(`${name} has no promotion criteria in ${criteria.file}`);
  const db = await openConfiguredDatabase(config);
  try {
    const now = Math.trunc(Date.now() / 1000);
    for (const target of criteria.targets.filter((t) => names.length === 0 || names.includes(t.name))) {
      const { decision, current } = await decideTarget(db, target, now);
      say(
        `${target.name}${target.dryRun ? ' (dry run)' : ''}: current ${current?.key ?? 'none'}, next ${decision.promote?.candidate.key ?? 'none'}`,
      );
      for (const s of decision.statuses.slice(0, 5)) say(`  ${s.candidate.key}: ${s.reason}`);
      if (decision.statuses.length === 0) say('  no candidate yet');
    }
  } finally {
    await db.close();
  }
  return EXIT_OK;
};

const waive = async (flags: WaiveFlags): Promise<number> => {
  const config = await readConfig(flags);
  const criteria = await criteriaOf(config);
  const target = criteria.targets.find((t) => t.name === flags.target);
  if (!target) throw new InputError(`${flags.target} has no promotion criteria in ${criteria.file}`);
  checkPromoteName(flags.target);
  if (!target.jobs.includes(flags.job))
    throw new InputError(`${flags.job} is not one of ${flags.target}'s jobs (${target.jobs.join(', ')})`);
  const seconds = Number(flags.expiresIn);
  if (!/^\d+$/.test(flags.expiresIn) || seconds < 1 || seconds > 90 * 86400)
    throw new InputError(
      `argument --expires-in: "${flags.expiresIn}" is not a number of seconds from 1 to 90 days`,
    );
  if (Boolean(flags.commitHash) !== Boolean(flags.distroHash))
    throw new InputError('--commit-hash and --distro-hash go together');
  const now = Math.trunc(Date.now() / 1000);
  const db = await openConfiguredDatabase(config);
  try {
    const w = await createWaiver(db, {
      target: flags.target,
      job: flags.job,
      reason: flags.reason,
      candidate: flags.commitHash
        ? commitKey({ commitHash: flags.commitHash, distroHash: flags.distroHash ?? '' })
        : null,
      expiresAt: now + seconds,
      user: flags.user,
      createdAt: now,
    });
    say(
      `Waiver ${w.id}: ${w.job} counts as passed for ${w.target}${w.candidate ? ` (${w.candidate} only)` : ''} until ${new Date(w.expiresAt * 1000).toISOString()}.`,
    );
  } finally {
    await db.close();
  }
  return EXIT_OK;
};

const start = async (flags: ConfigFlags): Promise<number> => {
  const config = await readConfig(flags);
  const criteria = await criteriaOf(config);
  installRuntimeLogger(createLogger({ name: 'dlrn-promotions', level: 'error' }));
  const endpoint = await resolveTemporal(config);
  const client = await connectClient(endpoint);
  try {
    for (const t of criteria.targets) await wakeTarget(client, endpoint.taskQueue, t.name);
    say(`Started ${criteria.targets.map((t) => t.name).join(', ')} on task queue "${endpoint.taskQueue}".`);
  } finally {
    await client.connection.close();
    await endpoint.local?.release();
  }
  return EXIT_OK;
};

export const promotionsMain = async (argv: string[]): Promise<number> => {
  let action: Promise<number> | undefined;
  const program = newCommand('dlrn promotions', 'Automatic promotion: criteria, status, waivers.');
  const withConfig = (c: Command) => addConfigOptions(c);
  withConfig(program.command('check'))
    .description('read and check [promotions] criteria_file, and list its targets')
    .action((flags: ConfigFlags) => {
      action = check(flags);
    });
  withConfig(program.command('status'))
    .argument('[targets...]', 'targets to show (all by default)')
    .description('why each target is or is not promoted')
    .action((names: string[], flags: ConfigFlags) => {
      action = status(names, flags);
    });
  withConfig(program.command('waive'))
    .description('count a job as passed for a target until the waiver expires')
    .requiredOption('--target <name>', 'the target promote name')
    .requiredOption('--job <job_id>', 'the required job to waive')
    .requiredOption('--reason <text>', 'why (a bug link, say)')
    .requiredOption('--expires-in <seconds>', 'how long it lasts, at most 90 days')
    .option('--commit-hash <hash>', 'only this candidate (with --distro-hash)')
    .option('--distro-hash <hash>', 'only this candidate (with --commit-hash)')
    .option('--user <name>', 'who waives it', userInfo().username)
    .action((flags: WaiveFlags) => {
      action = waive(flags);
    });
  withConfig(program.command('start'))
    .description("start every target's workflow (cluster mode without dlrn-server)")
    .action((flags: ConfigFlags) => {
      action = start(flags);
    });
  program.parse(argv, { from: 'user' });
  return action ?? EXIT_OK;
};
