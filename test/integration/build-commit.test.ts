/**
 * The buildCommit workflow on the real Temporal dev server with real git, rpmbuild and
 * rpmspec: packages are discovered by the run workflow, then built; results are read from the
 * database, the hashed directory and the workflow history.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, readlink, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildWorkflowId } from '../../lib/domain/temporal-names.ts';
import type { CommitCandidate } from '../../lib/domain/packages.ts';
import { commitFiles } from '../../scripts/demo/git-repo.ts';
import type { buildCommit, BuildCommitInput, BuildCommitResult } from '../../workflows/build-commit.ts';
import type { deliverEvent } from '../../workflows/deliver-event.ts';
import { createLogger } from '../../lib/logger.ts';
import { uniqueTaskQueue } from '../helpers/services.ts';
import type { run as runWorkflow, RunProgress, RunResult } from '../../workflows/run.ts';
import { runInput } from '../helpers/run-input.ts';
import { BUILD_OK, demoDistgit, T0, worldsOf, type World } from '../helpers/world.ts';
import {
  connectTemporal,
  executeWorkflow,
  recordHistory,
  testWorker,
  type TemporalTestEnv,
} from '../helpers/temporal.ts';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createActivities } from '../../activities/index.ts';

const exec = promisify(execFile);
let worlds: Awaited<ReturnType<typeof worldsOf>>;
let root: string;
let env: TemporalTestEnv;

/**
 * How long the slowed createrepo_c takes: more than twice the post-build's 30 s heartbeat
 * timeout, so an attempt that did not heartbeat while it waits would have been timed out.
 */
const SLOW_PUBLISH_SECONDS = 70;

test.before(async () => {
  worlds = await worldsOf('build');
  root = worlds.root;
  // Fault injection, not a stand-in: the real createrepo_c, run late for one test's package (a
  // big repository on a slow shared disk), found first on this test process's PATH.
  const bin = join(root, 'slow-bin');
  await mkdir(bin);
  const realCreaterepo = (await exec('sh', ['-c', 'command -v createrepo_c'])).stdout.trim();
  await writeFile(
    join(bin, 'createrepo_c'),
    `#!/bin/sh\ncase "$*" in *slow-publish-*) sleep ${SLOW_PUBLISH_SECONDS};; esac\nexec ${realCreaterepo} "$@"\n`,
    { mode: 0o755 },
  );
  process.env.PATH = `${bin}:${process.env.PATH ?? ''}`;
  env = await connectTemporal();
});
test.after.always(async () => {
  await worlds?.close();
  await env?.close();
});

/**
 * One package: an upstream tagged 1.0.0 plus one commit, a distgit with a spec whose %build
 * runs the upstream's build.sh, an info repository, a datadir and a database.
 */
const world = (name: string, buildScript = BUILD_OK, extraIni = ''): Promise<World> =>
  worlds.world(
    [
      {
        name,
        buildScript,
        tag: '1.0.0',
        afterTag: { CHANGES: 'more\n' },
        distgit: demoDistgit(name, `${name} for tests`, 1),
        distgitAt: 30,
      },
    ],
    `build_driver=rpmbuild\nmaxretries=3\n${extraIni}`,
  );

const discover = async (title: string, w: World): Promise<CommitCandidate> => {
  const input = runInput({ infoRepo: join(w.dir, 'info'), cwd: w.dir, dev: false, local: false });
  const { result } = await executeWorkflow<RunResult>(env, title, w, 'run', [input]);
  const [commit] = result.queue;
  if (!commit) throw new Error('nothing discovered');
  return commit;
};

/** A build job for a discovered commit, with the package keys the tests do not need left empty. */
const jobOf = (commit: CommitCandidate): BuildCommitInput['job'] => ({
  commit,
  pkg: { name: commit.projectName, upstream: '', masterDistgit: '', maintainers: [] },
  buildEnv: [],
  bootstrap: false,
  verbose: false,
  usePublic: false,
});

