/**
 * Repositories after builds, through the run workflow on the real dev server with real git,
 * rpmbuild and createrepo_c: hashed repositories, `current` and `consistent`, and post-build
 * serialized while builds run concurrently on two workers.
 */
import test from 'ava';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../../activities/index.ts';
import { WORKER_TUNING } from '../../cli/worker.ts';
import { createLogger } from '../../lib/logger.ts';
import { commitFiles } from '../../scripts/demo/git-repo.ts';
import type { RunInput, RunResult } from '../../workflows/run.ts';
import { runInput } from '../helpers/run-input.ts';
import { BUILD_OK as OK, demoDistgit, T0, worldsOf, type World } from '../helpers/world.ts';
import { temporalAddress, uniqueTaskQueue } from '../helpers/services.ts';
import { connectTemporal, recordHistory, workflowBundle, type TemporalTestEnv } from '../helpers/temporal.ts';
import { primaryPackages, versionRows } from '../helpers/repo.ts';

const BROKEN = '#!/bin/sh\necho "build.sh: error: broken" >&2\nexit 1\n';
let worlds: Awaited<ReturnType<typeof worldsOf>>;
let root: string;
let env: TemporalTestEnv;

test.before(async () => {
  worlds = await worldsOf('post');
  root = worlds.root;
  env = await connectTemporal();
});
test.after.always(async () => {
  await worlds?.close();
  await env?.close();
});

/** Packages tagged 1.0.0 whose builds succeed, each upstream a second after the previous one. */
const world = (names: string[], extraIni = '', components: Record<string, string> = {}): Promise<World> =>
  worlds.world(
    names.map((name, i) => ({
      name,
      tag: '1.0.0',
      upstreamAt: i,
      distgit: demoDistgit(name),
      distgitAt: 0,
      ...(components[name] ? { component: components[name] } : {}),
    })),
    `build_driver=rpmbuild\nbaseurl=http://trunk.example/centos9\nreponame=delorean\nmaxretries=0\n${extraIni}`,
    'w',
  );

/** One dlrn run, executed by `workers` worker instances polling one task queue. */
const runBuilds = async (
  title: string,
  w: World,
  workers = 1,
  concurrency = 1,
  packageNames: string[] = [],
  more: { input?: Partial<RunInput>; started?: (workflowId: string, firstRunId: string) => void } = {},
): Promise<RunResult> => {
  const taskQueue = uniqueTaskQueue(title);
  // Each worker has a connection of its own, as separate worker processes would.
  const connections = await Promise.all(
    Array.from({ length: workers }, () => NativeConnection.connect({ address: temporalAddress() })),
  );
  const pool = await Promise.all(
    connections.map(async (connection) =>
      Worker.create({
        connection,
        taskQueue,
        workflowBundle: await workflowBundle(),
        activities: createActivities({ ...w, logger: createLogger({ name: 'test', level: 'error' }) }),
        ...WORKER_TUNING,
      }),
    ),
  );
  const input = runInput(
    { infoRepo: join(w.dir, 'info'), cwd: w.dir, dev: false, local: false },
    {
      mode: 'build',
      packageNames,
      discoveryConcurrency: 4,
      workers: concurrency,
      maxretries: 0,
      baseurl: w.config.default.baseurl,
      ...more.input,
    },
  );
  const handle = await env.client.workflow.start<(i: RunInput) => Promise<RunResult>>('run', {
    taskQueue,
    workflowId: `run:${taskQueue}`,
    args: [input],
  });
  more.started?.(handle.workflowId, handle.firstExecutionRunId);
  const execute = handle.result();
  // Every worker runs until the run ends, however it ends.
  const ended = execute.then(
    () => undefined,
    () => undefined,
  );
  const running = pool.map((worker) => worker.runUntil(ended));
  try {
    return await execute;
  } finally {
    await Promise.allSettled(running);
    await Promise.allSettled(connections.map((c) => c.close()));
  }
};

