/**
 * Chaos on the demo, with the real commands as processes: runs that overlap, kill -9 of workers
 * at moments drawn from a seeded generator (the seeds are below: a failure reproduces with the
 * same moments), kill -9 of the local dev server and of `dlrn` itself, and two `dlrn` started
 * together. Each scenario ends with `dlrn-check` passing (every SUCCESS row's directory whole,
 * no dangling link, `current` up to date), every commit built once, the run's exit code right,
 * and no process of ours left behind.
 */
import test from 'ava';
import { Client, Connection } from '@temporalio/client';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isProcessAlive } from '../../lib/local-temporal.ts';
import { freePort } from '../../lib/temporal-dev-server.ts';
import { advanceDemo, makeDemo } from '../../scripts/make-demo.ts';
import { runCli } from '../helpers/cli.ts';
import { assertWhole, sleep, start, startWorker, stop, waitFor } from '../helpers/processes.ts';
import { clusterFlags, temporalAddress, uniqueTaskQueue } from '../helpers/services.ts';

/** The seeds of the kill moments; change one only together with the note that quotes it. */
const SEEDS = { workerKills: 20261201 } as const;

/** mulberry32: a small seeded generator, so the kill moments are the same on every run. */
let root: string;
let client: Client;

test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'dlrnt-chaos-'));
  client = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
});
test.after.always(async () => {
  await client?.connection.close();
  if (root) await rm(root, { recursive: true, force: true });
});

/** A fresh demo of its own for one scenario. */
const demo = async (name: string): Promise<{ dir: string; ini: string }> => {
  const dir = join(root, name);
  return { dir, ini: await makeDemo(dir) };
};

