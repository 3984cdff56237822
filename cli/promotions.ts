/**
 * `dlrn promotions`: automatic promotion from the command line (ours).
 *
 * - `check`: reads and checks `[promotions] criteria_file`, and lists its targets.
 * - `status [TARGET...]`: each target's current candidate, the one it would promote, and why
 *   each of the newest candidates is or is not promoted (the database, as `--status` reads it).
 * - `waive`: records a waiver in the database (who: `--user`, by default the login name).
 * - `start`: starts (or wakes) every target's workflow, for a cluster without `dlrn-server`.
 *
 * With `--url`, `status` and `waive` ask a DLRN API instead (`/api/promotion_status`,
 * `/api/waivers`), for a person without the database: `waive` authenticates as dlrnapi does
 * (`--username`, `--password` or DLRNAPI_USERNAME and DLRNAPI_PASSWORD) and the waiver names
 * that user.
 */
import type { Command } from 'commander';
import { userInfo } from 'node:os';
import type { DlrnConfig } from '../lib/config/index.ts';
import { commitKey, decideTarget } from '../lib/db/promotion-candidates.ts';
import { createWaiver } from '../lib/db/waivers.ts';
import { ConfigError, InputError, ToolError } from '../lib/domain/errors.ts';
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

interface ApiFlags {
  url?: string;
  username?: string;
  password?: string;
}

interface WaiveFlags extends ConfigFlags, ApiFlags {
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

/** The API's JSON answer to `path`, or an error with its message. */
const callApi = async (
  flags: ApiFlags,
  path: string,
  init: { method?: string; body?: unknown; auth?: boolean } = {},
): Promise<unknown> => {
  const base = (flags.url ?? '').replace(/\/+$/, '');
  const headers: Record<string, string> = {};
  if (init.body !== undefined) headers['Content-Type'] = 'application/json';
  if (init.auth) {
    const user = flags.username ?? process.env.DLRNAPI_USERNAME;
    const password = flags.password ?? process.env.DLRNAPI_PASSWORD;
    if (!user || password === undefined)
      throw new InputError(
        '--url needs credentials: --username and --password, or DLRNAPI_USERNAME and DLRNAPI_PASSWORD',
      );
    headers.Authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  }
  let answer: Response;
  try {
    answer = await fetch(`${base}${path}`, {
      method: init.method ?? 'GET',
      headers,
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
  } catch (err) {
    throw new ToolError(
      `cannot reach the API at ${base}: ${(err as Error).cause ? String((err as Error).cause) : (err as Error).message}`,
    );
  }
  const text = await answer.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!answer.ok) {
    const message = (body as { message?: string } | undefined)?.message ?? text.slice(0, 200);
    throw new (answer.status < 500 ? InputError : ToolError)(
      `the API at ${base} answered ${answer.status}: ${message}`,
    );
  }
  return body;
};

interface TargetAnswer {
  promote_name: string;
  dry_run: boolean;
  current: string | null;
  promote: string | null;
  candidates: { candidate: string; reason: string }[];
}

/** A target's status as `status` prints it, from the database or the API alike. */
const sayStatus = (t: {
  name: string;
  dryRun: boolean;
  current: string | undefined;
  next: string | undefined;
  candidates: { key: string; reason: string }[];
}): void => {
  say(`${t.name}${t.dryRun ? ' (dry run)' : ''}: current ${t.current ?? 'none'}, next ${t.next ?? 'none'}`);
  for (const c of t.candidates.slice(0, 5)) say(`  ${c.key}: ${c.reason}`);
  if (t.candidates.length === 0) say('  no candidate yet');
};

const statusOverApi = async (names: string[], flags: ApiFlags): Promise<number> => {
  const answers =
    names.length === 0
      ? ((await callApi(flags, '/api/promotion_status')) as { targets: TargetAnswer[] }).targets
      : await Promise.all(
          names.map(
            async (name) =>
              (await callApi(
                flags,
                `/api/promotion_status?promote_name=${encodeURIComponent(name)}`,
              )) as TargetAnswer,
          ),
        );
  for (const a of answers)
    sayStatus({
      name: a.promote_name,
      dryRun: a.dry_run,
      current: a.current ?? undefined,
      next: a.promote ?? undefined,
      candidates: a.candidates.map((c) => ({ key: c.candidate, reason: c.reason })),
    });
  return EXIT_OK;
};

const status = async (names: string[], flags: ConfigFlags & ApiFlags): Promise<number> => {
  if (flags.url) return statusOverApi(names, flags);
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
      sayStatus({
        name: target.name,
        dryRun: target.dryRun,
        current: current?.key,
        next: decision.promote?.candidate.key,
        candidates: decision.statuses.map((s) => ({ key: s.candidate.key, reason: s.reason })),
      });
    }
  } finally {
    await db.close();
  }
  return EXIT_OK;
};

const sayWaiver = (w: {
  id: number;
  job: string;
  target: string;
  candidate: string | null;
  expiresAt: number;
}) =>
  say(
    `Waiver ${w.id}: ${w.job} counts as passed for ${w.target}${w.candidate ? ` (${w.candidate} only)` : ''} until ${new Date(w.expiresAt * 1000).toISOString()}.`,
  );

const waiveOverApi = async (flags: WaiveFlags, seconds: number): Promise<number> => {
  const w = (await callApi(flags, '/api/waivers', {
    method: 'POST',
    auth: true,
    body: {
      promote_name: flags.target,
      job_id: flags.job,
      reason: flags.reason,
      expires_in: seconds,
      ...(flags.commitHash ? { commit_hash: flags.commitHash, distro_hash: flags.distroHash } : {}),
    },
  })) as { id: number; job_id: string; promote_name: string; candidate: string | null; expires_at: number };
  sayWaiver({
    id: w.id,
    job: w.job_id,
    target: w.promote_name,
    candidate: w.candidate,
    expiresAt: w.expires_at,
  });
  return EXIT_OK;
};

const waive = async (flags: WaiveFlags): Promise<number> => {
  const seconds = Number(flags.expiresIn);
  if (!/^\d+$/.test(flags.expiresIn) || seconds < 1 || seconds > 90 * 86400)
    throw new InputError(
      `argument --expires-in: "${flags.expiresIn}" is not a number of seconds from 1 to 90 days`,
    );
  if (Boolean(flags.commitHash) !== Boolean(flags.distroHash))
    throw new InputError('--commit-hash and --distro-hash go together');
  if (flags.url) return waiveOverApi(flags, seconds);
  const config = await readConfig(flags);
  const criteria = await criteriaOf(config);
  const target = criteria.targets.find((t) => t.name === flags.target);
  if (!target) throw new InputError(`${flags.target} has no promotion criteria in ${criteria.file}`);
  checkPromoteName(flags.target);
  if (!target.jobs.includes(flags.job))
    throw new InputError(`${flags.job} is not one of ${flags.target}'s jobs (${target.jobs.join(', ')})`);
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
    sayWaiver(w);
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
  const overApi = (c: Command, auth: boolean) => {
    c.option('--url <url>', 'ask this DLRN API instead of the database');
    if (auth)
      c.option('--username <name>', 'API user (default: DLRNAPI_USERNAME)').option(
        '--password <password>',
        'API password (default: DLRNAPI_PASSWORD)',
      );
    return c;
  };
  overApi(withConfig(program.command('status')), false)
    .argument('[targets...]', 'targets to show (all by default)')
    .description('why each target is or is not promoted')
    .action((names: string[], flags: ConfigFlags & ApiFlags) => {
      action = status(names, flags);
    });
  overApi(withConfig(program.command('waive')), true)
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
