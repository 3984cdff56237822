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
import { temporalAddress, uniqueTaskQueue } from '../helpers/services.ts';

test('dlrn-api serves the API and runs promote-batch on its own worker', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dlrnt-apicli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const url = `sqlite:///${join(dir, 'commits.sqlite')}`;
  await writeFile(
    join(dir, 'projects.ini'),
    `[DEFAULT]\ndatadir=${join(dir, 'data')}\nscriptsdir=./scripts\nbaseurl=http://trunk.example/\ndistro=rpm-master\nsource=master\n` +
      `pkginfo_driver=dlrn.drivers.local.LocalDriver\nbuild_driver=dlrn.drivers.mockdriver.MockBuildDriver\ndatabase_connection=${url}\n`,
  );
  await mkdir(join(dir, 'data', 'repos'), { recursive: true });
  const db = await openDatabase(url);
  await createUser(db.models, 'ci', 'pw', { rounds: 1000 });
  const hash = 'abcdef0123456789abcdef0123456789abcdef01';
  await db.models.Commit.create({
    type: 'rpm',
    projectName: 'demo-common',
    commitHash: hash,
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
  try {
    const health = await fetch(`http://127.0.0.1:${port}/api/health`);
    t.deepEqual(await health.json(), { result: 'ok' });
    const batch = await fetch(`http://127.0.0.1:${port}/api/promote-batch`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Authorization: `Basic ${Buffer.from('ci:pw').toString('base64')}`,
      },
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
  t.is(await exited, 0, output);
});
