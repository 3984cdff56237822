/**
 * `dlrn-server` as a process in local mode: it starts its own Temporal dev server (history in
 * `<datadir>/temporal.sqlite`) with the Web UI, a worker and the API, keeps them up until SIGTERM, and
 * what ran before a restart is still there after it.
 */
import test from 'ava';
import { Client, Connection } from '@temporalio/client';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PROJECT_ROOT } from '../../lib/paths.ts';
import { freePort, isTemporalServing } from '../../lib/temporal-dev-server.ts';
import { CRITERIA } from '../helpers/promotion.ts';
import { makeDemo } from '../../scripts/make-demo.ts';
import { runCli } from '../helpers/cli.ts';

let dir: string;
let demo: string;
let flags: string[];
let address: string;
let uiPort: number;
let apiPort: number;

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dlrnt-server-'));
  demo = join(dir, 'demo');
  const ini = await makeDemo(demo);
  const port = await freePort();
  uiPort = await freePort();
  apiPort = await freePort();
  address = `127.0.0.1:${port}`;
  flags = [
    '--config-file',
    ini,
    '--config-override',
    `temporal.local_port=${port}`,
    '--config-override',
    `temporal.ui_port=${uiPort}`,
    '--config-override',
    `api.port=${apiPort}`,
  ];
});
test.after.always(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const startServer = (extra: string[] = []): Promise<{ child: ChildProcess; output: () => string }> =>
  new Promise((ready, fail) => {
    const child = spawn(
      process.execPath,
      [resolve(PROJECT_ROOT, 'bin', 'dlrn-server.js'), ...flags, ...extra],
      {
        cwd: demo,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes('Stop with Ctrl-C.')) ready({ child, output: () => output });
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.once('exit', (code) =>
      fail(new Error(`dlrn-server exited with ${code ?? 'a signal'}:\n${output}`)),
    );
  });

const stopServer = (child: ChildProcess): Promise<number | null> =>
  new Promise((done) => {
    child.once('exit', (code) => done(code));
    child.kill('SIGTERM');
  });

test.serial(
  'dlrn-server keeps the dev server, Web UI and a worker up; history survives a restart',
  async (t) => {
    const first = await startServer();
    t.regex(first.output(), /Temporal dev server started here; history in .*\/data\/temporal\.sqlite/);
    t.regex(
      first.output(),
      new RegExp(`Web UI +http://127\\.0\\.0\\.1:${uiPort}/namespaces/default/workflows`),
    );
    t.true(existsSync(join(demo, 'data', 'temporal.sqlite')));
    const page = await fetch(`http://127.0.0.1:${uiPort}/`);
    t.is(page.status, 200);
    const health = await fetch(`http://127.0.0.1:${apiPort}/api/health`);
    t.deepEqual(await health.json(), { result: 'ok, no commits in DB' });

    // dlrn finds the server running and uses it.
    const plan = await runCli('dlrn', [...flags, '--dry-run'], { cwd: demo });
    t.is(plan.code, 0, plan.stderr);
    const runId = /workflows\/(run%3A[^\s]+)/.exec(plan.stdout)?.[1];
    t.truthy(runId, plan.stdout);

    t.is(await stopServer(first.child), 0);
    t.regex(first.output(), /dlrn-server stopped\./);
    t.false(await isTemporalServing(address));

    const second = await startServer();
    try {
      const client = new Client({ connection: await Connection.connect({ address }) });
      const description = await client.workflow.getHandle(decodeURIComponent(runId ?? '')).describe();
      t.is(description.status.name, 'COMPLETED');
      t.is(description.type, 'run');
      await client.connection.close();
    } finally {
      t.is(await stopServer(second.child), 0);
    }
  },
);

test.serial(
  "with promotion criteria, dlrn-server starts each target's workflow; a bad criteria file stops it at start",
  async (t) => {
    const criteria = join(dir, 'criteria.yaml');
    await writeFile(criteria, CRITERIA);
    const server = await startServer(['--config-override', `promotions.criteria_file=${criteria}`]);
    try {
      t.regex(
        server.output(),
        /promotions +tripleo-ci-testing, current-tripleo, rehearsal \(.*criteria\.yaml\)/,
      );
      const client = new Client({ connection: await Connection.connect({ address }) });
      for (const target of ['tripleo-ci-testing', 'current-tripleo', 'rehearsal']) {
        const description = await client.workflow.getHandle(`promotion:dlrn:${target}`).describe();
        t.is(description.status.name, 'RUNNING', target);
        t.is(description.type, 'promotionTarget');
      }
      await client.connection.close();
    } finally {
      t.is(await stopServer(server.child), 0);
    }
    await writeFile(criteria, 'targets:\n  current-tripleo:\n    jobs: [a]\n    from: current-tripleo\n');
    const refused = await t.throwsAsync(
      startServer(['--config-override', `promotions.criteria_file=${criteria}`]),
    );
    t.regex(
      refused?.message ?? '',
      /targets\.current-tripleo\.from: a target cannot take its candidates from itself/,
    );
    t.notRegex(refused?.message ?? '', /^\s+at .+[(:]\d+/m);
  },
);
