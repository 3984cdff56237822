/**
 * Runs a build tool with its output appended to a log file in the hashed directory, heartbeats
 * the last lines of that log while it runs (the CLI shows them live; a dead worker is noticed
 * at the heartbeat timeout), and kills the tool and all its children when the activity is
 * cancelled.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { Context } from '@temporalio/activity';
import type { BuildJob } from '../../lib/domain/build.ts';

export interface RunOptions {
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

const inActivity = (): Context | undefined => {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
};

const commandLog = new AsyncLocalStorage<{ commands: boolean }>();

/**
 * Runs one activity of a build with `--log-commands` honoured: every command runLogged starts
 * inside it is printed on the worker's stderr (the terminal, in local mode), as DLRN prints them.
 */
export const withCommandLog = <T>(job: Pick<BuildJob, 'logCommands'>, work: () => Promise<T>): Promise<T> =>
  commandLog.run({ commands: job.logCommands ?? false }, work);

export const runLogged = (
  step: string,
  command: string,
  args: string[],
  options: RunOptions,
): Promise<RunOutcome> =>
  new Promise((resolve, reject) => {
    const log = createWriteStream(options.logFile, { flags: 'a' });
    log.write(`+ ${[command, ...args].join(' ')}\n`);
    if (commandLog.getStore()?.commands) process.stderr.write(`[${step}] ${[command, ...args].join(' ')}\n`);
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const onData = (chunk: Buffer) => {
      log.write(chunk);
      output = (output + chunk.toString('utf8')).slice(-65_536);
      if (options.verbose) process.stderr.write(chunk);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const context = inActivity();
    const beat = () =>
      context?.heartbeat({ step, logTail: output.split('\n').slice(-10) } satisfies BuildHeartbeat);
    beat();
    const timer = setInterval(beat, options.heartbeatEvery ?? 5_000);
    const killGroup = () => {
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    };
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
      clearInterval(timer);
      if (deadline) clearTimeout(deadline);
      context?.cancellationSignal.removeEventListener('abort', killGroup);
      log.end(fn);
    };
    child.on('error', (err) => finish(() => reject(err)));
    child.on('close', (code, signal) =>
      finish(() => {
        if (context?.cancellationSignal.aborted) {
          const reason: unknown = context.cancellationSignal.reason;
          reject(reason instanceof Error ? reason : new Error(`${step} cancelled`));
          return;
        }
        resolve({ exitCode: code ?? (signal ? 128 : 1), output, ...(timedOut ? { timedOut } : {}) });
      }),
    );
  });
