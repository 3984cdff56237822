/**
 * The bench's measuring tools: running a command while sampling the peak memory of every
 * process it starts, medians with their spread, and reading the timings file the worker writes
 * with DLRN_TIMINGS (activities/timings.ts).
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { ActivityTiming } from '../activities/timings.ts';

/** A figure measured several times: its median and the smallest and largest values. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}

export const spread = (values: number[]): Spread => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median =
    sorted.length === 0
      ? NaN
      : sorted.length % 2
        ? (sorted[mid] as number)
        : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { median, min: sorted[0] ?? NaN, max: sorted.at(-1) ?? NaN, n: sorted.length };
};

/** The value below which `p` percent of `values` fall (nearest rank). */
export const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
};

interface ProcInfo {
  ppid: number;
  cmdline: string;
  peakKb: number;
}

const readProc = (pid: number): ProcInfo | undefined => {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    const peakKb = Number(/^VmHWM:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    return { ppid, cmdline, peakKb };
  } catch {
    return undefined;
  }
};

/** Names a process of ours by its command line; undefined for the tools we start. */
export type Classify = (cmdline: string) => string | undefined;

export const classifyOurs: Classify = (cmdline) => {
  if (/\btemporal\b.*\bstart-dev\b/.test(cmdline)) return 'dev server';
  if (/bin\/dlrn-worker\.js/.test(cmdline)) return 'worker';
  if (/bin\/dlrn\.js/.test(cmdline)) return 'dlrn';
  return undefined;
};

/**
 * Samples every 100 ms the peak RSS (VmHWM) of `roots` and the processes under them that
 * `classify` names; answers the largest seen per name, in MB.
 */
export const sampleMemory = (roots: () => number[], classify: Classify = classifyOurs) => {
  const peaks = new Map<string, number>();
  const tick = (): void => {
    const procs = new Map<number, ProcInfo>();
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const info = readProc(Number(entry));
      if (info) procs.set(Number(entry), info);
    }
    const ours = new Set(roots());
    let grew = true;
    while (grew) {
      grew = false;
      for (const [pid, info] of procs)
        if (!ours.has(pid) && ours.has(info.ppid)) {
          ours.add(pid);
          grew = true;
        }
    }
    for (const [pid, info] of procs) {
      const name = classify(info.cmdline);
      if (!name || !ours.has(pid)) continue;
      peaks.set(name, Math.max(peaks.get(name) ?? 0, info.peakKb / 1024));
    }
  };
  const timer = setInterval(tick, 100);
  return {
    stop: (): Record<string, number> => {
      clearInterval(timer);
      tick();
      return Object.fromEntries([...peaks].map(([k, v]) => [k, Math.round(v)]));
    },
  };
};

export interface CommandRun {
  code: number;
  ms: number;
  stdout: string;
  stderr: string;
  /** Peak RSS in MB of each process of ours seen while it ran. */
  peakMb: Record<string, number>;
}

/** Runs a command to its end, timing it and sampling the memory of what it starts. */
export const runCommand = (
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; memory?: boolean; alsoWatch?: number[] } = {},
): Promise<CommandRun> =>
  new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env });
    const sampler = options.memory
      ? sampleMemory(() => [...(child.pid ? [child.pid] : []), ...(options.alsoWatch ?? [])])
      : undefined;
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({
        code: code ?? -1,
        ms: performance.now() - started,
        stdout,
        stderr,
        peakMb: sampler?.stop() ?? {},
      }),
    );
  });

export const readTimings = async (file: string): Promise<ActivityTiming[]> =>
  (await readFile(file, 'utf8').catch(() => ''))
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as ActivityTiming);

/** Total length of the union of intervals (tools running at once count once). */
export const unionMs = (intervals: [number, number][]): number => {
  let total = 0;
  let end = -Infinity;
  for (const [s, e] of [...intervals].sort((a, b) => a[0] - b[0])) {
    if (e <= end) continue;
    total += e - Math.max(s, end);
    end = e;
  }
  return total;
};

/** The programs whose time is the work itself; everything else in a build is ours. */
export const WORK_TOOLS = ['git', 'rpmbuild', 'createrepo_c'];
