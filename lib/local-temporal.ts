/**
 * Local mode's Temporal: one dev server per datadir, shared by every process of ours that uses
 * it at the same time (two `dlrn` at once, `dlrn-server` and a `dlrn`), and stopped by the last
 * one to leave. Each process holds a lease, a file named by its pid under
 * `<datadir>/temporal.users/`; starting and stopping happen under a lock on
 * `<datadir>/temporal.lck.lock`, so two processes never both start a server. A lease whose process
 * died (kill -9) is ignored: the next process to leave stops a server nobody alive uses, so a
 * crashed `dlrn` leaves the server behind only until the next command.
 */
import { spawn } from 'node:child_process';
import { mkdir, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withLockDir } from './lock.ts';
import { ToolError } from './domain/errors.ts';
import { devServerArgs, isTemporalServing, temporalBinary } from './temporal-dev-server.ts';

interface LocalTemporalOptions {
  datadir: string;
  port: number;
  uiPort: number;
  namespace: string;
}

export interface LocalTemporal {
  address: string;
  uiUrl: string;
  /** This process started the server (rather than finding one serving). */
  startedHere: boolean;
  /** Starts the server again when it stopped serving (it crashed, or was killed). */
  ensureServing(): Promise<boolean>;
  /** Leaves: stops the server when no other live process of ours uses it. */
  release(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** True when process `pid` exists on this machine. */
export const isProcessAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** True when `pid` is a running `temporal server start-dev` (not a reused pid). */
const isDevServer = async (pid: number): Promise<boolean> =>
  isProcessAlive(pid) &&
  (await readFile(`/proc/${pid}/cmdline`, 'utf8').then(
    (cmd) => cmd.includes('start-dev'),
    () => false,
  ));

const paths = (datadir: string) => ({
  lock: join(datadir, 'temporal.lck'),
  users: join(datadir, 'temporal.users'),
  pid: join(datadir, 'temporal.pid'),
  /** The pid of a server asked to stop, while it shuts down (about a second). */
  stopping: join(datadir, 'temporal.stopping'),
  log: join(datadir, 'temporal.log'),
  db: join(datadir, 'temporal.sqlite'),
});

const withStartLock = <T>(datadir: string, work: () => Promise<T>): Promise<T> =>
  withLockDir(paths(datadir).lock, { staleMs: 30_000 }, work);

/** The pids of the processes holding a lease that are still alive; dead ones' leases are removed. */
const liveUsers = async (datadir: string): Promise<number[]> => {
  const { users } = paths(datadir);
  const live: number[] = [];
  for (const name of await readdir(users).catch(() => [] as string[])) {
    const pid = Number(name);
    if (Number.isInteger(pid) && isProcessAlive(pid)) live.push(pid);
    else await rm(join(users, name), { force: true });
  }
  return live;
};

/**
 * Starts the dev server detached from this process (so one command's Ctrl-C does not take it
 * from another command), with its history in `<datadir>/temporal.sqlite`.
 */
const startServer = async (options: LocalTemporalOptions, address: string): Promise<void> => {
  const p = paths(options.datadir);
  const binary = temporalBinary();
  // A server the last command asked to stop may still be draining: it holds the port and the
  // SQLite file until it exits, so a new one waits for that first.
  const stopping = Number(await readFile(p.stopping, 'utf8').catch(() => ''));
  if (stopping > 0) {
    for (let i = 0; i < 150 && (await isDevServer(stopping)); i++) await sleep(100);
    // Hung in its shutdown: it was ours and has no user left.
    if (await isDevServer(stopping)) process.kill(stopping, 'SIGKILL');
    await rm(p.stopping, { force: true });
  }
  const args = await devServerArgs({
    ip: '127.0.0.1',
    port: options.port,
    dbFile: p.db,
    uiPort: options.uiPort,
    namespace: options.namespace,
  });
  const log = await open(p.log, 'a');
  const child = spawn(binary, args, { detached: true, stdio: ['ignore', log.fd, log.fd] });
  let failure: string | undefined;
  child.once(
    'error',
    (err) => (failure = `cannot start "${binary}": ${err.message}; run scripts/bootstrap.sh`),
  );
  child.once('exit', (code, signal) => (failure = `exited with ${signal ?? code} (see ${p.log})`));
  child.unref();
  await log.close();
  const deadline = Date.now() + 60_000;
  while (!(await isTemporalServing(address, binary))) {
    if (failure) throw new ToolError(`the Temporal dev server ${failure}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new ToolError(`the Temporal dev server did not serve on ${address} within 60 s (see ${p.log})`);
    }
    await sleep(200);
  }
  await writeFile(p.pid, String(child.pid));
};

/**
 * Asks the server to stop and returns: it drains for a second (Temporal's frontend waits at
 * least that long) and exits on its own, detached from us, so the command that leaves last
 * does not wait for it. Its pid moves to `temporal.stopping`, which the next start waits on.
 */
const stopServer = async (datadir: string): Promise<void> => {
  const p = paths(datadir);
  const pid = Number(await readFile(p.pid, 'utf8').catch(() => ''));
  // Only a server we started: one the user runs on the same port is left alone.
  if (pid > 0 && (await isDevServer(pid))) {
    await writeFile(p.stopping, String(pid));
    process.kill(pid, 'SIGTERM');
  }
  await rm(p.pid, { force: true });
};

/** Takes a lease on the datadir's dev server, starting it when none serves on `port`. */
export const acquireLocalTemporal = async (options: LocalTemporalOptions): Promise<LocalTemporal> => {
  const p = paths(options.datadir);
  await mkdir(p.users, { recursive: true });
  const address = `127.0.0.1:${options.port}`;
  const lease = join(p.users, String(process.pid));
  const ensureServing = () =>
    withStartLock(options.datadir, async () => {
      if (await isTemporalServing(address)) return false;
      await startServer(options, address);
      return true;
    });
  const startedHere = await withStartLock(options.datadir, async () => {
    await writeFile(lease, '');
    if (await isTemporalServing(address)) return false;
    await startServer(options, address);
    return true;
  });
  let released = false;
  return {
    address,
    uiUrl: `http://127.0.0.1:${options.uiPort}`,
    startedHere,
    ensureServing,
    release: async () => {
      if (released) return;
      released = true;
      await withStartLock(options.datadir, async () => {
        await rm(lease, { force: true });
        if ((await liveUsers(options.datadir)).length === 0) await stopServer(options.datadir);
      });
    },
  };
};
