/**
 * What `dlrn` does once cli/dlrn.ts has read its flags: start the `run` workflow (local mode:
 * with a worker in this process), follow it, and print DLRN's answer with DLRN's exit code.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunBuild, RunInput, RunProgress, run as runWorkflow, RunResult } from '../workflows/run.ts';
import type { DlrnConfig } from '../lib/config/index.ts';
import type { Logger } from '../lib/logger.ts';
import { failureOf } from '../lib/domain/build.ts';
import { InputError } from '../lib/domain/errors.ts';
import { PROGRESS_QUERY, runWorkflowId } from '../lib/domain/temporal-names.ts';
import { createLogger } from '../lib/logger.ts';
import { localWorkerDeps, readConfig } from './common.ts';
import { runInputFrom, type DlrnFlags } from './run-options.ts';
import { EXIT_FAILURE, EXIT_OK, EXIT_RETRY } from './errors.ts';
import { say, warn } from './output.ts';
import { dlrnBuildLog, dlrnLog } from './dlrn-log.ts';
import { followRun } from './progress.ts';
import { rideOut, runOwner, settleAbandonedRuns } from './local-runs.ts';
import { installRuntimeLogger, withTemporal, workflowUrl } from './worker.ts';
import { isInterrupted, onInterrupt, type FollowedRun, type Interrupts } from './interrupt.ts';
import { diskFullError, roomAt } from '../activities/disk.ts';
import { killLiveToolGroups } from '../activities/process-groups.ts';

const printPlan = (result: RunResult): void => {
  for (const skipped of result.skipped) warn(`skipped ${skipped.name}: ${skipped.error}`);
  if (result.order?.cycles.length) {
    for (const cycle of result.order.cycles)
      warn(`dependency cycle: ${cycle.join(' -> ')} (broken at the last edge)`);
  }
  if (result.queue.length === 0) {
    say(`Nothing new to build: ${result.packages.length} packages checked, every commit already built.`);
    return;
  }
  say(`${result.queue.length} commits to build, in build order:`);
  for (const c of result.queue) {
    const when = new Date(c.dtCommit * 1000)
      .toISOString()
      .replace('T', ' ')
      .replace(/\.\d+Z$/, '');
    say(
      `  ${c.projectName.padEnd(32)} ${c.commitHash.slice(0, 12)} distro ${c.distroHash.slice(0, 8)} ${c.commitBranch} ${when}`,
    );
  }
};

/** DLRN's exit code: the last non-zero result in build order, 1 for FAILED and 2 for RETRY. */
const runExitCode = (builds: NonNullable<RunResult['builds']>): number =>
  builds.reduce(
    (code, b) => (b.status === 'FAILED' ? EXIT_FAILURE : b.status === 'RETRY' ? EXIT_RETRY : code),
    EXIT_OK,
  );

/** `--status`: DLRN's one line per package. */
const printStatus = (status: NonNullable<RunResult['status']>): number => {
  for (const s of status) say(`${s.type.padStart(9)} ${s.name} ${s.status}`);
  return EXIT_OK;
};

/** `--recheck`: DLRN's words per package; 1 when one could not be rechecked. */
const printRecheck = (recheck: NonNullable<RunResult['recheck']>): number => {
  let code = EXIT_OK;
  for (const r of recheck) {
    if (r.outcome === 'deleted') say(`Successful recheck for ${r.name}.`);
    else if (r.outcome === 'no-commit') {
      warn(`There are no existing commits for package ${r.name}.`);
      code = EXIT_FAILURE;
    } else {
      warn(
        `Trying to recheck an already successful commit in ${r.name}, ignoring. If you want to force it, ` +
          'use --force-recheck and set allow_force_rechecks=True in projects.ini.',
      );
      code = EXIT_FAILURE;
    }
  }
  return code;
};

/** `--run`: each failed program with its output's tail, then the count. */
const printProgramRuns = (program: string, runs: NonNullable<RunResult['programRuns']>): number => {
  for (const r of runs) {
    if (r.exitCode !== 0)
      warn(`${program} failed for ${r.projectName} ${r.commitHash} (exit ${r.exitCode}):\n${r.tail}`);
  }
  const failed = runs.filter((r) => r.exitCode !== 0).length;
  say(`Ran ${program} for ${runs.length} package heads, ${failed} failed.`);
  return failed > 0 ? EXIT_FAILURE : EXIT_OK;
};

/** A failed or RETRY build: DLRN's reason, the tool's first error line, and the log to read. */
const printFailure = (b: RunBuild, datadir: string): void => {
  const lines = failureOf(b.notes ?? '')
    .split('\n')
    .filter((l) => l.trim() !== '');
  say(
    `  ${b.status === 'RETRY' ? 'RETRY ' : 'FAILED'} ${b.projectName} ${b.commitHash.slice(0, 8)}: ${lines[0] ?? ''}`,
  );
  const error = lines.slice(1).find((l) => /error:/i.test(l));
  if (error) say(`         ${error.trim()}`);
  if (b.outputDir) say(`         log: ${datadir}/${b.outputDir}/rpmbuild.log`);
};