test('a long run hands over to new runs of itself (continue-as-new) and reports every build', async (t) => {
  const names = ['alpha', 'bravo', 'charlie', 'delta', 'echo'];
  const w = await world(names);
  let chain = { workflowId: '', firstRunId: '' };
  const result = await runBuilds(t.title, w, 1, 2, [], {
    input: { buildsPerRun: 2 },
    started: (workflowId, firstRunId) => (chain = { workflowId, firstRunId }),
  });
  t.deepEqual(
    result.builds?.map((b) => `${b.projectName} ${b.status}`),
    names.map((n) => `${n} SUCCESS`),
    'every build of the queue, in queue order, with its result',
  );
  t.deepEqual(result.packages, names);
  // Follow the chain from the first run: each ended by continuing as new, the last completed.
  const runs: string[] = [];
  let runId: string | undefined = chain.firstRunId;
  while (runId) {
    runs.push(runId);
    const { events } = await env.client.workflow.getHandle(chain.workflowId, runId).fetchHistory();
    runId = events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
  t.is(runs.length, 3, 'five builds, two per run');
  await recordHistory(env.client, chain.workflowId, 'run-continued-as-new', chain.firstRunId);
  // Every build has its row and repository; the manifest is gone once the last run ended.
  t.is(await w.db.models.Commit.count({ where: { status: 'SUCCESS' } }), names.length);
  const current = await readlink(join(w.datadir, 'repos', 'current'));
  t.deepEqual(
    (await versionRows(join(w.datadir, 'repos', current))).map((r) => r.split(',')[0]).sort(),
    [...names].sort(),
  );
  t.deepEqual(await readdir(join(w.datadir, 'runs')), []);
  t.true(existsSync(join(w.datadir, 'repos', 'report.html')));
});

test('concurrent builds on two workers never interleave post-build; every repository is complete', async (t) => {
  const names = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot'];
  const w = await world(names);
  let runId = '';
  const result = await runBuilds(t.title, w, 2, 6, [], { started: (id) => (runId = id) });
  t.deepEqual(
    result.builds?.map((b) => b.status),
    names.map(() => 'SUCCESS'),
  );
  await recordHistory(env.client, runId, 'run-six-at-once');
  for (const build of result.builds ?? []) {
    const dir = join(w.datadir, build.outputDir ?? '');
    // Complete: the metadata lists exactly the RPMs of the packages in versions.csv.
    const listed = (await versionRows(dir)).map((r) => r.split(',')[0]).sort();
    const inMetadata = [
      ...new Set((await primaryPackages(dir)).map((f) => f.replace(/-1\.0\.0-.*$/, ''))),
    ].sort();
    t.deepEqual(inMetadata, listed, build.projectName);
    t.true(listed.includes(build.projectName));
  }
  // Serialized: the locked sections of the six post-builds, on two workers, never overlap.
  const spans = (result.builds ?? [])
    .map((b) => b.published ?? { startedAt: 0, endedAt: 0 })
    .sort((a, b) => a.startedAt - b.startedAt);
  t.true(spans.every((s) => s.startedAt > 0));
  for (let i = 1; i < spans.length; i++)
    t.true(spans[i]!.startedAt >= spans[i - 1]!.endedAt, `post-build ${i} started after ${i - 1} ended`);
  const lastPublished = (result.builds ?? []).reduce((a, b) =>
    (a.published?.endedAt ?? 0) > (b.published?.endedAt ?? 0) ? a : b,
  );
  const current = await readlink(join(w.datadir, 'repos', 'current'));
  t.is(
    join(w.datadir, 'repos', current),
    join(w.datadir, lastPublished.outputDir ?? ''),
    'current points at the last repository published',
  );
  t.is(await readlink(join(w.datadir, 'repos', 'consistent')), current);
  const votes = await w.db.models.CiVote.findAll({ where: { ciName: 'consistent' } });
  // A repository is consistent, and voted so, only when every package had a successful build
  // by then: early ones may lack packages still building, the last one has them all.
  t.true(votes.length >= 1);
  for (const build of result.builds ?? []) {
    const rows = await versionRows(join(w.datadir, build.outputDir ?? ''));
    const complete = rows.length === names.length && rows.every((r) => r.split(',')[5] === 'SUCCESS');
    const commit = await w.db.models.Commit.findOne({ where: { projectName: build.projectName } });
    const votedHere = votes.some((v) => v.getDataValue('commitId') === commit?.getDataValue('id'));
    t.is(
      votedHere,
      complete,
      `${build.projectName}: consistent vote only for a complete, all-success repository`,
    );
  }
});

test('current moves with every success; consistent only while no package is failing', async (t) => {
  const w = await world(['one', 'two', 'three']);
  const first = await runBuilds(t.title, w);
  t.deepEqual(
    first.builds?.map((b) => b.status),
    ['SUCCESS', 'SUCCESS', 'SUCCESS'],
  );
  const repos = join(w.datadir, 'repos');
  const allGood = await readlink(join(repos, 'current'));
  t.is(await readlink(join(repos, 'consistent')), allGood);
  const repoFile = await readFile(join(repos, 'current', 'delorean.repo'), 'utf8');
  t.regex(
    repoFile,
    /^\[delorean\]\nname=delorean-three-[0-9a-f]{40}\nbaseurl=http:\/\/trunk.example\/centos9\/[0-9a-f]{2}\/[0-9a-f]{2}\/[0-9a-f]{40}_[0-9a-f]{8}\nenabled=1\ngpgcheck=0\npriority=1\n$/,
  );

  await commitFiles(join(w.dir, 'upstream', 'two'), { 'build.sh': BROKEN }, T0 + 100);
  let brokenRun = '';
  const broken = await runBuilds(t.title, w, 1, 1, [], { started: (id) => (brokenRun = id) });
  t.deepEqual(
    broken.builds?.map((b) => `${b.projectName} ${b.status}`),
    ['two FAILED'],
  );
  await recordHistory(env.client, brokenRun, 'run-failed-build');
  t.is(await readlink(join(repos, 'current')), allGood, 'a failed build publishes nothing');

  await commitFiles(join(w.dir, 'upstream', 'one'), { README: 'one, again\n' }, T0 + 200);
  const other = await runBuilds(t.title, w);
  t.deepEqual(
    other.builds?.map((b) => `${b.projectName} ${b.status}`),
    ['one SUCCESS'],
  );
  const afterOther = await readlink(join(repos, 'current'));
  t.not(afterOther, allGood, 'current moves on');
  t.is(await readlink(join(repos, 'consistent')), allGood, 'two is failing: consistent stays');
  const rows = await versionRows(join(repos, afterOther));
  t.deepEqual(
    rows.map((r) => r.split(',')[0]),
    ['one', 'two', 'three'],
    '--package-name still publishes every package',
  );
  t.regex(rows.find((r) => r.startsWith('two,')) ?? '', /,FAILED,/, 'versions.csv shows the failing status');
  t.true(
    existsSync(
      join(
        repos,
        afterOther,
        (rows.find((r) => r.startsWith('two,')) ?? '').split(',').at(-1) + '.noarch.rpm',
      ),
    ),
    'the last good two is linked',
  );

  await commitFiles(join(w.dir, 'upstream', 'two'), { 'build.sh': OK }, T0 + 300);
  const fixed = await runBuilds(t.title, w);
  t.deepEqual(
    fixed.builds?.map((b) => `${b.projectName} ${b.status}`),
    ['two SUCCESS'],
  );
  t.is(
    await readlink(join(repos, 'consistent')),
    await readlink(join(repos, 'current')),
    'fixed: consistent catches up',
  );
});

test('each build is copied to rsyncdest with the reports, then current and consistent', async (t) => {
  const mirror = await mkdtemp(join(root, 'mirror-'));
  const w = await world(['solo', 'duo'], `rsyncdest=${mirror}/\nrsyncport=2222`);
  const result = await runBuilds(t.title, w);
  t.deepEqual(
    result.builds?.map((b) => b.status),
    ['SUCCESS', 'SUCCESS'],
  );
  for (const build of result.builds ?? []) {
    const copied = join(mirror, (build.outputDir ?? '').replace(/^repos\//, ''));
    t.true(existsSync(join(copied, 'repodata', 'repomd.xml')), build.projectName);
    t.true(existsSync(join(copied, 'versions.csv')));
  }
  t.is(await readlink(join(mirror, 'current')), await readlink(join(w.datadir, 'repos', 'current')));
  t.true(existsSync(join(mirror, 'report.html')), 'the reports of the first build went with the second');
});

test('component mode: per-component current, and a top-level aggregate named by its md5', async (t) => {
  const components = { ca: 'core', cb: 'core', cc: 'client' };
  const w = await world(['ca', 'cb', 'cc'], 'use_components=true', components);
  const result = await runBuilds(t.title, w);
  t.deepEqual(
    result.builds?.map((b) => b.status),
    ['SUCCESS', 'SUCCESS', 'SUCCESS'],
  );
  const repos = join(w.datadir, 'repos');
  for (const build of result.builds ?? [])
    t.regex(build.outputDir ?? '', new RegExp(`^repos/component/${components[build.projectName as 'ca']}/`));
  const core = await readlink(join(repos, 'component', 'core', 'current'));
  const client = await readlink(join(repos, 'component', 'client', 'current'));
  t.regex(core, /^[0-9a-f]{2}\/[0-9a-f]{2}\/[0-9a-f]{40}_[0-9a-f]{8}$/);
  const coreRepo = await readFile(join(repos, 'component', 'core', 'current', 'delorean.repo'), 'utf8');
  t.regex(coreRepo, /^\[delorean-component-core\]\nname=delorean-cb-/);
  const clientRepo = await readFile(join(repos, 'component', 'client', 'current', 'delorean.repo'), 'utf8');
  const aggregate = await readFile(join(repos, 'current', 'delorean.repo'), 'utf8');
  t.is(aggregate, `${clientRepo}\n${coreRepo}\n`, 'components in sorted order');
  const md5 = createHash('md5').update(aggregate).digest('hex');
  t.is(await readFile(join(repos, 'current', 'delorean.repo.md5'), 'utf8'), md5);
  t.is(
    await readlink(join(repos, 'current', 'delorean.repo')),
    `${md5.slice(0, 2)}/${md5.slice(2, 4)}/${md5}/delorean.repo`,
  );
  const csv = (await readFile(join(repos, 'current', 'versions.csv'), 'utf8')).trim().split('\n');
  t.deepEqual(
    csv
      .slice(1)
      .map((l) => l.split(',')[0])
      .sort(),
    ['ca', 'cb', 'cc'],
  );
  t.truthy(client);
  t.true(existsSync(join(repos, 'consistent', 'delorean.repo')));
});