const build = async (title: string, w: World, commit: CommitCandidate, maxretries = 3) => {
  const input: BuildCommitInput = {
    job: jobOf(commit),
    maxretries,
    retryInterval: '200 milliseconds',
    baseurl: 'http://trunk.example/centos9/',
  };
  return executeWorkflow<BuildCommitResult>(env, title, w, 'buildCommit', [input], buildWorkflowId(commit));
};

/** `attempt` of the last ActivityTaskStarted of each activity type, in history order. */
const attemptsOf = async (workflowId: string) => {
  const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
  const scheduled = new Map<number, string>();
  const attempts: Record<string, number> = {};
  for (const event of history.events ?? []) {
    const s = event.activityTaskScheduledEventAttributes;
    if (s) scheduled.set(Number(event.eventId), s.activityType?.name ?? '');
    const started = event.activityTaskStartedEventAttributes;
    if (started) attempts[scheduled.get(Number(started.scheduledEventId)) ?? '?'] = started.attempt ?? 0;
    // A local activity is one marker, with its type and attempt in the marker's data.
    const marker = event.markerRecordedEventAttributes;
    const data =
      marker?.markerName === 'core_local_activity' ? marker.details?.data?.payloads?.[0]?.data : undefined;
    if (data) {
      const local = JSON.parse(Buffer.from(data).toString('utf8')) as {
        activity_type: string;
        attempt: number;
      };
      attempts[local.activity_type] = local.attempt;
    }
  }
  return attempts;
};

test('a noarch package builds from its git commit into the hashed directory with the right NVR', async (t) => {
  const w = await world('hello-tool');
  const commit = await discover(t.title, w);
  const { result, workflowId } = await build(t.title, w, commit);
  t.is(result.status, 'SUCCESS', result.notes);
  t.is(workflowId, `build:hello-tool:${commit.commitHash}:${commit.distroHash}`);
  await recordHistory(env.client, workflowId, 'build-commit-success');
  const dir = join(w.datadir, result.outputDir);
  t.is(
    result.outputDir,
    `repos/${commit.commitHash.slice(0, 2)}/${commit.commitHash.slice(2, 4)}/${commit.commitHash}_${commit.distroHash.slice(0, 8)}`,
  );
  const files = await readdir(dir);
  const rpm = files.find((f) => f.endsWith('.noarch.rpm'));
  t.truthy(rpm, files.join(' '));
  t.true(files.some((f) => f.endsWith('.src.rpm')));
  for (const log of ['rpmbuild.log', 'build.log', 'commit.yaml', 'installed'])
    t.true(files.includes(log), log);
  // 1.0.0 is tagged and one commit follows it: DLRN's .Z bump makes 1.0.1.
  const { stdout } = await exec('rpm', [
    '-qp',
    '--qf',
    '%{name}|%{version}|%{release}',
    join(dir, rpm ?? ''),
  ]);
  const [name, version, release] = stdout.split('|');
  t.is(name, 'hello-tool');
  t.is(version, '1.0.1');
  t.regex(release ?? '', new RegExp(`^0\\.\\d{14}\\.${commit.commitHash.slice(0, 7)}$`));
  t.deepEqual(
    result.artifacts.slice().sort(),
    files
      .filter((f) => f.endsWith('.rpm'))
      .map((f) => `${result.outputDir}/${f}`)
      .sort(),
  );

  const row = await w.db.models.Commit.findByPk(result.commitId);
  t.like(row?.get({ plain: true }), {
    status: 'SUCCESS',
    notes: 'OK',
    commitHash: commit.commitHash,
    projectName: 'hello-tool',
    flags: 0,
  });
  t.is(row?.getDataValue('artifacts'), result.artifacts.join(','));
  // The source RPM first, as DLRN's rows have it (tools take the first artifact for the SRPM).
  t.regex(row?.getDataValue('artifacts') ?? '', /^repos\/[^,]+\.src\.rpm,[^,]+\.noarch\.rpm$/);
  t.is(
    await readFile(join(dir, 'installed'), 'utf8'),
    `hello-tool ${commit.commitHash} ${commit.distroHash}`,
  );
  // As PyYAML dumps it for DLRN: sorted keys, the list unindented, numbers quoted, the commit
  // time as the float DLRN's pkginfo drivers make.
  const yaml = await readFile(join(dir, 'commit.yaml'), 'utf8');
  t.regex(yaml, /^commits:\n- artifacts: repos\/[^,\n]+\.src\.rpm,[^\n]+\.noarch\.rpm\n {2}commit_branch: /);
  t.regex(yaml, new RegExp(`\\n  commit_hash: ${commit.commitHash}\\n`));
  t.regex(yaml, new RegExp(`\\n  dt_commit: '${row?.getDataValue('dtCommit')}\\.0'\\n`));
  t.regex(yaml, new RegExp(`\\n  id: '${row?.getDataValue('id')}'\\n`));
  t.regex(yaml, /\n {2}extended_hash: None\n {2}flags: '0'\n/);
  t.regex(yaml, /\n {2}status: SUCCESS\n {2}type: rpm\n {2}versions_csv: None\n$/);
  t.regex(await readFile(join(dir, 'build.log'), 'utf8'), /--nodeps/);
  t.deepEqual(
    (await readdir(join(w.datadir, 'build'))).filter((d) => d.startsWith('hello-tool-')),
    [],
    'workspace removed',
  );
});