/** A build run's summary: counts, builds another run made, each failure; DLRN's exit code. */
const printBuilds = (builds: RunBuild[], packages: number, datadir: string, stopped?: string): number => {
  const ok = builds.filter((b) => b.status === 'SUCCESS');
  const failed = builds.filter((b) => b.status === 'FAILED' || b.status === 'RETRY');
  const retry = builds.filter((b) => b.status === 'RETRY');
  const notStarted = builds.filter((b) => b.status === 'NOT_STARTED');
  const elsewhere = builds.filter((b) => b.elsewhere !== undefined);
  say(
    `Built ${builds.length - notStarted.length} commits of ${packages} packages: ` +
      `${ok.length} succeeded, ${failed.length - retry.length} failed` +
      (retry.length ? `, ${retry.length} to retry (RETRY)` : '') +
      (notStarted.length
        ? `, ${notStarted.length} not started (${stopped ? 'the run stopped' : '--stop'})`
        : '') +
      '.',
  );
  if (elsewhere.length > 0) {
    // Overlapping runs meet at the same build: the result is that build's, reported once.
    say(`  ${elsewhere.length} of them built by another run (results reported as recorded):`);
    for (const b of elsewhere)
      say(
        `  ${b.status.padEnd(7)} ${b.projectName} ${b.commitHash.slice(0, 8)} (${b.elsewhere === 'joined' ? 'joined the running build' : 'already built'})`,
      );
  }
  for (const b of failed) printFailure(b, datadir);
  say(`Repositories: ${datadir}/repos`);
  if (stopped) {
    warn(`The run stopped starting builds: ${stopped}`);
    warn('Make room and run dlrn again: the commits that did not build are built then.');
    return EXIT_FAILURE;
  }
  return runExitCode(builds);
};

/** A build run that found nothing to build: DLRN's own line (RDO's tooling greps it), then ours. */
const printNothingNew = (flags: DlrnFlags, packages: number): number => {
  dlrnLog(
    'INFO',
    'dlrn',
    flags.packageName.length > 0 || flags.projectName.length > 0
      ? 'No commits to build. If this is not expected, please make sure the package name(s) are correct, ' +
          'and that any failed commit you want to rebuild has been removed from the database.'
      : 'No commits to build.',
  );
  say(`Nothing new to build: ${packages} packages checked, every commit already built.`);
  return EXIT_OK;
};

/** The run workflow's answer, in the form the flags asked for, and DLRN's exit code. */
const answer = (
  result: RunResult,
  flags: DlrnFlags,
  config: DlrnConfig,
  url: string | undefined,
  tellDlrn: (builds: RunBuild[]) => void,
): number => {
  for (const warning of result.warnings ?? []) warn(`warning: ${warning}`);
  for (const name of result.unknownNames) warn(`No package or project named ${name}.`);
  // A build run goes on with the names that match, and exits 0 however many match nothing,
  // as DLRN 0.26.1 does; --status and --recheck name a package they cannot find with exit 1.
  if (result.unknownNames.length > 0 && (result.status || result.recheck)) return EXIT_FAILURE;
  if (result.status) return printStatus(result.status);
  if (result.recheck) return printRecheck(result.recheck);
  let code = EXIT_OK;
  if (result.programRuns) code = printProgramRuns(flags.run ?? '', result.programRuns);
  else if (!result.builds) printPlan(result);
  else {
    for (const skipped of result.skipped) warn(`skipped ${skipped.name}: ${skipped.error}`);
    if (result.builds.length === 0) return printNothingNew(flags, result.packages.length);
    // Builds that started and ended between two polls of the progress.
    tellDlrn(result.builds);
    code = printBuilds(result.builds, result.packages.length, config.default.datadir, result.stopped);
  }
  if (url) say(`Run workflow: ${url}`);
  return code;
};

