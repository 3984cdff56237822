/**
 * Cluster mode as a site runs it: `[temporal] address` set, two `dlrn-worker` processes polling
 * one task queue, and `dlrn` only starting and following the run. The builds of the demo are
 * spread over both workers and the published repository is whole. Then a Temporal Schedule
 * made with `dlrn schedule` starts runs that the same workers execute.
 *
 * Then automatic promotion on the built demo, driven by DLRN's own client (`dlrnapi
 * report-result`, dlrnapi-client from PyPI) through a `dlrn-api` process, with both workers
 * killed (kill -9) while a promotion is due.
 *
 * CI runs this on the Temporal dev server; scripts/temporal-cluster.sh test runs it on a real
 * Temporal server on PostgreSQL.
 */
import test from 'ava';
import { Client, Connection } from '@temporalio/client';
import { existsSync } from 'node:fs';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PROJECT_ROOT } from '../../lib/paths.ts';
import { freePort } from '../../lib/temporal-dev-server.ts';
import { commitFiles } from '../../scripts/demo/git-repo.ts';
import { makeDemo } from '../../scripts/make-demo.ts';
import type { RunResult } from '../../workflows/run.ts';
import { runCli } from '../helpers/cli.ts';
import { CRITERIA } from '../helpers/promotion.ts';
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
  // Automatic promotion's criteria (the last test): nothing wakes a target before it votes.
  const criteria = join(dir, 'criteria.yaml');
  await writeFile(criteria, CRITERIA);
  flags = [...clusterFlags(ini, queue), '--config-override', `promotions.criteria_file=${criteria}`];
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

/** DLRN's own client, from the project's virtualenv (scripts/bootstrap.sh installs it). */
const dlrnapiBin = resolve(PROJECT_ROOT, '.tools', 'venv', 'bin', 'dlrnapi');

