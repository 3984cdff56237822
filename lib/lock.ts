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
  const settings = {
    realpath: false,
    ...(options.lockPath ? { lockfilePath: options.lockPath } : {}),
    stale: options.staleMs,
    update: Math.max(1_000, Math.floor(options.staleMs / 6)),
    // By default proper-lockfile throws from a timer when a refresh fails, which would kill the
    // process; the work under these locks is safe to overlap for the moment it takes to notice.
    onCompromised: options.onCompromised ?? (() => undefined),
  };
  // Waited for as long as another holder has it, in pauses of 100 ms doubling to 1 s; any other
  // failure to take it (a full disk, a folder that cannot be written) is thrown at once instead of
  // tried again forever. (Not proper-lockfile's own `retries`: it retries every error, and with a
  // large count computes and sorts every delay up front, 30 to 100 ms of the event loop a lock.)
  let release: () => Promise<void>;
  for (let pause = 100; ; pause = Math.min(pause * 2, 1_000)) {
    try {
      release = await lockfile.lock(target, { ...settings, retries: 0 });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
      await new Promise((r) => setTimeout(r, pause));
    }
  }
  try {
    return await work();
  } finally {
    await release();
  }
};
