/**
 * Running a Temporal worker with our workflows and activities, and reaching Temporal: the
 * configured cluster, or in local mode a dev server (started here when none listens).
 */
import { Client, Connection } from '@temporalio/client';
import type { LogLevel, LogMetadata, Worker } from '@temporalio/worker';
import type { ActivityDeps } from '../activities/index.ts';
import type { DlrnConfig } from '../lib/config/index.ts';
import type { Logger } from '../lib/logger.ts';
import { acquireLocalTemporal, type LocalTemporal } from '../lib/local-temporal.ts';
import { mkdir } from 'node:fs/promises';
import { workflowBundle } from './workflow-bundle.ts';
import { TemporalUnavailableError } from '../lib/domain/errors.ts';

export { workflowsPath } from './workflow-bundle.ts';

export interface TemporalEndpoint {
  address: string;
  namespace: string;
  taskQueue: string;
  /** Where a person browses workflows, when known. */
  uiUrl?: string;
  /** Local mode: this process's lease on the datadir's dev server, released when done. */
  local?: LocalTemporal;
}

/**
 * Cluster mode when `[temporal] address` is set; otherwise local mode: a lease on the dev server
 * of the datadir (history in `<datadir>/temporal.sqlite`, Web UI on `ui_port`), shared with
 * other commands running at the same time and started when none serves on `local_port`.
 */
export const resolveTemporal = async (config: DlrnConfig): Promise<TemporalEndpoint> => {
  const { address, namespace, taskQueue, localPort, uiPort } = config.temporal;
  if (address) return { address, namespace, taskQueue };
  await mkdir(config.default.datadir, { recursive: true });
  const local = await acquireLocalTemporal({
    datadir: config.default.datadir,
    port: localPort,
    uiPort,
    namespace,
  });
  return { address: local.address, namespace, taskQueue, uiUrl: local.uiUrl, local };
};

const PINO_LEVEL: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

let runtimeSettings: { logger: Logger; metricsPort: number; ownSignals: boolean } | undefined;
let runtimeInstalled = false;

/**
 * Sends the SDK's own lines, and workflow and activity logs, through our pino logger so every
 * line on stderr has one format. Set once per process; applied when the first worker is made
 * (a command that only talks to Temporal as a client never loads the worker runtime).
 */
export const installRuntimeLogger = (
  logger: Logger,
  metricsPort = 0,
  options: { ownSignals?: boolean } = {},
): void => {
  runtimeSettings = { logger, metricsPort, ownSignals: options.ownSignals ?? false };
};

const installRuntime = async (): Promise<void> => {
  if (runtimeInstalled || !runtimeSettings) return;
  runtimeInstalled = true;
  const { Runtime } = await import('@temporalio/worker');
  const { logger, metricsPort, ownSignals } = runtimeSettings;
  const write = (level: LogLevel, message: string, meta?: LogMetadata) =>
    logger[PINO_LEVEL[level]](meta ?? {}, message);
  Runtime.install({
    // `dlrn` answers Ctrl-C itself (cli/interrupt.ts): the SDK must not shut its worker down first.
    ...(ownSignals ? { shutdownSignals: [] } : {}),
    telemetryOptions: {
      // The SDK core's own lines (retried gRPC calls while Temporal restarts, ...) go through
      // our logger too, instead of raw to stderr.
      logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} },
      // A worker's pipeline metrics: activity and workflow latencies, failures and retries by type.
      ...(metricsPort > 0 ? { metrics: { prometheus: { bindAddress: `0.0.0.0:${metricsPort}` } } } : {}),
    },
    logger: {
      log: write,
      trace: (message, meta) => write('TRACE', message, meta),
      debug: (message, meta) => write('DEBUG', message, meta),
      info: (message, meta) => write('INFO', message, meta),
      warn: (message, meta) => write('WARN', message, meta),
      error: (message, meta) => write('ERROR', message, meta),
    },
  });
};

/** A client of the endpoint; a Temporal that does not answer is one line naming its address. */
export const connectClient = async (endpoint: TemporalEndpoint): Promise<Client> => {
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: endpoint.address, connectTimeout: 10_000 });
  } catch (err) {
    const where = endpoint.local ? 'the local dev server' : '[temporal] address';
    throw new TemporalUnavailableError(
      `cannot reach Temporal at ${endpoint.address} (${where}): ${(err as Error).message}`,
      { cause: err },
    );
  }
  return new Client({ connection, namespace: endpoint.namespace });
};

