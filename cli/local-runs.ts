/**
 * What keeps `dlrn` whole across crashes: runs left Running by a `dlrn` that died are resumed
 * (or, for `--dev` runs, ended) before a new run starts, and waiting on a run rides out a
 * Temporal restart instead of failing with the gRPC error.
 */
import { hostname } from 'node:os';
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { TemporalUnavailableError } from '../lib/domain/errors.ts';
import { isProcessAlive } from '../lib/local-temporal.ts';
import { say } from './output.ts';
import { followRun, isTemporalUnavailable, temporalBack, temporalDown } from './progress.ts';
import type { TemporalEndpoint } from './worker.ts';
import type { RunResult } from '../workflows/run.ts';

/** The memo of a run: which process follows it (and, in local mode, runs its worker). */
export interface RunOwner {
  host: string;
  pid: number;
  dev: boolean;
}

export const runOwner = (dev: boolean): RunOwner => ({ host: hostname(), pid: process.pid, dev });

/**
 * A run whose local-mode `dlrn` is gone: nobody runs its worker any more. Runs without an owner
 * (started by a schedule or `/api/trigger`, executed by `dlrn-server` or `dlrn-api`) are not ours
 * to settle; their builds are joined like any other run's.
 */
const abandoned = (info: WorkflowExecutionInfo): RunOwner | undefined => {
  const owner = info.memo?.owner as RunOwner | undefined;
  if (!owner || (owner.host === hostname() && isProcessAlive(owner.pid))) return undefined;
  return owner;
};

/**
 * Local mode: every run of this task queue left Running by a `dlrn` that died is resumed here
 * (this process's worker executes it; its builds finish, nothing is built twice) and followed to
 * its end, before the new run starts; a `--dev` run, whose temporary database is gone, is ended.
 * Runs of a live `dlrn` are left to it.
 */
export const settleAbandonedRuns = async (client: Client, endpoint: TemporalEndpoint): Promise<void> => {
  const query = `WorkflowType = 'run' AND ExecutionStatus = 'Running' AND TaskQueue = '${endpoint.taskQueue}'`;
  // Listed first: following a run takes minutes, longer than a listing page should stay open.
  const running: WorkflowExecutionInfo[] = [];
  for await (const info of client.workflow.list({ query })) running.push(info);
  for (const info of running) {
    const owner = abandoned(info);
    if (!owner) continue;
    const handle = client.workflow.getHandle(info.workflowId, info.runId);
    const who = `a dlrn that is gone (pid ${owner.pid})`;
    if (owner.dev) {
      say(`Ending run ${info.workflowId}, left running by ${who}: --dev runs use a temporary database.`);
      await handle.terminate('its dlrn is gone, and with it the --dev database');
      continue;
    }
    say(`Resuming run ${info.workflowId}, left running by ${who}; the new run starts when it ends.`);
    const done = rideOut(endpoint, () => handle.result() as Promise<RunResult>);
    await followRun(client, info.workflowId, done, undefined, endpoint.address);
    const builds = (await done.catch(() => undefined))?.builds ?? [];
    const count = (status: string) => builds.filter((b) => b.status === status).length;
    say(
      `Resumed run ${info.workflowId} ended: ${count('SUCCESS')} succeeded, ${count('FAILED')} failed` +
        `${count('RETRY') ? `, ${count('RETRY')} to retry` : ''}.`,
    );
  }
};

/**
 * Calls `fn` until it answers, riding out an unreachable Temporal for up to `patienceMs`: in
 * local mode the dev server is started again (same history file), in cluster mode we wait.
 * Only Temporal's own silence counts: a workflow that failed (on a database that went away, say)
 * answered.
 */
export const rideOut = async <T>(
  endpoint: TemporalEndpoint,
  fn: () => Promise<T>,
  patienceMs = 10 * 60_000,
): Promise<T> => {
  let since: number | undefined;
  for (let delay = 500; ; delay = Math.min(delay * 2, 10_000)) {
    try {
      const value = await fn();
      temporalBack(endpoint.address);
      return value;
    } catch (err) {
      if (!isTemporalUnavailable(err)) throw err;
      since ??= Date.now();
      if (Date.now() - since > patienceMs)
        throw new TemporalUnavailableError(
          `Temporal at ${endpoint.address} has not answered for ${Math.round(patienceMs / 60_000)} minutes`,
          { cause: err },
        );
      temporalDown(endpoint.address);
      if (endpoint.local && (await endpoint.local.ensureServing().catch(() => false)))
        say(`Started the Temporal dev server again (${endpoint.address}); following the run.`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
};
