/**
 * Holding a lock directory (proper-lockfile) around some work, between processes and machines
 * sharing a file system: refreshed while held, taken over when its holder stopped refreshing it
 * for `staleMs`, waited for as long as it takes.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import lockfile from 'proper-lockfile';

interface LockOptions {
  /** The lock directory; `<target>.lock` when omitted. */
  lockPath?: string;
  /** A holder that has not refreshed the lock for this long is gone (ms). */
  staleMs: number;
  /** Told when a refresh failed and another process may have taken the lock; ignored if omitted. */
  onCompromised?: (err: Error) => void;
}

export const withLockDir = async <T>(
  target: string,
  options: LockOptions,
  work: () => Promise<T>,
): Promise<T> => {
  await mkdir(dirname(options.lockPath ?? target), { recursive: true });
  const release = await lockfile.lock(target, {
    realpath: false,
    ...(options.lockPath ? { lockfilePath: options.lockPath } : {}),
    stale: options.staleMs,
    update: Math.max(1_000, Math.floor(options.staleMs / 6)),
    // Forever, in cycles of 100 ms doubling to 1 s. Not `retries: <large number>`: the retry
    // library computes and sorts every delay up front, which cost 30 to 100 ms of the event loop
    // at each lock taken with 100,000 (profiled: the largest cost of a build's own code).
    retries: { forever: true, retries: 10, minTimeout: 100, maxTimeout: 1_000 },
    // By default proper-lockfile throws from a timer when a refresh fails, which would kill the
    // process; the work under these locks is safe to overlap for the moment it takes to notice.
    onCompromised: options.onCompromised ?? (() => undefined),
  });
  try {
    return await work();
  } finally {
    await release();
  }
};
