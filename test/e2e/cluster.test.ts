/**
 * Cluster mode as a site runs it: `[temporal] address` set, two `dlrn-worker` processes polling
 * one task queue, and `dlrn` only starting and following the run. The builds of the demo are
 * spread over both workers and the published repository is whole. Then a Temporal Schedule
 * made with `dlrn schedule` starts runs that the same workers execute.
 *
 * CI runs this on the Temporal dev server; scripts/temporal-cluster.sh test runs it on a real
 * Temporal server on PostgreSQL.
 */
import test from 'ava';
import { Client, Connection } from '@temporalio/client';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PROJECT_ROOT } from '../../lib/paths.ts';
import { freePort } from '../../lib/temporal-dev-server.ts';
import { makeDemo } from '../../scripts/make-demo.ts';
import type { RunResult } from '../../workflows/run.ts';
import { runCli } from '../helpers/cli.ts';
import { primaryPackages, versionRows } from '../helpers/repo.ts';
import { clusterFlags, temporalAddress, uniqueTaskQueue } from '../helpers/services.ts';

let dir: string;
let demo: string;
let queue: string;
let client: Client;
let flags: string[];
let metricsPort: number;
const workers: ChildProcess[] = [];

const startWorker = (extra: string[] = []): Promise<ChildProcess> =>
  new Promise((ready, fail) => {
    const child = spawn(
      process.execPath,
      [resolve(PROJECT_ROOT, 'bin', 'dlrn-worker.js'), ...flags, ...extra],
      {
        cwd: demo,
        env: { ...process.env, DLRN_LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes('dlrn-worker polling task queue')) ready(child);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.once('exit', (code) =>
      fail(new Error(`dlrn-worker exited with ${code ?? 'a signal'}:\n${output}`)),
    );
  });

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dlrnt-cluster-'));
  demo = join(dir, 'demo');
  const ini = await makeDemo(demo);
  queue = uniqueTaskQueue('cluster');
  flags = clusterFlags(ini, queue);
  metricsPort = await freePort();
  workers.push(
    ...(await Promise.all([
      startWorker(['--config-override', `temporal.metrics_port=${metricsPort}`]),
      startWorker(),
    ])),
  );
  client = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
});

test.after.always(async () => {
  await Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((done) => {
          if (w.exitCode !== null) return done();
          w.once('exit', () => done());
          w.kill('SIGTERM');
        }),
    ),
  );
  await client?.connection.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Identities of the workers that ran each activity type in these workflows. */
const activityWorkers = async (workflowIds: string[], activity: string): Promise<Set<string>> => {
  const identities = new Set<string>();
  for (const id of workflowIds) {
    const history = await client.workflow.getHandle(id).fetchHistory();
    const scheduled = new Map<string, string>();
    for (const event of history.events ?? []) {
      const attrs = event.activityTaskScheduledEventAttributes;
      if (attrs) scheduled.set(String(event.eventId), attrs.activityType?.name ?? '');
      const started = event.activityTaskStartedEventAttributes;
      if (started && scheduled.get(String(started.scheduledEventId)) === activity)
        identities.add(started.identity ?? '');
    }
  }
  return identities;
};

