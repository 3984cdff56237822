/**
 * Running our workflows in a test: one client and native connection per test file, a worker
 * with the real activities on a task queue of the test's own.
 */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { createActivities } from '../../activities/index.ts';
import { WORKER_TUNING } from '../../cli/worker.ts';
import { workflowBundle as prebuiltBundle } from '../../cli/workflow-bundle.ts';
import type { DlrnConfig } from '../../lib/config/index.ts';
import type { Database } from '../../lib/db/index.ts';
import { createLogger } from '../../lib/logger.ts';
import { temporalAddress, uniqueTaskQueue } from './services.ts';

let installed = false;
let bundle: Promise<{ code: string }> | undefined;

/** The workflow bundle the workers of a test load: the prebuilt one, read once per process. */
export const workflowBundle = () => (bundle ??= prebuiltBundle());

export interface TemporalTestEnv {
  client: Client;
  connection: NativeConnection;
  close(): Promise<void>;
}

export const connectTemporal = async (): Promise<TemporalTestEnv> => {
  if (!installed) {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    installed = true;
  }
  const address = temporalAddress();
  const client = new Client({ connection: await Connection.connect({ address }) });
  const connection = await NativeConnection.connect({ address });
  return {
    client,
    connection,
    close: async () => {
      await connection.close();
      await client.connection.close();
    },
  };
};

/** A worker with our real activities over `deps`, on `taskQueue`, for a test that drives it. */
export const testWorker = async (
  env: TemporalTestEnv,
  taskQueue: string,
  deps: { config: DlrnConfig; db: Database },
): Promise<Worker> =>
  Worker.create({
    connection: env.connection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    ...WORKER_TUNING,
    activities: createActivities({ ...deps, logger: createLogger({ name: 'test', level: 'error' }) }),
  });

/**
 * Starts workflow `name` with `args` on a fresh task queue served by a worker with our
 * activities over `config` and `db`, and returns its result and id.
 */
export const executeWorkflow = async <R>(
  env: TemporalTestEnv,
  title: string,
  deps: { config: DlrnConfig; db: Database },
  name: string,
  args: unknown[],
  workflowId = `${name}:${uniqueTaskQueue(title)}:${randomUUID()}`,
): Promise<{ result: R; workflowId: string }> => {
  const taskQueue = uniqueTaskQueue(title);
  const worker = await testWorker(env, taskQueue, deps);
  const result: R = await worker.runUntil(
    env.client.workflow.execute<(...a: unknown[]) => Promise<R>>(name, { taskQueue, workflowId, args }),
  );
  return { result, workflowId };
};
