/**
 * A full disk, told as one: ENOSPC from Node, "No space left on device" from a tool, SQLite's
 * "database or disk is full". It becomes a DiskFullError naming the path and how much room is
 * left there, so a person sees which disk to clean and the run stops instead of failing every
 * build that follows (workflows/build-commit.ts, workflows/run.ts).
 */
import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { DiskFullError } from '../lib/domain/errors.ts';

/** What a tool or a driver says when the disk is full (or the quota used up). */
export const DISK_FULL_WORDS =
  /No space left on device|\bENOSPC\b|Disk quota exceeded|\bEDQUOT\b|SQLITE_FULL|database or disk is full/i;

const CODES = new Set(['ENOSPC', 'EDQUOT']);

/** Whether `err` (or its cause) says the disk is full. */
export const isDiskFull = (err: unknown): boolean => {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (CODES.has((e as NodeJS.ErrnoException).code ?? '')) return true;
    if (DISK_FULL_WORDS.test(e.message)) return true;
  }
  return false;
};

const human = (bytes: number): string => {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
};

/** Room left on the file system holding `path` (the nearest existing parent), for root or not. */
export const roomAt = (path: string): { free: number; size: number } | undefined => {
  for (let at = path; ; at = dirname(at)) {
    try {
      const s = statfsSync(at);
      const blocks = process.getuid?.() === 0 ? s.bfree : s.bavail;
      return { free: blocks * s.bsize, size: s.blocks * s.bsize };
    } catch {
      if (dirname(at) === at) return undefined;
    }
  }
};

/** The DiskFullError for a failure at `path` (the error's own path when it has one). */
export const diskFullError = (err: unknown, fallbackPath: string): DiskFullError => {
  const path = (err as NodeJS.ErrnoException).path ?? fallbackPath;
  const room = roomAt(path);
  const left = room ? `${human(room.free)} free of ${human(room.size)}` : 'free space unknown';
  const words = err instanceof Error ? err.message.split('\n')[0] : String(err);
  return new DiskFullError(`no space left on the disk holding ${path} (${left}): ${words}`, { cause: err });
};