test.serial('two worker processes share the builds of a run and the repository is whole', async (t) => {
  const run = await runCli('dlrn', flags, { cwd: demo });
  t.is(run.code, 0, run.stderr);
  t.regex(run.stdout, /^Built 12 commits of 12 packages: 12 succeeded, 0 failed\.$/m);

  const builds: string[] = [];
  for await (const w of client.workflow.list({
    query: `WorkflowType = 'buildCommit' AND TaskQueue = '${queue}'`,
  })) {
    builds.push(w.workflowId);
  }
  t.is(builds.length, 12);
  const identities = await activityWorkers(builds, 'buildRpm');
  t.is(identities.size, 2, `builds ran on ${[...identities].join(', ')}`);
  t.is(workers.filter((w) => w.exitCode === null).length, 2);

  // The first worker serves the SDK's Prometheus metrics: latencies of our activities by type.
  const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  t.regex(
    metrics,
    /temporal_activity_execution_latency\w*\{[^}]*activity_type="(prepareSources|buildSrpm|buildRpm|postBuild)"/,
  );
  t.regex(metrics, /temporal_workflow_completed\w*\{[^}]*workflow_type="buildCommit"/);

  // The builds carry their search attributes, as `temporal workflow list --query` sees them.
  let agent = 0;
  for await (const w of client.workflow.list({
    query: `DlrnProject = 'demo-agent' AND DlrnStatus = 'SUCCESS' AND TaskQueue = '${queue}'`,
  })) {
    agent++;
    t.is(w.type, 'buildCommit');
  }
  t.is(agent, 1);

  // current and consistent point at the last build's directory, whose metadata lists one RPM
  // (and its source RPM) for every package of versions.csv.
  const repos = join(demo, 'data', 'repos');
  const current = await readlink(join(repos, 'current'));
  t.is(await readlink(join(repos, 'consistent')), current);
  const dirOfCurrent = join(repos, current);
  const rows = await versionRows(dirOfCurrent);
  t.is(rows.length, 12);
  t.true(rows.every((r) => r.split(',')[5] === 'SUCCESS'));
  const listed = await primaryPackages(dirOfCurrent);
  t.is(listed.filter((f) => f.endsWith('.noarch.rpm')).length, 12);
  t.is(listed.filter((f) => f.endsWith('.src.rpm')).length, 12);
  for (const f of listed) t.true(existsSync(join(dirOfCurrent, f)), f);
});

test.serial('dlrn schedule creates, shows, pauses, updates, triggers and deletes a schedule', async (t) => {
  const scheduleId = `dlrn-run-${queue}`;
  const schedule = (args: string[]) =>
    runCli('dlrn', ['schedule', ...args, ...flags, '--schedule-id', scheduleId], { cwd: demo });

  const created = await schedule(['create', '--every', '60', '--head-only']);
  t.is(created.code, 0, created.stderr);
  t.regex(created.stdout, /Created schedule .*: dlrn runs every 60 minutes, never two at once/);
  const handle = client.schedule.getHandle(scheduleId);
  let d = await handle.describe();
  t.is(d.spec.intervals?.[0]?.every, 60 * 60_000);
  t.is(d.policies.overlap, 'SKIP');
  t.is(d.action.type, 'startWorkflow');
  if (d.action.type === 'startWorkflow') {
    t.is(d.action.workflowType, 'run');
    t.is(d.action.taskQueue, queue);
    t.like(d.action.args?.[0] as object, { mode: 'build', headOnly: true });
  }

  const dup = await schedule(['create', '--every', '60']);
  t.not(dup.code, 0);

  t.is((await schedule(['pause'])).code, 0);
  t.true((await handle.describe()).state.paused);
  t.regex((await schedule(['show'])).stdout, /every 60 minutes, paused, overlap SKIP/);
  t.is((await schedule(['resume'])).code, 0);
  t.false((await handle.describe()).state.paused);

  const updated = await schedule(['update', '--every', '5', '--head-only', '--stop']);
  t.is(updated.code, 0, updated.stderr);
  d = await handle.describe();
  t.is(d.spec.intervals?.[0]?.every, 5 * 60_000);
  if (d.action.type === 'startWorkflow') t.like(d.action.args?.[0] as object, { headOnly: true, stop: true });

  // A run now: the schedule starts the run workflow, the worker processes execute it.
  t.is((await schedule(['trigger'])).code, 0);
  let runId: string | undefined;
  for (let i = 0; i < 60 && !runId; i++) {
    runId = (await handle.describe()).info.recentActions
      .map((a) => (a.action.type === 'startWorkflow' ? a.action.workflow.workflowId : undefined))
      .find(Boolean);
    if (!runId) await new Promise((r) => setTimeout(r, 500));
  }
  t.truthy(runId);
  const result = await client.workflow.getHandle<() => Promise<RunResult>>(runId ?? '').result();
  t.is(result.builds?.length, 0, 'nothing new since the first run');
  t.is(result.packages.length, 12);
  t.regex((await schedule(['show'])).stdout, /started .*scheduled-run:/);

  const refused = await schedule(['update', '--every', '5', '--status']);
  t.is(refused.code, 2);
  t.regex(refused.stderr, /--status cannot be scheduled/);
  const badEvery = await schedule(['update', '--every', 'often']);
  t.is(badEvery.code, 2);

  t.is((await schedule(['delete'])).code, 0);
  const gone = await schedule(['show']);
  t.is(gone.code, 1);
  t.regex(gone.stderr, /no schedule/);
});
