/**
 * Password checks off the event loop. SHA-512 crypt at passlib's 656,000 rounds is close to a
 * second of CPU; run on the event loop, a handful of wrong passwords would stall every request of
 * the API (and, in `dlrn-server`, the worker that shares its process). The checks run instead on
 * a few worker threads, started on the first check and holding the process open only while they
 * check; at most `maxQueued` checks wait for a thread, further ones are refused at once
 * (`PoolBusyError`).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

export interface VerifyPool {
  /** True when `password` matches the stored `$6$` hash; rejects with PoolBusyError when full. */
  verify(password: string, hash: string): Promise<boolean>;
  /** Checks running or waiting. */
  pending(): number;
  close(): Promise<void>;
}

export class PoolBusyError extends Error {
  constructor() {
    super('too many password checks waiting');
    this.name = 'PoolBusyError';
  }
}

interface VerifyPoolOptions {
  /** Worker threads; one less than the CPUs, at least one, at most four by default. */
  threads?: number;
  /** Checks that may wait for a thread (default 32). */
  maxQueued?: number;
}

// The thread's program: loads sha512-crypt (through tsx when the API runs from the sources) and
// answers one check per message. Only import(): it runs as CommonJS or as a module, as the
// process's flags say.
const THREAD = `
(async () => {
  const { parentPort, workerData } = await import('node:worker_threads');
  if (workerData.loader) (await import(workerData.loader)).register();
  const { verifyPassword } = await import(workerData.module);
  parentPort.on('message', ({ id, password, hash }) => {
    let ok = false;
    try { ok = verifyPassword(password, hash); } catch { ok = false; }
    parentPort.postMessage({ id, ok });
  });
})();
`;

interface Check {
  id: number;
  password: string;
  hash: string;
  resolve: (ok: boolean) => void;
  reject: (err: Error) => void;
}

interface Thread {
  worker: Worker;
  running?: Check;
}

const fromSources = import.meta.url.endsWith('.ts');
const threadData = {
  module: new URL(`./sha512-crypt.${fromSources ? 'ts' : 'js'}`, import.meta.url).href,
  loader: fromSources ? import.meta.resolve('tsx/esm/api') : undefined,
};

export const createVerifyPool = (options: VerifyPoolOptions = {}): VerifyPool => {
  const size = options.threads ?? Math.min(4, Math.max(1, availableParallelism() - 1));
  const maxQueued = options.maxQueued ?? 32;
  const threads: Thread[] = [];
  const queue: Check[] = [];
  let nextId = 0;
  let closed = false;

  const start = (): Thread => {
    const thread: Thread = { worker: new Worker(THREAD, { eval: true, workerData: threadData }) };
    thread.worker.on('message', ({ id, ok }: { id: number; ok: boolean }) => {
      const check = thread.running;
      if (check?.id !== id) return;
      thread.running = undefined;
      // An idle thread never keeps the process alive (a listener refs it: unref after them).
      thread.worker.unref();
      check.resolve(ok);
      dispatch();
    });
    const fail = (err: Error) => {
      // A thread that died takes its check with it; the next check starts a new thread.
      const at = threads.indexOf(thread);
      if (at >= 0) threads.splice(at, 1);
      thread.running?.reject(err);
      thread.running = undefined;
      dispatch();
    };
    thread.worker.on('error', fail);
    thread.worker.on('exit', (code) => fail(new Error(`password check thread exited with ${code}`)));
    thread.worker.unref();
    threads.push(thread);
    return thread;
  };

  const dispatch = (): void => {
    while (queue.length > 0 && !closed) {
      const idle = threads.find((t) => !t.running) ?? (threads.length < size ? start() : undefined);
      if (!idle) return;
      const check = queue.shift() as Check;
      idle.running = check;
      idle.worker.ref();
      idle.worker.postMessage({ id: check.id, password: check.password, hash: check.hash });
    }
  };

  return {
    verify: (password, hash) =>
      new Promise<boolean>((resolve, reject) => {
        if (closed) return reject(new Error('the password check pool is closed'));
        if (queue.length >= maxQueued) return reject(new PoolBusyError());
        queue.push({ id: nextId++, password, hash, resolve, reject });
        dispatch();
      }),
    pending: () => queue.length + threads.filter((t) => t.running).length,
    close: async () => {
      closed = true;
      for (const check of queue.splice(0)) check.reject(new Error('the password check pool is closed'));
      await Promise.all(threads.splice(0).map((t) => t.worker.terminate()));
    },
  };
};

let shared: VerifyPool | undefined;

/** The process's pool, made on first use: every API app of a process shares its threads. */
export const sharedVerifyPool = (): VerifyPool => (shared ??= createVerifyPool());