test('a source-branch pinned to a commit hash by a release tag builds that commit, and nothing newer', async (t) => {
  const w = await world('pinned-tool', BUILD_OK, 'tags=zed');
  const upstream = join(w.dir, 'upstream', 'pinned-tool');
  const pinned = (await exec('git', ['-C', upstream, 'rev-list', '-n', '1', '1.0.0'])).stdout.trim();
  // As RDO pins a stable release: the release's tag file overrides source-branch with a hash.
  const info = join(w.dir, 'info');
  await writeFile(
    join(info, 'rdo.yml'),
    (await readFile(join(info, 'rdo.yml'), 'utf8')) +
      '  tags:\n    zed:\n      source-branch: ' +
      pinned +
      '\n',
  );
  const commit = await discover(t.title, w);
  t.like(commit, { commitHash: pinned, commitBranch: pinned });
  const { result } = await build(t.title, w, commit);
  t.is(result.status, 'SUCCESS');
  const rpm = result.artifacts.find((a) => a.endsWith('.noarch.rpm')) ?? '';
  const { stdout } = await exec('rpm', ['-qp', '--qf', '%{version}', join(w.datadir, rpm)]);
  t.is(stdout, '1.0.0', 'the tagged commit, not the one after it');
  const row = await w.db.models.Commit.findByPk(result.commitId);
  t.like(row?.get({ plain: true }), { commitHash: pinned, commitBranch: pinned, status: 'SUCCESS' });
  const input = runInput({ infoRepo: info, cwd: w.dir, dev: false, local: false });
  const again = await executeWorkflow<RunResult>(env, t.title, w, 'run', [input]);
  t.deepEqual(again.result.queue, [], 'the upstream has a newer commit, but the pin holds');
});

test('a spec that does not parse is recorded FAILED with the rpmbuild error and not retried', async (t) => {
  const w = await world('broken-spec');
  await commitFiles(
    join(w.dir, 'distgit', 'broken-spec-distgit'),
    { 'broken-spec.spec': 'Version: 1\nRelease: 1\n%description\nno name\n' },
    T0 + 90,
  );
  const commit = await discover(t.title, w);
  const { result, workflowId } = await build(t.title, w, commit);
  t.is(result.status, 'FAILED');
  await recordHistory(env.client, workflowId, 'build-commit-failed');
  // DLRN's words first, then the tool's.
  t.regex(result.notes, /^Error in build_rpm_wrapper for [\w-]+: rpmbuild -bs failed with exit code 1/);
  t.regex(result.notes, /Name field must be present/);
  t.deepEqual(await attemptsOf(workflowId), {
    claimBuild: 1,
    prepareSources: 1,
    preprocess: 1,
    buildSrpm: 1,
    recordResult: 1,
    rsyncBuild: 1,
    sendFailureMail: 1,
    submitReview: 1,
  });
  const dir = join(w.datadir, result.outputDir);
  t.is(await readFile(join(dir, 'notes.log'), 'utf8'), result.notes);
  t.regex(await readFile(join(dir, 'rpmbuild.log'), 'utf8'), /Name field must be present/);
  t.is((await w.db.models.Commit.findByPk(result.commitId))?.getDataValue('status'), 'FAILED');
});

