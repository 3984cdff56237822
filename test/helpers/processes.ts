/**
 * Our commands as background processes for the chaos and fault tests: started, their output
 * read while they run (with when each part arrived, to measure how soon a message came), waited
 * for, stopped; and the checks every scenario ends with: dlrn-check passes, no commit has two
 * rows, and nothing of ours still runs.
 */
import type { ExecutionContext } from 'ava';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { openDatabase } from '../../lib/db/index.ts';
import { PROJECT_ROOT } from '../../lib/paths.ts';
import { runCli, type CliResult } from './cli.ts';

const exec = promisify(execFile);

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One of our commands running in the background, its output readable while it runs. */
export interface Running {
  child: ChildProcess;
  /** stdout and stderr so far, in the order they came. */
  output(): string;
  /** Milliseconds after the start when the output first matched `re`, or undefined. */
  firstAt(re: RegExp): number | undefined;
  /** Epoch milliseconds the process started. */
  startedAt: number;
  done: Promise<CliResult>;
}

export const start = (name: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Running => {
  const startedAt = Date.now();
  const child = spawn(process.execPath, [resolve(PROJECT_ROOT, 'bin', `${name}.js`), ...args], {
    cwd,
    env: { ...process.env, DLRN_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const chunks: { at: number; text: string }[] = [];
  const note = (text: string) => chunks.push({ at: Date.now() - startedAt, text });
  child.stdout?.on('data', (c: Buffer) => {
    stdout += c.toString('utf8');
    note(c.toString('utf8'));
  });
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString('utf8');
    note(c.toString('utf8'));
  });
  const done = new Promise<CliResult>((ok) =>
    child.once('close', (code, signal) => ok({ code: code ?? (signal ? 128 : 1), stdout, stderr })),
  );
  return {
    child,
    startedAt,
    output: () => chunks.map((c) => c.text).join(''),
    firstAt: (re) => {
      let text = '';
      for (const chunk of chunks) {
        text += chunk.text;
        if (re.test(text)) return chunk.at;
      }
      return undefined;
    },
    done,
  };
};

export const waitFor = async (what: string, check: () => boolean | Promise<boolean>, ms = 180_000) => {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
};

export const startWorker = async (flags: string[], cwd: string): Promise<Running> => {
  const worker = start('dlrn-worker', flags, cwd);
  await waitFor('dlrn-worker to poll', () => worker.output().includes('dlrn-worker polling task queue'));
  return worker;
};

export const stop = async (running: Running): Promise<void> => {
  if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill('SIGTERM');
  await running.done;
};

/** Rows of one commit that were built more than once (a recheck would be the only excuse). */
export const builtTwice = async (
  dir: string,
  url = `sqlite:///${join(dir, 'data', 'commits.sqlite')}`,
): Promise<string[]> => {
  const db = await openDatabase(url, { migrate: false });
  try {
    const rows = await db.models.Commit.findAll({ order: [['id', 'ASC']] });
    const seen = new Map<string, number>();
    for (const r of rows) {
      const key = [
        r.getDataValue('projectName'),
        r.getDataValue('commitHash'),
        r.getDataValue('distroHash'),
        r.getDataValue('extendedHash'),
      ].join(' ');
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    return [...seen].filter(([, n]) => n > 1).map(([key, n]) => `${key} x${n}`);
  } finally {
    await db.close();
  }
};

/** Processes whose command line names this scenario's folder: tools or servers left behind. */
export const leftovers = async (dir: string): Promise<string[]> => {
  const { stdout } = await exec('ps', ['-eo', 'pid=,args=']).catch(() => ({ stdout: '' }));
  return stdout
    .split('\n')
    .filter((line) => line.includes(dir) && !line.includes('ps -eo'))
    .map((line) => line.trim());
};

/** The site is whole: dlrn-check passes, no commit has two rows, nothing of ours still runs. */
export const assertWhole = async (
  t: ExecutionContext,
  dir: string,
  checkFlags: string[],
  databaseUrl?: string,
) => {
  const check = await runCli('dlrn-check', checkFlags, { cwd: dir });
  t.is(check.code, 0, `dlrn-check:\n${check.stdout}${check.stderr}`);
  t.regex(check.stdout, /^site ok: \d+ commits/m);
  t.deepEqual(await builtTwice(dir, databaseUrl), []);
  await waitFor('our processes to end', async () => (await leftovers(dir)).length === 0, 30_000).catch(
    () => undefined,
  );
  t.deepEqual(await leftovers(dir), []);
};