test.serial(
  "automatic promotion on the built demo, voted by DLRN's dlrnapi: on the vote, not a timer; failed blocks, alternatives count, a waiver unblocks until it expires; workers killed mid-way",
  async (t) => {
    t.timeout(240_000);
    const user = await runCli('dlrn-user', [...flags, 'create', '--username', 'ci', '--password', 'pw'], {
      cwd: demo,
    });
    t.is(user.code, 0, user.stderr);
    const apiPort = await freePort();
    const api = spawn(
      process.execPath,
      [resolve(PROJECT_ROOT, 'bin', 'dlrn-api.js'), ...flags, '--config-override', `api.port=${apiPort}`],
      { cwd: demo, env: { ...process.env, DLRN_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    t.teardown(() => void api.kill('SIGTERM'));
    await new Promise<void>((ready, fail) => {
      let output = '';
      api.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString('utf8');
        if (output.includes('dlrn-api listening')) ready();
      });
      api.once('exit', (code) => fail(new Error(`dlrn-api exited with ${code ?? 'a signal'}: ${output}`)));
    });
    const url = `http://127.0.0.1:${apiPort}`;
    const repos = join(demo, 'data', 'repos');
    // A second consistent build: a new upstream commit of demo-common, built by the workers.
    await commitFiles(
      join(demo, 'upstream', 'demo-common'),
      { NEWS: 'a change\n' },
      Math.trunc(Date.now() / 1000),
    );
    const rebuilt = await runCli('dlrn', flags, { cwd: demo });
    t.is(rebuilt.code, 0, rebuilt.stderr);
    t.regex(rebuilt.stdout, /^Built 1 commits? of 12 packages: 1 succeeded, 0 failed\.$/m);

    // The candidates: the builds the builders voted consistent; the newest two, from the site.
    const consistentDir = join(repos, await readlink(join(repos, 'consistent')));
    const newest = await hashesOf(consistentDir);
    const older = await olderConsistent(url, newest);
    const vote = async (c: Hashes, job: string, success = true): Promise<number> => {
      const { stdout } = await promisify(execFile)(dlrnapiBin, [
        '--url',
        url,
        '--username',
        'ci',
        '--password',
        'pw',
        'report-result',
        '--commit-hash',
        c.commit,
        '--distro-hash',
        c.distro,
        '--job-id',
        job,
        '--info-url',
        `https://ci.example/${job}`,
        '--timestamp',
        String(Math.trunc(Date.now() / 1000)),
        '--success',
        String(success),
      ]);
      t.regex(stdout, new RegExp(`"job_id": "${job}"`));
      return Date.now();
    };
    const linkOf = (name: string) => readlink(join(repos, name)).catch(() => '');
    const movedTo = async (name: string, c: Hashes): Promise<number> => {
      for (let i = 0; i < 600; i++) {
        if ((await linkOf(name)).includes(c.commit)) return Date.now();
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`${name} did not move to ${c.commit} within a minute`);
    };
    const status = async (name: string, c: Hashes) => {
      const answer = await fetch(
        `${url}/api/promotion_status?promote_name=${name}&commit_hash=${c.commit}&distro_hash=${c.distro}`,
      );
      return (
        (await answer.json()) as {
          candidates: { reason: string; meets: boolean; jobs: { job_id: string; state: string }[] }[];
        }
      ).candidates[0];
    };

    // The older build passes its job: tripleo-ci-testing moves to it within seconds of the
    // vote (the backstop timer is ten minutes).
    const voted = await vote(older, 'periodic-promote-to-testing');
    const took = (await movedTo('tripleo-ci-testing', older)) - voted;
    t.log(`tripleo-ci-testing moved ${took} ms after dlrnapi's vote`);
    t.true(took < 30_000, `${took} ms`);

    // current-tripleo: fs001 passes, fs035 fails: blocked, and said why.
    await vote(older, 'periodic-fs001');
    await vote(older, 'periodic-fs035', false);
    await new Promise((r) => setTimeout(r, 2_000));
    t.is(await linkOf('current-tripleo'), '');
    t.like(await status('current-tripleo', older), { meets: false });
    t.regex((await status('current-tripleo', older))?.reason ?? '', /periodic-fs035/);

    // A waiver of fs035 for a few seconds unblocks it: promoted on the waiver, not a timer.
    const waiver = await fetch(`${url}/api/waivers`, {
      method: 'POST',
      headers: {
        Authorization: `Basic ${Buffer.from('ci:pw').toString('base64')}`,
        'Content-Type': 'application/json',
      },
      body: JSON.stringify({
        promote_name: 'current-tripleo',
        job_id: 'periodic-fs035',
        reason: 'LP#1 fs035 broken upstream',
        expires_in: 6,
      }),
    });
    t.is(waiver.status, 201, await waiver.text());
    await movedTo('current-tripleo', older);

    // The newest build reaches tripleo-ci-testing; once the waiver has expired, fs001 alone no
    // longer promotes it: fs035 is missing again.
    await vote(newest, 'periodic-promote-to-testing');
    await movedTo('tripleo-ci-testing', newest);
    await new Promise((r) => setTimeout(r, 6_000));
    await vote(newest, 'periodic-fs001');
    await new Promise((r) => setTimeout(r, 2_000));
    t.true((await linkOf('current-tripleo')).includes(older.commit));
    const blocked = await status('current-tripleo', newest);
    t.deepEqual(
      blocked?.jobs.map((j) => [j.job_id, j.state]),
      [
        ['periodic-fs001', 'passed'],
        ['periodic-fs035', 'missing'],
      ],
    );

    // The alternative passes, and both workers die at once (kill -9): the wake-up is in the
    // target's history, and a new worker promotes the newest build, once.
    await vote(newest, 'periodic-fs035-rocky');
    for (const w of workers.splice(0)) {
      w.kill('SIGKILL');
      await new Promise((r) => (w.exitCode === null && w.signalCode === null ? w.once('exit', r) : r(null)));
    }
    workers.push(await startWorker());
    await movedTo('current-tripleo', newest);
    t.like(await status('current-tripleo', newest), { meets: true });
    await new Promise((r) => setTimeout(r, 2_000));
    const rows = (await (await fetch(`${url}/api/promotions?promote_name=current-tripleo`)).json()) as {
      commit_hash: string;
    }[];
    t.deepEqual(
      rows.map((r) => r.commit_hash),
      [newest.commit, older.commit],
    );
    const check = await runCli('dlrn-check', flags, { cwd: demo });
    t.is(check.code, 0, check.stdout + check.stderr);
  },
);

interface Hashes {
  commit: string;
  distro: string;
}

/** A build's hashes, from the commit.yaml of its published directory. */
const hashesOf = async (hashedDir: string): Promise<Hashes> => {
  const yaml = await readFile(join(hashedDir, 'commit.yaml'), 'utf8');
  return {
    commit: /commit_hash: (\w+)/.exec(yaml)?.[1] ?? '',
    distro: /distro_hash: (\w+)/.exec(yaml)?.[1] ?? '',
  };
};

/** Another build voted consistent, older than `newest`: the second newest the API reports. */
const olderConsistent = async (url: string, newest: Hashes): Promise<Hashes> => {
  const answer = await fetch(`${url}/api/promotion_status?promote_name=tripleo-ci-testing`);
  const { candidates } = (await answer.json()) as {
    candidates: { commit_hash: string; distro_hash: string }[];
  };
  const other = candidates.find((c) => c.commit_hash !== newest.commit);
  if (!other) throw new Error('the demo has one consistent build only');
  return { commit: other.commit_hash, distro: other.distro_hash };
};