/** A build.sh failing with a transient message until it has run `failures` times. */
const flakyBuild = (counter: string, failures: number) =>
  `#!/bin/sh\necho x >> ${counter}\nif [ $(wc -l < ${counter}) -le ${failures} ]; then echo "curl: (6) Could not resolve host: mirror.example" >&2; exit 1; fi\nmkdir -p share\ncp README share/\n`;

test('a build that fails twice with a transient error is retried and ends SUCCESS', async (t) => {
  const counter = join(root, 'flaky-twice.count');
  const w = await world('flaky-twice', flakyBuild(counter, 2));
  const commit = await discover(t.title, w);
  const { result, workflowId } = await build(t.title, w, commit, 3);
  t.is(result.status, 'SUCCESS', result.notes);
  await recordHistory(env.client, workflowId, 'build-commit-retried');
  t.is((await readFile(counter, 'utf8')).split('\n').filter(Boolean).length, 3);
  t.like(await attemptsOf(workflowId), { buildSrpm: 1, buildRpm: 3 });
});

test('a transient failure that outlasts its retries is RETRY, rebuilt by a later run under a new id, then FAILED at maxretries', async (t) => {
  const counter = join(root, 'flaky-always.count');
  const w = await world('flaky-always', flakyBuild(counter, 100));
  const commit = await discover(t.title, w);
  const first = await build(t.title, w, commit, 1);
  // DLRN's rule: fewer RETRY rows than maxretries so far, so this one is RETRY and exits 2.
  t.is(first.result.status, 'RETRY');
  await recordHistory(env.client, first.workflowId, 'build-commit-retry');
  t.regex(first.result.notes, /transient error: curl: \(6\) Could not resolve host: mirror.example/);
  t.like(await attemptsOf(first.workflowId), { buildRpm: 2 });
  t.deepEqual(await attemptsOf(first.workflowId), {
    claimBuild: 1,
    prepareSources: 1,
    preprocess: 1,
    buildSrpm: 1,
    buildRpm: 2,
    recordResult: 1,
    rsyncBuild: 1,
  });

  // The next run finds the commit again (RETRY rows are rebuilt) and builds it as a new attempt.
  const again = await discover(t.title, w);
  t.is(again.commitHash, commit.commitHash);
  t.is(again.retries, 1);
  t.is(buildWorkflowId(again), `${first.workflowId}:retry1`);
  const second = await build(t.title, w, again, 1);
  t.is(second.result.status, 'FAILED');
  t.is((await readFile(counter, 'utf8')).split('\n').filter(Boolean).length, 4);
  const rows = await w.db.models.Commit.findAll({
    where: { projectName: 'flaky-always' },
    order: [['id', 'ASC']],
  });
  t.deepEqual(
    rows.map((r) => r.getDataValue('status')),
    ['RETRY', 'FAILED'],
  );
  // A FAILED commit is not found again: only --recheck builds it once more.
  const plan = await executeWorkflow<RunResult>(env, t.title, w, 'run', [
    runInput({ infoRepo: join(w.dir, 'info'), cwd: w.dir, dev: false, local: false }),
  ]);
  t.deepEqual(plan.result.queue, []);
});

