/**
 * `dlrn-api` as a process in local mode, on the harness's Temporal server (its own task queue):
 * it serves the API on `[api] port`, runs the worker its workflows need, and stops on SIGTERM.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createUser } from '../../lib/auth/users.ts';
import { openDatabase } from '../../lib/db/index.ts';
import { PROJECT_ROOT } from '../../lib/paths.ts';
import { freePort } from '../../lib/temporal-dev-server.ts';
import { freshDatabase, temporalAddress, uniqueTaskQueue } from '../helpers/services.ts';

const HASH = 'abcdef0123456789abcdef0123456789abcdef01';

/** A site of one successful commit and a user `ci` (password `pw`), in a folder of the test's own. */
const site = async (t: { teardown(fn: () => Promise<void>): void }, database = 'sqlite') => {
  const dir = await mkdtemp(join(tmpdir(), 'dlrnt-apicli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const url = database === 'sqlite' ? `sqlite:///${join(dir, 'commits.sqlite')}` : database;
  await writeFile(
    join(dir, 'projects.ini'),
    `[DEFAULT]\ndatadir=${join(dir, 'data')}\nscriptsdir=./scripts\nbaseurl=http://trunk.example/\ndistro=rpm-master\nsource=master\n` +
      `pkginfo_driver=dlrn.drivers.local.LocalDriver\nbuild_driver=dlrn.drivers.mockdriver.MockBuildDriver\ndatabase_connection=${url}\n`,
  );
  await mkdir(join(dir, 'data', 'repos'), { recursive: true });
  const db = await openDatabase(url);
  await createUser(db.models, 'ci', 'pw', { rounds: 1000 });
  await db.models.Commit.create({
    type: 'rpm',
    projectName: 'demo-common',
    commitHash: HASH,
    distroHash: 'd'.repeat(40),
    extendedHash: null,
    dtCommit: 1,
    dtDistro: 1,
    dtExtended: 0,
    dtBuild: 2,
    status: 'SUCCESS',
    flags: 0,
  });
  await db.close();
  return { dir, url };
};

/** `dlrn-api` on the site, on the harness's Temporal server and a task queue of its own. */
const startApiProcess = async (dir: string) => {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      resolve(PROJECT_ROOT, 'bin', 'dlrn-api.js'),
      '--config-file',
      'projects.ini',
      '--config-override',
      `temporal.local_port=${temporalAddress().split(':')[1] ?? ''}`,
      '--config-override',
      `temporal.task_queue=${uniqueTaskQueue('dlrn-api')}`,
      '--config-override',
      `api.port=${port}`,
    ],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DLRN_LOG_LEVEL: 'warn' } },
  );
  let output = '';
  await new Promise<void>((ready, fail) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes('dlrn-api listening')) ready();
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.once('exit', (code) => fail(new Error(`dlrn-api exited with ${code ?? 'a signal'}:\n${output}`)));
  });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  return { child, port, exited, output: () => output };
};

const AUTH = `Basic ${Buffer.from('ci:pw').toString('base64')}`;

test('dlrn-api serves the API and runs promote-batch on its own worker', async (t) => {
  const { dir } = await site(t);
  const { child, port, exited, output } = await startApiProcess(dir);
  const hash = HASH;
  try {
    const health = await fetch(`http://127.0.0.1:${port}/api/health`);
    t.deepEqual(await health.json(), { result: 'ok' });
    const batch = await fetch(`http://127.0.0.1:${port}/api/promote-batch`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: AUTH },
      body: JSON.stringify(
        ['tripleo-ci-testing', 'current-tripleo'].map((promote_name) => ({
          commit_hash: hash,
          distro_hash: 'd'.repeat(40),
          promote_name,
        })),
      ),
    });
    t.is(batch.status, 201, await batch.clone().text());
    t.like(await batch.json(), { promote_name: 'current-tripleo', user: 'ci' });
    t.is(await readlink(join(dir, 'data', 'repos', 'current-tripleo')), `ab/cd/${hash}_dddddddd`);
  } finally {
    child.kill('SIGTERM');
  }
  t.is(await exited, 0, output());
});

for (const database of ['sqlite', 'postgres'] as const)
  test(`${database}: every vote answered 201 is in the database after a kill -9 of dlrn-api under load`, async (t) => {
    const target = database === 'sqlite' ? undefined : await freshDatabase('postgres');
    if (target) t.teardown(() => target.drop());
    const { dir, url } = await site(t, target?.url ?? 'sqlite');
    const { child, port, exited } = await startApiProcess(dir);
    const answered: string[] = [];
    let sent = 0;
    let stopping = false;
    // Ten CI jobs posting votes back to back, each vote with a URL of its own.
    const job = async (j: number) => {
      while (!stopping) {
        const mark = `https://ci.example/${j}/${sent++}`;
        const response = await fetch(`http://127.0.0.1:${port}/api/report_result`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: AUTH },
          body: JSON.stringify({
            job_id: `job-${j}`,
            commit_hash: HASH,
            distro_hash: 'd'.repeat(40),
            url: mark,
            timestamp: 1_780_000_000 + sent,
            success: true,
          }),
        }).catch(() => undefined);
        if (response?.status === 201) answered.push(mark);
        else if (response) t.fail(`vote answered ${response.status}: ${await response.text()}`);
      }
    };
    const jobs = Array.from({ length: 10 }, (_, j) => job(j));
    await new Promise((r) => setTimeout(r, 2_500));
    child.kill('SIGKILL');
    await exited;
    stopping = true;
    await Promise.all(jobs);
    t.true(answered.length > 50, `votes answered before the kill: ${answered.length}`);
    const db = await openDatabase(url, { readOnly: true });
    try {
      const stored = new Set(
        (await db.models.CiVote.findAll({ attributes: ['ciUrl'] })).map((v) => v.getDataValue('ciUrl')),
      );
      t.deepEqual(
        answered.filter((mark) => !stored.has(mark)),
        [],
        `of ${answered.length} votes answered 201, these are not in the database`,
      );
    } finally {
      await db.close();
    }
  });
