/**
 * Running our workflows in a test: one client and native connection per test file, a worker
 * with the real activities on a task queue of the test's own.
 */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import proto from '@temporalio/proto';
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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

/**
 * With `DLRN_RECORD_HISTORIES=<dir>` set, writes the history of `workflowId` to `<dir>/<name>.json`
 * as `{ workflowId, history }`, the history in the protobuf encoding the server sends, base64
 * (@temporalio/common's JSON form trips over its second copy of protobufjs). For
 * test/unit/workflow-replay.test.ts to replay against later workflow code; recorded from the code
 * a refactoring starts from: `DLRN_RECORD_HISTORIES=test/fixtures/histories npm run ava --
 * test/integration/build-commit.test.ts test/integration/post-build.test.ts
 * test/integration/promote-batch.test.ts`.
 */
export const recordHistory = async (
  client: Client,
  workflowId: string,
  name: string,
  runId?: string,
): Promise<void> => {
  const dir = process.env.DLRN_RECORD_HISTORIES;
  if (!dir) return;
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const encoded = Buffer.from(proto.temporal.api.history.v1.History.encode(history).finish());
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, `${name}.json`),
    `${JSON.stringify({ workflowId, history: encoded.toString('base64') }, null, 2)}\n`,
  );
};