test('a commit with a finished build is not built again: a second build reports its row and leaves its RPMs alone', async (t) => {
  const w = await world('built-once');
  const commit = await discover(t.title, w);
  const first = await build(t.title, w, commit);
  t.is(first.result.status, 'SUCCESS', first.result.notes);
  const rpm = join(w.datadir, first.result.artifacts.find((a) => a.endsWith('.noarch.rpm')) ?? '');
  const before = await stat(rpm);
  // The same workflow id again, as a second run or a resumed one would start it.
  const second = await build(t.title, w, commit);
  await recordHistory(env.client, second.workflowId, 'build-commit-already-built');
  t.like(second.result, {
    alreadyBuilt: true,
    status: 'SUCCESS',
    commitId: first.result.commitId,
    outputDir: first.result.outputDir,
  });
  t.deepEqual(second.result.artifacts, first.result.artifacts);
  t.deepEqual(await attemptsOf(second.workflowId), { claimBuild: 1 });
  const after = await stat(rpm);
  t.is(after.ino, before.ino);
  t.is(after.mtimeMs, before.mtimeMs);
  t.is(await w.db.models.Commit.count({ where: { projectName: 'built-once' } }), 1);

  // Even past the database check (a build that started before the row existed), preparing the
  // sources refuses to touch a directory a SUCCESS row owns.
  const activities = createActivities({ ...w, logger: createLogger({ name: 'test', level: 'warn' }) });
  await t.throwsAsync(activities.prepareSources({ ...jobOf(commit), dtBuild: T0 }), {
    message: /belongs to a successful build of built-once/,
  });
  t.is((await stat(rpm)).ino, before.ino);
});

