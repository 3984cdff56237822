/**
 * Runs a build tool with its output appended to a log file in the hashed directory, heartbeats
 * the last lines of that log while it runs (the CLI shows them live; a dead worker is noticed
 * at the heartbeat timeout), and kills the tool and all its children when the activity is
 * cancelled.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { appendFile, readdir, readFile, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { delimiter, join } from 'node:path';
import { ToolError } from '../../lib/domain/errors.ts';
import type { BuildJob } from '../../lib/domain/build.ts';
import { beat as heartbeat, currentActivity } from '../heartbeat.ts';
import { killProcessGroup, trackGroup } from '../process-groups.ts';

interface RunOptions {
  cwd: string;
  /** Appended to, never truncated: several steps share rpmbuild.log as in DLRN. */
  logFile: string;
  /** The full environment of the tool (not merged with ours). */
  env: Record<string, string>;
  /** Milliseconds between heartbeats. */
  heartbeatEvery?: number;
  /** Echo output to our stderr too (`--verbose-build`). */
  verbose?: boolean;
  /** Kill the tool after this many seconds; the outcome then says `timedOut`. */
  timeoutSeconds?: number;
}

export interface RunOutcome {
  exitCode: number;
  timedOut?: boolean;
  /** The tool's output of this run (the last 64 KiB). */
  output: string;
}

/** Heartbeat details of a running build step. */
export interface BuildHeartbeat {
  step: string;
  logTail: string[];
}

const buildScope = new AsyncLocalStorage<{ commands: boolean; pidDir?: string }>();

/**
 * Kills the process groups a previous attempt of this build left running (its worker died, or
 * lost Temporal, while rpmbuild ran: the tool is in a group of its own and outlives it), so two
 * attempts never build at once in one workspace.
 */
export const killLeftovers = async (pidDir: string): Promise<void> => {
  for (const name of await readdir(pidDir).catch(() => [] as string[])) {
    const pid = Number(name);
    // A pid means something on its own machine only: a group another worker's host recorded
    // (the datadir is shared) is not ours to kill.
    const host = (await readFile(join(pidDir, name), 'utf8').catch(() => '')).split('\n')[0];
    if (Number.isInteger(pid) && pid > 1 && host === hostname()) killProcessGroup(pid);
    await rm(join(pidDir, name), { force: true });
  }
};

/**
 * Runs one activity of a build: the tools a previous attempt of the build left behind are
 * killed first; the tools started inside are recorded in `pidDir` while they run; and with
 * `--log-commands` every command is printed on the worker's stderr, as DLRN prints them.
 */
export const withBuildScope = async <T>(
  job: Pick<BuildJob, 'logCommands'>,
  pidDir: string | undefined,
  work: () => Promise<T>,
): Promise<T> => {
  if (pidDir) await killLeftovers(pidDir);
  return buildScope.run({ commands: job.logCommands ?? false, ...(pidDir ? { pidDir } : {}) }, work);
};

/**
 * The tool's process group, recorded in `pidDir` while it runs, for the next attempt to kill if
 * this one dies with its worker; the file to remove when the tool ends.
 */
const recordGroup = (pidDir: string | undefined, pid: number | undefined, command: string) => {
  if (!pidDir || pid === undefined) return undefined;
  const pidFile = join(pidDir, String(pid));
  mkdirSync(pidDir, { recursive: true });
  writeFileSync(pidFile, `${hostname()}\n${command}\n`);
  return pidFile;
};

export const runLogged = (
  step: string,
  command: string,
  args: string[],
  options: RunOptions,
): Promise<RunOutcome> =>
  new Promise((resolve, reject) => {
    const log = createWriteStream(options.logFile, { flags: 'a' });
    // A log that cannot be written (a full disk) fails the step with its error once the tool,
    // stopped at once, has gone; never an unhandled 'error' that takes the worker down.
    let logError: Error | undefined;
    log.on('error', (err) => {
      logError ??= err;
      killProcessGroup(child.pid);
    });
    log.write(`+ ${[command, ...args].join(' ')}\n`);
    const scope = buildScope.getStore();
    if (scope?.commands) process.stderr.write(`[${step}] ${[command, ...args].join(' ')}\n`);
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const pidFile = recordGroup(scope?.pidDir, child.pid, command);
    const untrack = trackGroup(child.pid);
    let output = '';
    const onData = (chunk: Buffer) => {
      log.write(chunk);
      output = (output + chunk.toString('utf8')).slice(-65_536);
      if (options.verbose) process.stderr.write(chunk);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const context = currentActivity();
    const beat = () => heartbeat({ step, logTail: output.split('\n').slice(-10) } satisfies BuildHeartbeat);
    beat();
    const timer = setInterval(beat, options.heartbeatEvery ?? 5_000);
    const killGroup = () => killProcessGroup(child.pid);
    context?.cancellationSignal.addEventListener('abort', killGroup);
    let timedOut = false;
    const deadline =
      options.timeoutSeconds === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            killGroup();
          }, options.timeoutSeconds * 1000);
    const finish = (fn: () => void) => {
      if (pidFile) rmSync(pidFile, { force: true });
      untrack();
      clearInterval(timer);
      if (deadline) clearTimeout(deadline);
      context?.cancellationSignal.removeEventListener('abort', killGroup);
      if (logError) {
        log.destroy();
        fn();
      } else log.end(fn);
    };
    child.on('error', (err) => finish(() => reject(err)));
    child.on('close', (code, signal) =>
      finish(() => {
        if (context?.cancellationSignal.aborted) {
          const reason: unknown = context.cancellationSignal.reason;
          reject(reason instanceof Error ? reason : new Error(`${step} cancelled`));
          return;
        }
        if (logError) {
          reject(logError);
          return;
        }
        resolve({ exitCode: code ?? (signal ? 128 : 1), output, ...(timedOut ? { timedOut } : {}) });
      }),
    );
  });

/** The absolute path of `tool` on the worker's PATH, or a ToolError naming it. */
export const which = (tool: string): string => {
  if (tool.includes('/')) return tool;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, tool))) return join(dir, tool);
  }
  throw new ToolError(`${tool} is not installed on this worker (not on PATH)`);
};

/** DLRN runs koji, rhpkg and copr with nothing but this in the environment. */
export const KOJI_ENV = { PATH: '/usr/bin/' };

/** Appends the log `from` (when a tool wrote one) to the log `to`. */
export const appendLog = async (from: string, to: string): Promise<void> => {
  if (existsSync(from)) await appendFile(to, await readFile(from));
};
