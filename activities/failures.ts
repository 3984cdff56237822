/**
 * Our errors become Temporal failures here, once: the failure's `type` is the error's name
 * (workflows branch on it), and `retryable` decides whether Temporal tries again. Other errors
 * (a reset connection, a refused SMTP server) stay plain and are retried by the policy.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { DlrnError } from '../lib/domain/errors.ts';
import { diskFullError, isDiskFull } from './disk.ts';

/**
 * A database library's error with what it knows in its message: Sequelize's bare "Validation
 * error" becomes "Validation error: <each item's message>", and a driver's error its own words.
 */
const withDetails = (err: Error): Error => {
  if (!err.name.startsWith('Sequelize')) return err;
  const items = (err as { errors?: { message?: string }[] }).errors ?? [];
  const parent = (err as { parent?: { message?: string } }).parent?.message;
  const details = [
    ...items.map((e) => e.message),
    ...(parent && parent !== err.message ? [parent] : []),
  ].filter(Boolean);
  if (details.length === 0) return err;
  return new Error(`${err.message}: ${details.join('; ')}`, { cause: err });
};

const toFailure = (err: unknown, datadir: string): unknown => {
  // A full disk is told as one wherever it shows (ENOSPC, a tool's words), naming where.
  if (!(err instanceof DlrnError) || err.name === 'BuildFailedError' || err.name === 'GitError')
    if (isDiskFull(err)) err = diskFullError(err, datadir);
  if (err instanceof DlrnError)
    return ApplicationFailure.create({
      type: err.name,
      message: err.message,
      nonRetryable: !err.retryable,
      cause: err,
    });
  return err instanceof Error ? withDetails(err) : err;
};

type ActivityMap = Record<string, (...args: never[]) => Promise<unknown>>;

/** Wraps every function of an object of activities with `wrap`, keeping its name and type. */
export const wrapEach = <T extends ActivityMap>(
  activities: T,
  wrap: (fn: (...args: never[]) => Promise<unknown>) => (...args: never[]) => Promise<unknown>,
): T => Object.fromEntries(Object.entries(activities).map(([name, fn]) => [name, wrap(fn)])) as T;

/**
 * Wraps every activity of an object so our errors reach workflows as typed failures; a full disk
 * is named as such, with the room left (`datadir` when the error names no path).
 */
export const withFailures = <T extends ActivityMap>(activities: T, datadir: string): T =>
  wrapEach(activities, (fn) => async (...args) => {
    try {
      return await fn(...args);
    } catch (err) {
      throw toFailure(err, datadir);
    }
  });