test('a run that meets a build of the same commit going under another run waits for it and reports its result', async (t) => {
  const release = join(root, 'joined.release');
  const w = await world(
    'joined',
    `#!/bin/sh\nwhile [ ! -f ${release} ]; do sleep 0.1; done\nmkdir -p share\ncp README share/\n`,
  );
  const commit = await discover(t.title, w);
  const taskQueue = uniqueTaskQueue(t.title);
  const worker = await testWorker(env, taskQueue, w);
  const { other, result } = await worker.runUntil(async () => {
    // The other run's build, held inside rpmbuild until the test releases it.
    const other = await env.client.workflow.start<typeof buildCommit>('buildCommit', {
      taskQueue,
      workflowId: buildWorkflowId(commit, taskQueue),
      args: [{ job: jobOf(commit), maxretries: 0 }],
    });
    const runId = `run:${taskQueue}`;
    const running = env.client.workflow.execute<typeof runWorkflow>('run', {
      taskQueue,
      workflowId: runId,
      args: [
        runInput(
          { infoRepo: join(w.dir, 'info'), cwd: w.dir, dev: false, local: false },
          { mode: 'build', workers: 1 },
        ),
      ],
    });
    for (let i = 0; i < 300; i++) {
      const progress = await env.client.workflow
        .getHandle(runId)
        .query<RunProgress>('progress')
        .catch(() => undefined);
      if (progress?.builds[0]?.elsewhere === 'joined') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await writeFile(release, '');
    return { other: await other.result(), result: await running };
  });
  t.is(other.status, 'SUCCESS', other.notes);
  t.like(result.builds?.[0], { status: 'SUCCESS', elsewhere: 'joined', outputDir: other.outputDir });
  t.is(await w.db.models.Commit.count({ where: { projectName: 'joined' } }), 1);
  // The run's own start of the build was refused (the id was Running): it started no second one.
  const history = await env.client.workflow.getHandle(`run:${taskQueue}`).fetchHistory();
  t.true((history.events ?? []).some((e) => e.startChildWorkflowExecutionFailedEventAttributes));
});

test('a post-build that holds the lock past twice its heartbeat timeout heartbeats and succeeds on its first attempt', async (t) => {
  t.timeout((SLOW_PUBLISH_SECONDS + 120) * 1000);
  const w = await world('slow-publish');
  const commit = await discover(t.title, w);
  const { result, workflowId } = await build(t.title, w, commit);
  t.is(result.status, 'SUCCESS', result.notes);
  t.true((result.published?.tookMs ?? 0) >= SLOW_PUBLISH_SECONDS * 1000);
  t.like(await attemptsOf(workflowId), { postBuild: 1 });
  t.is(await readlink(join(w.datadir, 'repos', 'current')), result.outputDir.replace(/^repos\//, ''));
  t.true(existsSync(join(w.datadir, result.outputDir, 'repodata', 'repomd.xml')));
});

test('builds are found in Temporal by project, hash and status search attributes', async (t) => {
  const w = await world('findable');
  const commit = await discover(t.title, w);
  const { workflowId } = await build(t.title, w, commit);
  const query = `DlrnProject = "findable" AND DlrnCommitHash = "${commit.commitHash}" AND DlrnStatus = "SUCCESS"`;
  let ids: string[] = [];
  // Visibility is updated asynchronously by the server.
  for (let i = 0; i < 50 && ids.length === 0; i++) {
    ids = [];
    for await (const wf of env.client.workflow.list({ query })) ids.push(wf.workflowId);
    if (ids.length === 0) await new Promise((r) => setTimeout(r, 200));
  }
  t.deepEqual(ids, [workflowId]);
  const description = await env.client.workflow.getHandle(workflowId).describe();
  t.is(description.searchAttributes.DlrnDistroHash?.[0], commit.distroHash);
  const dir = `${commit.commitHash.slice(0, 2)}/${commit.commitHash.slice(2, 4)}/${commit.commitHash}_${commit.distroHash.slice(0, 8)}`;
  t.deepEqual(description.memo, {
    outputDir: `repos/${dir}`,
    log: `repos/${dir}/rpmbuild.log`,
    logUrl: `http://trunk.example/centos9/${dir}/rpmbuild.log`,
  });
});

test('the rpmbuild.log of a failed upstream build holds the tool output', async (t) => {
  const w = await world(
    'fails-to-build',
    '#!/bin/sh\necho "build.sh: error: generated code does not compile" >&2\nexit 1\n',
  );
  const commit = await discover(t.title, w);
  const { result } = await build(t.title, w, commit);
  t.is(result.status, 'FAILED');
  t.regex(result.notes, /rpmbuild --rebuild failed with exit code 1/);
  const log = await readFile(join(w.datadir, result.outputDir, 'rpmbuild.log'), 'utf8');
  t.regex(log, /generated code does not compile/);
});

test('with webhook_urls set, a failed build sends a build_failed event without waiting for it', async (t) => {
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      bodies.push(body);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as AddressInfo).port;
  const w = await world('hooked', undefined, `[api]\nwebhook_urls=http://127.0.0.1:${port}/hook\n`);
  await commitFiles(
    join(w.dir, 'distgit', 'hooked-distgit'),
    { 'hooked.spec': 'Version: 1\nRelease: 1\n%description\nno name\n' },
    T0 + 90,
  );
  const commit = await discover(t.title, w);
  const taskQueue = uniqueTaskQueue(t.title);
  const worker = await testWorker(env, taskQueue, w);
  const input: BuildCommitInput = {
    job: jobOf(commit),
    maxretries: 0,
    webhooks: true,
  };
  const workflowId = buildWorkflowId(commit);
  const event = await worker.runUntil(async () => {
    const result = await env.client.workflow.execute<typeof buildCommit>('buildCommit', {
      taskQueue,
      workflowId,
      args: [input],
    });
    t.is(result.status, 'FAILED');
    return env.client.workflow.getHandle<typeof deliverEvent>(`event:build_failed:${workflowId}`).result();
  });
  t.deepEqual(event, { delivered: [`http://127.0.0.1:${port}/hook`] });
  await recordHistory(env.client, workflowId, 'build-commit-webhook');
  t.is(bodies.length, 1);
  t.like(JSON.parse(bodies[0] ?? '{}') as object, {
    event: 'build_failed',
    data: { project_name: 'hooked', commit_hash: commit.commitHash, distro_hash: commit.distroHash },
  });
});