/** Starts the run workflow and follows it (a build run's progress, DLRN's log lines) to its end. */
const startRun = async (
  config: DlrnConfig,
  input: RunInput,
  logger: Logger,
  tellDlrn: (builds: RunBuild[]) => void,
): Promise<{ result: RunResult; url: string | undefined }> => {
  const workflowId = runWorkflowId(Date.now(), randomBytes(4).toString('hex'));
  let followed: FollowedRun | undefined;
  let latest: RunBuild[] = [];
  // Ctrl-C and SIGTERM: say what goes on, leave within two seconds (cli/interrupt.ts).
  const interrupts = onInterrupt(
    () => followed,
    async (code) => {
      // The dev server's lease, let go if it can be (a full disk may refuse even that).
      await Promise.race([
        followed?.endpoint.local?.release().catch(() => undefined),
        new Promise((r) => setTimeout(r, 300)),
      ]);
      process.exit(code);
    },
  );
  const watch = config.temporal.address ? undefined : watchDisk(config.default.datadir, interrupts);
  try {
    return await withTemporal(config, localWorkerDeps(config, logger, say), async (client, endpoint) => {
      // A run a crashed dlrn left behind is finished first (local mode: only we can run it).
      if (endpoint.local && input.mode === 'build') await settleAbandonedRuns(client, endpoint);
      const handle = await client.workflow.start<typeof runWorkflow>('run', {
        taskQueue: endpoint.taskQueue,
        workflowId,
        args: [input],
        memo: { owner: runOwner(input.dev) },
      });
      const url = workflowUrl(endpoint, workflowId);
      followed = {
        client,
        endpoint,
        workflowId,
        url,
        builds: () =>
          Promise.race([
            client.workflow
              .getHandle(workflowId)
              .query<RunProgress>(PROGRESS_QUERY)
              .then((p) => p.builds),
            new Promise<RunBuild[]>((r) => setTimeout(() => r(latest), 400)),
          ]).catch(() => latest),
        stopLocalTools: () => (endpoint.local ? killLiveToolGroups() : 0),
      };
      if (input.mode === 'build' && url) say(`Run workflow: ${url}`);
      const done = rideOut(endpoint, () => handle.result());
      if (input.mode !== 'status' && input.mode !== 'recheck') {
        const observe = (builds: RunBuild[]) => {
          latest = builds;
          tellDlrn(builds);
        };
        await followRun(client, workflowId, done, observe, endpoint.address);
      }
      // After Ctrl-C the interrupt handler says what happens and ends the process (a cancelled
      // run's end is not a failure to report).
      const result = await done.catch((err: unknown) => {
        if (isInterrupted()) return new Promise<never>(() => undefined);
        throw err;
      });
      if (isInterrupted()) await new Promise<never>(() => undefined);
      return { result, url };
    });
  } finally {
    clearInterval(watch);
    interrupts.giveBack();
  }
};

/** Below this much room, the datadir's disk is full (writes fail before it reaches zero). */
const FULL_BELOW_BYTES = 512 * 1024;

/**
 * Local mode: the datadir holds the builds, the database and Temporal's own history
 * (temporal.sqlite), so when its disk fills up nothing can go on, not even Temporal. Checked
 * every two seconds: a full disk is said at once, naming it, and dlrn leaves the run for the
 * next dlrn to resume once there is room (a cluster's workers report their full disks through
 * the run: workflows/run.ts stops starting builds).
 */
const watchDisk = (datadir: string, interrupts: Interrupts): NodeJS.Timeout =>
  setInterval(() => {
    const room = roomAt(datadir);
    if (!room || room.free >= FULL_BELOW_BYTES) return;
    interrupts.halt(
      [
        `No space${diskFullError(new Error('No space left on device'), datadir)
          .message.replace(/^no space/, '')
          .replace(/: No space left on device$/, '')}.`,
        `Nothing more can be written there: the builds, the database, nor Temporal's history (temporal.sqlite).`,
        `The run is paused as it is; make room and run dlrn again to resume it.`,
      ],
      EXIT_FAILURE,
    );
  }, 2_000).unref();

/** Everything `dlrn` does once its flags are read: one run workflow, then the answer. */
export const runDlrn = async (flags: DlrnFlags): Promise<number> => {
  const names = [...flags.projectName, ...flags.packageName];
  const recheck = flags.recheck || flags.forceRecheck;
  if (recheck && names.length === 0) {
    warn('Please use --package-name or --project-name with --recheck.');
    return EXIT_FAILURE;
  }
  const config = await readConfig(flags);
  // A failed package build is a result, shown in the summary; worker chatter only with --debug.
  const logger = createLogger({ debug: flags.debug, level: 'error' });
  installRuntimeLogger(logger, 0, { ownSignals: true });
  let devDir: string | undefined;
  if (flags.dev) {
    if (config.temporal.address)
      throw new InputError('--dev uses a temporary database and needs local mode ([temporal] address empty)');
    devDir = await mkdtemp(join(tmpdir(), 'dlrn-dev-'));
    config.default.databaseConnection = `sqlite:///${join(devDir, 'commits.sqlite')}`;
  }
  try {
    const tellDlrn = dlrnBuildLog(config.default.datadir, { useComponents: config.default.useComponents });
    const { result, url } = await startRun(config, runInputFrom(flags, config, recheck), logger, tellDlrn);
    return answer(result, flags, config, url, tellDlrn);
  } finally {
    if (devDir) await rm(devDir, { recursive: true, force: true });
  }
};
