/**
 * `dlrn schedule`: runs dlrn from a Temporal Schedule instead of cron. `create` and `update`
 * take `--every MINUTES` and the same flags as `dlrn`; the schedule starts the same `run`
 * workflow with them. Overlap policy "skip": a run still going when the next is due means the
 * next is skipped, so two runs never overlap. `pause`, `resume`, `trigger` (run now),
 * `show`, `list` and `delete` manage it.
 *
 * A schedule only starts workflows; workers execute them: `dlrn-worker` processes in cluster
 * mode, or `dlrn-server` (dev server and worker) in local mode.
 */
import {
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleOptions,
} from '@temporalio/client';
import type { Command } from 'commander';
import { resolve } from 'node:path';
import type { DlrnConfig } from '../lib/config/index.ts';
import { InputError, NotFoundError } from '../lib/domain/errors.ts';
import { scheduledRunWorkflowId } from '../lib/domain/temporal-names.ts';
import { createLogger } from '../lib/logger.ts';
import type { RunInput } from '../workflows/run.ts';
import {
  addConfigOptions,
  newCommand,
  openConfiguredDatabase,
  readConfig,
  type ConfigFlags,
} from './common.ts';
import { EXIT_OK } from './errors.ts';
import { say } from './output.ts';
import { addRunOptions, runInputFrom, type DlrnFlags } from './run-options.ts';
import {
  connectClient,
  installRuntimeLogger,
  resolveTemporal,
  workflowUrl,
  type TemporalEndpoint,
} from './worker.ts';

export const DEFAULT_SCHEDULE_ID = 'dlrn-run';

interface ScheduleFlags extends ConfigFlags {
  scheduleId: string;
  debug: boolean;
}

type CreateFlags = ScheduleFlags & DlrnFlags & { every: string };

const minutesOf = (raw: string): number => {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n < 1)
    throw new InputError(`argument --every: "${raw}" is not a whole number of minutes >= 1`);
  return n;
};

/** The run a schedule starts; the flags that only make sense at a terminal are refused. */
const scheduledRunInput = (flags: CreateFlags, config: DlrnConfig): RunInput => {
  for (const [flag, on] of [
    ['--dev', flags.dev],
    ['--status', flags.status],
    ['--recheck', flags.recheck || flags.forceRecheck],
    ['--dry-run', flags.dryRun],
    ['--run', Boolean(flags.run)],
  ] as const) {
    if (on) throw new InputError(`${flag} cannot be scheduled: a schedule starts build runs`);
  }
  if (flags.projectName.length > 0 && flags.packageName.length > 0)
    throw new InputError('argument --package-name: not allowed with argument --project-name');
  return runInputFrom(
    { ...flags, ...(flags.infoRepo ? { infoRepo: resolve(flags.infoRepo) } : {}) },
    config,
    false,
  );
};

const scheduleOptions = (
  scheduleId: string,
  minutes: number,
  input: RunInput,
  endpoint: TemporalEndpoint,
  note: string,
): ScheduleOptions => ({
  scheduleId,
  spec: { intervals: [{ every: `${minutes} minutes` }] },
  action: {
    type: 'startWorkflow',
    workflowType: 'run',
    taskQueue: endpoint.taskQueue,
    // Temporal appends the scheduled time, so each run has its own id.
    workflowId: scheduledRunWorkflowId(scheduleId),
    args: [input],
  },
  policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute', pauseOnFailure: false },
  state: { note },
});

/** Connects to Temporal for one schedule command; in local mode the dev server is left running. */
const withClient = async (
  flags: ScheduleFlags,
  work: (client: Client, endpoint: TemporalEndpoint, config: DlrnConfig) => Promise<number>,
) => {
  const config = await readConfig(flags);
  installRuntimeLogger(createLogger({ debug: flags.debug, name: 'dlrn-schedule', level: 'error' }));
  const endpoint = await resolveTemporal(config);
  const client = await connectClient(endpoint);
  try {
    return await work(client, endpoint, config);
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) throw new NotFoundError(`no schedule "${flags.scheduleId}"`);
    throw err;
  } finally {
    await client.connection.close();
    // A schedule lives in the server: in local mode stopping the dev server (when nobody else
    // uses it) is fine, its SQLite file keeps the schedule for the next start.
    await endpoint.local?.release();
  }
};

const describeSchedule = async (
  client: Client,
  scheduleId: string,
  endpoint: TemporalEndpoint,
): Promise<void> => {
  const d = await client.schedule.getHandle(scheduleId).describe();
  const every = d.spec.intervals?.[0]?.every;
  const minutes = typeof every === 'number' ? every / 60_000 : every;
  say(
    `Schedule ${scheduleId}: every ${String(minutes)}${typeof every === 'number' ? ' minutes' : ''}, ${d.state.paused ? 'paused' : 'active'}, overlap ${d.policies.overlap}`,
  );
  if (d.state.note) say(`  note: ${d.state.note}`);
  for (const next of d.info.nextActionTimes.slice(0, 3)) say(`  next run: ${next.toISOString()}`);
  for (const recent of d.info.recentActions.slice(-5)) {
    const id = recent.action.type === 'startWorkflow' ? recent.action.workflow.workflowId : '';
    say(
      `  started ${recent.takenAt.toISOString()}: ${id}${workflowUrl(endpoint, id) ? ` ${workflowUrl(endpoint, id)}` : ''}`,
    );
  }
  say(`  runs skipped because one was still going: ${d.info.numActionsSkippedOverlap}`);
};

