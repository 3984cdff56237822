/**
 * Where a worker's time goes, for the bench and for a person profiling a site: with
 * `DLRN_TIMINGS=<file>` in its environment, the worker appends one JSON line per activity
 * execution (its workflow, name, attempt, start and end) with the intervals spent inside each
 * external program it ran (git, rpmbuild, createrepo_c, ...). Programs are seen through Node's
 * `child_process` diagnostics channel, so every way we start one (simple-git, execFile, spawn)
 * is counted without wrapping each call. Off by default: nothing is measured or written.
 */
import type { ChildProcess } from 'node:child_process';
import { AsyncLocalStorage } from 'node:async_hooks';
import { subscribe } from 'node:diagnostics_channel';
import { appendFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { performance } from 'node:perf_hooks';
import { wrapEach } from './failures.ts';
import { currentActivity } from './heartbeat.ts';

/** One activity execution, as a line of the timings file. */
export interface ActivityTiming {
  workflowId: string;
  workflowType: string;
  activity: string;
  attempt: number;
  /** Epoch milliseconds. */
  start: number;
  end: number;
  /** [start, end] in epoch milliseconds of each program run, by program name. */
  tools: Record<string, [number, number][]>;
}

const clock = new AsyncLocalStorage<ActivityTiming['tools']>();
const now = (): number => performance.timeOrigin + performance.now();

let listening = false;
const listen = (): void => {
  if (listening) return;
  listening = true;
  subscribe('child_process', (message) => {
    // Published synchronously by spawn, in the async context of the code that started it.
    const tools = clock.getStore();
    const child = (message as { process?: ChildProcess }).process;
    if (!tools || !child) return;
    const started = now();
    // The program's name is known once spawned, after this message.
    child.once('exit', () => (tools[basename(child.spawnfile ?? 'unknown')] ??= []).push([started, now()]));
  });
};

/** Wraps every activity so that, when `file` is set, each execution appends its timing there. */
export const withTimings = <T extends Record<string, (...args: never[]) => Promise<unknown>>>(
  activities: T,
  file: string | undefined,
): T => {
  if (!file) return activities;
  listen();
  return wrapEach(activities, (fn) => async (...args) => {
    const context = currentActivity();
    const tools: ActivityTiming['tools'] = {};
    const start = now();
    try {
      return await clock.run(tools, () => fn(...args));
    } finally {
      if (context) {
        const { info } = context;
        const line: ActivityTiming = {
          workflowId: info.workflowExecution?.workflowId ?? '',
          workflowType: info.workflowType ?? '',
          activity: info.activityType,
          attempt: info.attempt,
          start,
          end: now(),
          tools,
        };
        await appendFile(file, `${JSON.stringify(line)}\n`).catch(() => undefined);
      }
    }
  });
};
