/**
 * Every activity heartbeats while it runs, so a worker that dies is noticed at the heartbeat
 * timeout (a minute or less) instead of the start-to-close timeout, and its work moves to
 * another worker. Steps that have something to show (a build's log tail, "waiting for the
 * post-build lock") send it with `beat`; the automatic heartbeat repeats the last details, so
 * what the CLI shows is never wiped by it.
 */
import { Context } from '@temporalio/activity';
import { wrapEach } from './failures.ts';

/** How often a running activity heartbeats, at least (the SDK throttles what reaches the server). */
const HEARTBEAT_EVERY_MS = 5_000;

const lastDetails = new WeakMap<Context, unknown>();

/** The current activity's context, or undefined outside an activity (a test, a CLI). */
export const currentActivity = (): Context | undefined => {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
};

/** Heartbeats with `details`, which the automatic heartbeat then repeats. */
export const beat = (details?: unknown): void => {
  const context = currentActivity();
  // A local activity lives inside its workflow's task: the server takes no heartbeats for it.
  if (!context || context.info.isLocal) return;
  if (details !== undefined) lastDetails.set(context, details);
  context.heartbeat(details ?? lastDetails.get(context));
};

/** What an activity waits for outside us (a database that does not answer), for the CLI. */
export interface WaitingFor {
  what: string;
  /** Epoch milliseconds. */
  since: number;
  detail?: string;
}

/**
 * Puts `wait` into the current activity's heartbeat details as `waitingFor` (or takes it out),
 * beside what its step said; false outside a heartbeating activity.
 */
export const noteWait = (wait: WaitingFor | undefined): boolean => {
  const context = currentActivity();
  if (!context || context.info.isLocal) return false;
  const last = lastDetails.get(context);
  const rest = last !== null && typeof last === 'object' ? { ...(last as Record<string, unknown>) } : {};
  delete rest.waitingFor;
  const details = wait ? { ...rest, waitingFor: wait } : rest;
  lastDetails.set(context, details);
  context.heartbeat(details);
  return true;
};

/** Wraps every activity of an object so it heartbeats every few seconds while it runs. */
export const withHeartbeats = <T extends Record<string, (...args: never[]) => Promise<unknown>>>(
  activities: T,
): T =>
  wrapEach(activities, (fn) => async (...args) => {
    const context = currentActivity();
    const timer =
      context && !context.info.isLocal
        ? setInterval(() => context.heartbeat(lastDetails.get(context)), HEARTBEAT_EVERY_MS)
        : undefined;
    try {
      return await fn(...args);
    } finally {
      clearInterval(timer);
    }
  });