/**
 * Worker settings every worker shares. Heartbeats are sent at least every 5 s (the SDK default
 * throttles them to 80% of the heartbeat timeout), so the CLI's log tail is live and a
 * cancellation reaches a running build within seconds.
 */
export const WORKER_TUNING = { maxHeartbeatThrottleInterval: '5 seconds' } as const;

const importWorkerParts = () =>
  Promise.all([import('@temporalio/worker'), import('../activities/index.ts'), workflowBundle()]);
let workerParts: ReturnType<typeof importWorkerParts> | undefined;

/**
 * What a worker is made of, loaded once: the SDK's worker runtime, every activity's modules and
 * the workflow bundle. Loaded on first use, not at the top: only a process that runs a worker
 * pays for them, and local mode starts loading them while the dev server comes up.
 */
const loadWorkerParts = () => (workerParts ??= importWorkerParts());

export const createWorker = async (endpoint: TemporalEndpoint, deps: ActivityDeps): Promise<Worker> => {
  const [{ NativeConnection, Worker }, { createActivities }, bundle] = await loadWorkerParts();
  await installRuntime();
  const connection = await NativeConnection.connect({ address: endpoint.address }).catch((err: Error) => {
    const refused = /Connection refused/i.test(err.message) ? 'connection refused' : err.message;
    throw new TemporalUnavailableError(`cannot reach Temporal at ${endpoint.address}: ${refused}`, {
      cause: err,
    });
  });
  return Worker.create({
    connection,
    namespace: endpoint.namespace,
    taskQueue: endpoint.taskQueue,
    workflowBundle: bundle,
    activities: createActivities({
      ...deps,
      ...(process.env.DLRN_TIMINGS ? { timingsFile: process.env.DLRN_TIMINGS } : {}),
    }),
    ...WORKER_TUNING,
  });
};

/**
 * Runs `work` against Temporal. Local mode: with a worker in this process (and the shared dev
 * server) over the deps `openDeps` makes (the database among them, opened while the server is
 * found or started, and closed afterwards); when the worker loses Temporal (the dev server was
 * killed), the server is started again and a new worker carries on, while `work` rides out the
 * gap (`rideOut` in cli/local-runs.ts). Cluster mode: only a client; remote workers execute the
 * workflows, so the database is never opened here.
 */
export const withTemporal = async <T>(
  config: DlrnConfig,
  openDeps: () => Promise<ActivityDeps>,
  work: (client: Client, endpoint: TemporalEndpoint) => Promise<T>,
): Promise<T> => {
  const local = !config.temporal.address;
  // Local mode runs a worker: its modules load and its database opens while the dev server is
  // found or started.
  if (local) loadWorkerParts().catch(() => undefined);
  const opening = local ? openDeps() : undefined;
  opening?.catch(() => undefined);
  try {
    const endpoint = await resolveTemporal(config);
    try {
      const client = await connectClient(endpoint);
      try {
        if (!opening) return await work(client, endpoint);
        const deps = await opening;
        let outcome: { value: T } | { error: unknown } | undefined;
        const working = work(client, endpoint).then(
          (value) => (outcome = { value }),
          (error: unknown) => (outcome = { error }),
        );
        // `working` never rejects: runUntil ends when the work is done, or throws when the worker
        // failed under it (Temporal went away), and then a new worker carries on.
        for (let attempt = 0; !outcome; attempt++) {
          try {
            await (await createWorker(endpoint, deps)).runUntil(working);
          } catch (err) {
            if (outcome) break;
            if (attempt >= 20) throw err;
            await new Promise((r) => setTimeout(r, 1_000));
            await endpoint.local?.ensureServing().catch(() => false);
          }
        }
        if ('error' in outcome) throw outcome.error;
        return outcome.value;
      } finally {
        await client.connection.close();
      }
    } finally {
      await endpoint.local?.release();
    }
  } finally {
    await (await opening?.catch(() => undefined))?.db.close();
  }
};

/** Link to one workflow in the Web UI. */
export const workflowUrl = (
  endpoint: TemporalEndpoint,
  workflowId: string,
  runId?: string,
): string | undefined =>
  endpoint.uiUrl
    ? `${endpoint.uiUrl}/namespaces/${encodeURIComponent(endpoint.namespace)}/workflows/${encodeURIComponent(workflowId)}${runId ? `/${runId}` : ''}`
    : undefined;

/**
 * Asks a worker to stop unless it already is: the SDK's runtime also shuts workers down on
 * SIGINT and SIGTERM, and a second shutdown throws.
 */
export const stopWorker = (worker: Worker | undefined): void => {
  if (worker?.getState() === 'RUNNING') worker.shutdown();
};