const workerHint = (config: DlrnConfig, endpoint: TemporalEndpoint): string =>
  config.temporal.address
    ? `Runs are executed by the dlrn-worker processes polling task queue "${endpoint.taskQueue}".`
    : 'Local mode: runs start while `dlrn-server` (or `dlrn-worker`) keeps the dev server and a worker up.';

const common = (command: Command): Command =>
  addConfigOptions(command).option('--schedule-id <id>', 'the schedule to act on', DEFAULT_SCHEDULE_ID);

/** `create` or `update`: the schedule's interval and the run flags, checked once here. */
const writeSchedule = async (
  verb: 'create' | 'update',
  flags: CreateFlags,
  argv: string[],
  client: Client,
  endpoint: TemporalEndpoint,
  config: DlrnConfig,
): Promise<number> => {
  const minutes = minutesOf(flags.every);
  // Checks the configuration and database the runs will use, once, here.
  await (await openConfiguredDatabase(config)).close();
  const input = scheduledRunInput(flags, config);
  const note = `dlrn ${argv.join(' ')}`;
  const options = scheduleOptions(flags.scheduleId, minutes, input, endpoint, note);
  if (verb === 'create') {
    await client.schedule.create(options);
    say(`Created schedule ${flags.scheduleId}: dlrn runs every ${minutes} minutes, never two at once.`);
  } else {
    await client.schedule.getHandle(flags.scheduleId).update((previous) => ({
      ...previous,
      spec: options.spec,
      action: options.action,
      policies: options.policies,
      state: { ...previous.state, note },
    }));
    say(`Updated schedule ${flags.scheduleId}: every ${minutes} minutes.`);
  }
  say(workerHint(config, endpoint));
  return EXIT_OK;
};

/** The verbs that act on one schedule, or list them: name, help, action. */
const SIMPLE_VERBS: [
  string,
  string,
  (client: Client, flags: ScheduleFlags, endpoint: TemporalEndpoint) => Promise<void>,
][] = [
  [
    'pause',
    'stop starting runs until resumed',
    async (client, flags) => {
      await client.schedule.getHandle(flags.scheduleId).pause('paused with dlrn schedule pause');
      say(`Paused schedule ${flags.scheduleId}.`);
    },
  ],
  [
    'resume',
    'start runs again',
    async (client, flags) => {
      await client.schedule.getHandle(flags.scheduleId).unpause('resumed with dlrn schedule resume');
      say(`Resumed schedule ${flags.scheduleId}.`);
    },
  ],
  [
    'trigger',
    'start a run now (skipped if one is going)',
    async (client, flags) => {
      await client.schedule.getHandle(flags.scheduleId).trigger(ScheduleOverlapPolicy.SKIP);
      say(`Triggered schedule ${flags.scheduleId}.`);
    },
  ],
  [
    'delete',
    'delete the schedule (running runs go on)',
    async (client, flags) => {
      await client.schedule.getHandle(flags.scheduleId).delete();
      say(`Deleted schedule ${flags.scheduleId}.`);
    },
  ],
  [
    'show',
    'print the interval, state, next and recent runs',
    async (client, flags, endpoint) => describeSchedule(client, flags.scheduleId, endpoint),
  ],
  [
    'list',
    'list the schedules',
    async (client) => {
      let any = false;
      for await (const s of client.schedule.list()) {
        any = true;
        say(`${s.scheduleId}${s.state.paused ? ' (paused)' : ''}${s.state.note ? `: ${s.state.note}` : ''}`);
      }
      if (!any) say('No schedules.');
    },
  ],
];

export const scheduleMain = async (argv: string[]): Promise<number> => {
  let action: Promise<number> | undefined;
  const program = newCommand('dlrn schedule', 'Run dlrn every N minutes from a Temporal Schedule (no cron).');
  for (const verb of ['create', 'update'] as const) {
    addRunOptions(
      common(program.command(verb))
        .description(
          verb === 'create'
            ? 'create a schedule that runs dlrn with the given flags every N minutes'
            : 'replace the interval and flags of a schedule',
        )
        .requiredOption('--every <minutes>', 'minutes between runs'),
    ).action((flags: CreateFlags) => {
      action = withClient(flags, (client, endpoint, config) =>
        writeSchedule(verb, flags, argv, client, endpoint, config),
      );
    });
  }
  for (const [verb, description, act] of SIMPLE_VERBS) {
    common(program.command(verb))
      .description(description)
      .action((flags: ScheduleFlags) => {
        action = withClient(flags, async (client, endpoint) => {
          await act(client, flags, endpoint);
          return EXIT_OK;
        });
      });
  }
  program.parse(argv, { from: 'user' });
  return action ?? EXIT_OK;
};
