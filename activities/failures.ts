/**
 * Our errors become Temporal failures here, once: the failure's `type` is the error's name
 * (workflows branch on it), and `retryable` decides whether Temporal tries again. Other errors
 * (a reset connection, a refused SMTP server) stay plain and are retried by the policy.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { DlrnError } from '../lib/domain/errors.ts';

export const toFailure = (err: unknown): unknown =>
  err instanceof DlrnError
    ? ApplicationFailure.create({
        type: err.name,
        message: err.message,
        nonRetryable: !err.retryable,
        cause: err,
      })
    : err;

/** Wraps every activity of an object so our errors reach workflows as typed failures. */
export const withFailures = <T extends Record<string, (...args: never[]) => Promise<unknown>>>(
  activities: T,
): T =>
  Object.fromEntries(
    Object.entries(activities).map(([name, fn]) => [
      name,
      async (...args: never[]) => {
        try {
          return await fn(...args);
        } catch (err) {
          throw toFailure(err);
        }
      },
    ]),
  ) as T;