const seeded = (seed: number) => {
  let a = seed >>> 0;
  return (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

/** The longest any activity of these workflows waited from being scheduled to its last start. */
const longestWait = async (query: string): Promise<number> => {
  let longest = 0;
  for await (const wf of client.workflow.list({ query })) {
    const history = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
    const scheduled = new Map<string, number>();
    for (const event of history.events ?? []) {
      const at =
        Number(event.eventTime?.seconds ?? 0) * 1000 + Math.floor((event.eventTime?.nanos ?? 0) / 1e6);
      if (event.activityTaskScheduledEventAttributes) scheduled.set(String(event.eventId), at);
      const started = event.activityTaskStartedEventAttributes;
      if (started && (started.attempt ?? 1) > 1)
        longest = Math.max(longest, at - (scheduled.get(String(started.scheduledEventId)) ?? at));
    }
  }
  return longest;
};

test('cluster: a run for one package started during a full run meets its build; every commit is built once', async (t) => {
  t.timeout(6 * 60_000);
  const { dir, ini } = await demo('overlap');
  const flags = clusterFlags(ini, uniqueTaskQueue('chaos-overlap'));
  const worker = await startWorker(flags, dir);
  try {
    const full = start('dlrn', flags, dir);
    // The reproduction: the second run starts once the first one is building.
    await waitFor('the full run to build', () => / building /.test(full.output()));
    const one = await runCli('dlrn', [...flags, '--package-name', 'demo-meta'], { cwd: dir });
    const all = await full.done;
    t.is(one.code, 0, one.stdout + one.stderr);
    t.is(all.code, 0, all.stdout + all.stderr);
    t.regex(one.stdout, /^Built 1 commits of 1 packages: 1 succeeded, 0 failed\.$/m);
    t.regex(all.stdout, /^Built 12 commits of 12 packages: 12 succeeded, 0 failed\.$/m);
    // demo-meta is the full run's last build: by then the other run had built it.
    t.regex(all.stdout, /SUCCESS demo-meta \w{8} \((already built|joined the running build)\)/);
    await stop(worker);
    await assertWhole(t, dir, flags);
  } finally {
    await stop(worker);
  }
});

test(`cluster: kill -9 of a worker at seeded moments (seed ${SEEDS.workerKills}) ends with every commit built once`, async (t) => {
  t.timeout(8 * 60_000);
  const random = seeded(SEEDS.workerKills);
  const { dir, ini } = await demo('worker-kills');
  const queue = uniqueTaskQueue('chaos-kills');
  const flags = clusterFlags(ini, queue);
  const workers = [await startWorker(flags, dir), await startWorker(flags, dir)];
  try {
    const run = start('dlrn', flags, dir);
    const kills: string[] = [];
    for (let k = 0; k < 3 && run.child.exitCode === null; k++) {
      await sleep(2_000 + Math.floor(random() * 8_000));
      const index = Math.floor(random() * workers.length);
      const victim = workers[index];
      if (!victim || run.child.exitCode !== null) break;
      // What the run was doing at that moment, for the log of this scenario.
      const progress = run.output().trim().split('\n').at(-1) ?? '';
      victim.child.kill('SIGKILL');
      await victim.done;
      kills.push(`worker ${index} at "${progress.trim()}"`);
      workers[index] = await startWorker(flags, dir);
    }
    const result = await run.done;
    t.log(`kills: ${kills.join('; ')}`);
    t.true(kills.length > 0);
    t.is(result.code, 0, result.stdout + result.stderr);
    t.regex(result.stdout, /^Built 12 commits of 12 packages: 12 succeeded, 0 failed\.$/m);
    const waited = await longestWait(`TaskQueue = '${queue}'`);
    t.log(`longest wait of an activity on a killed worker: ${(waited / 1000).toFixed(1)} s`);
    // Heartbeat timeouts are 30 s: nothing waits on a dead worker for its start-to-close timeout.
    t.true(waited < 90_000, `waited ${waited} ms`);
    await Promise.all(workers.map(stop));
    await assertWhole(t, dir, flags);
  } finally {
    await Promise.all(workers.map(stop));
  }
});

test('local mode: two dlrn at once share one dev server, ride out its kill -9, and a killed dlrn is resumed by the next', async (t) => {
  t.timeout(10 * 60_000);
  const { dir, ini } = await demo('local');
  // Local mode with a dev server of its own (not the harness's), on free ports.
  const flags = [
    '--config-file',
    ini,
    '--config-override',
    `temporal.local_port=${await freePort()}`,
    '--config-override',
    `temporal.ui_port=${await freePort()}`,
  ];
  const datadir = join(dir, 'data');
  const serverPid = async () =>
    Number(await readFile(join(datadir, 'temporal.pid'), 'utf8').catch(() => '0'));

  // Two dlrn started together: one starts the dev server, the other uses it.
  const first = start('dlrn', flags, dir);
  const second = start('dlrn', flags, dir);
  await waitFor('a build to finish', () => / built /.test(first.output() + second.output()));
  const pid = await serverPid();
  t.true(pid > 0);
  process.kill(pid, 'SIGKILL');
  const [a, b] = await Promise.all([first.done, second.done]);
  t.is(a.code, 0, a.stdout + a.stderr);
  t.is(b.code, 0, b.stdout + b.stderr);
  t.regex(a.stdout + b.stdout, /Started the Temporal dev server again/);
  t.regex(a.stdout + b.stdout, /Built 12 commits of 12 packages: 12 succeeded, 0 failed\./);
  // The last dlrn to leave stopped the dev server it shared: asked it to stop, and it exits
  // within seconds (its drain), with nobody waiting for it.
  t.false(existsSync(join(datadir, 'temporal.pid')));
  const stopping = Number(await readFile(join(datadir, 'temporal.stopping'), 'utf8'));
  await waitFor('the dev server to exit', () => !isProcessAlive(stopping), 15_000);

  // kill -9 of dlrn mid-run: its run stays Running in the history; the next dlrn resumes it.
  await advanceDemo(dir);
  const killed = start('dlrn', flags, dir);
  await waitFor('the run to build', () => / built /.test(killed.output()));
  killed.child.kill('SIGKILL');
  await killed.done;
  const next = await runCli('dlrn', flags, { cwd: dir });
  t.regex(next.stdout, /^Resuming run run:\S+, left running by a dlrn that is gone \(pid \d+\)/m);
  t.regex(next.stdout, /^Resumed run run:\S+ ended: \d+ succeeded, 1 failed\.$/m);
  t.is(next.code, 0, next.stdout + next.stderr);
  t.regex(next.stdout, /^Nothing new to build/m);
  t.false(existsSync(join(datadir, 'temporal.pid')));
  await assertWhole(t, dir, flags);
});
