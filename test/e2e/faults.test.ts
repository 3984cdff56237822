/**
 * Faults a real site meets, injected for real into the commands running as processes on a small
 * demo: a git server that accepts connections and never answers (a TCP server of this test),
 * the database killed while a run plans and back ten seconds later (a PostgreSQL server of this
 * test, stopped as a crash would), a full disk (a small tmpfs as the datadir, filled mid-run),
 * Ctrl-C once and twice, SIGTERM, and a build cancelled or terminated while its worker was dead.
 * Each asserts the message a person sees and how soon it came (t.log prints the figures), and
 * ends with dlrn-check passing, every commit built once and nothing of ours left running.
 */
import test, { type ExecutionContext } from 'ava';
import { Client, Connection } from '@temporalio/client';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openDatabase } from '../../lib/db/index.ts';
import { isProcessAlive } from '../../lib/local-temporal.ts';
import { freePort } from '../../lib/temporal-dev-server.ts';
import { commitFiles } from '../../scripts/demo/git-repo.ts';
import { DEMO_PACKAGES, makeDemo } from '../../scripts/make-demo.ts';
import { startPostgres } from '../harness/services.ts';
import { runCli } from '../helpers/cli.ts';
import { assertWhole, sleep, start, startWorker, stop, waitFor, type Running } from '../helpers/processes.ts';
import { clusterFlags, temporalAddress, uniqueTaskQueue } from '../helpers/services.ts';

const exec = promisify(execFile);

let root: string;
let client: Client;

test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'dlrnt-faults-'));
  client = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
});
test.after.always(async () => {
  await client?.connection.close();
  if (root) await rm(root, { recursive: true, force: true });
});

/** Four demo packages: enough to build beside a fault, quick to build. */
const PACKAGES = DEMO_PACKAGES.filter((p) =>
  ['demo-common', 'demo-config', 'demo-docs', 'demo-ui'].includes(p.name),
);

const demo = async (name: string, packages = PACKAGES) => {
  const dir = join(root, name);
  return { dir, ini: await makeDemo(dir, packages) };
};

/** Local mode on the harness's Temporal server, on a task queue of the scenario's own. */
const localFlags = (ini: string, name: string): string[] => [
  '--config-file',
  ini,
  '--config-override',
  `temporal.local_port=${temporalAddress().split(':')[1] ?? ''}`,
  '--config-override',
  `temporal.task_queue=${uniqueTaskQueue(`faults-${name}`)}`,
];

/** No stack trace reached the person: no `    at ` line of a JavaScript stack. */
const noStackTrace = (t: ExecutionContext, run: { stdout: string; stderr: string }) =>
  t.notRegex(run.stdout + run.stderr, /^\s+at .+[(:]\d+/m, 'a stack trace was printed');

/** Milliseconds from `since` (epoch ms) to the first output of `run` matching `re`. */
const msAfter = (run: Running, re: RegExp, since: number): number => {
  const at = run.firstAt(re);
  if (at === undefined) throw new Error(`never printed ${String(re)}:\n${run.output()}`);
  return run.startedAt + at - since;
};

/** A TCP server that accepts every connection and never says a word. */
const silentServer = async (): Promise<{ port: number; close(): Promise<void> }> => {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', () => ready()));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((closed) => server.close(() => closed()));
    },
  };
};

for (const mode of ['local', 'cluster'] as const)
  test(`${mode} mode: a git server that accepts and never answers: each package is named within seconds and skipped, the rest build`, async (t) => {
    t.timeout(4 * 60_000);
    const { dir, ini } = await demo(`git-stall-${mode}`);
    const silent = await silentServer();
    let worker: Running | undefined;
    try {
      // One package's upstream over http, one over git:// (which has no timeout of its own).
      const info = join(dir, 'info', 'demo.yml');
      const text = (await readFile(info, 'utf8'))
        .replace(
          '- project: demo-docs\n',
          `- project: demo-docs\n  upstream: http://127.0.0.1:${silent.port}/demo-docs\n`,
        )
        .replace(
          '- project: demo-ui\n',
          `- project: demo-ui\n  upstream: git://127.0.0.1:${silent.port}/demo-ui\n`,
        );
      await writeFile(info, text);
      const flags = [
        ...(mode === 'local'
          ? localFlags(ini, 'git-stall')
          : clusterFlags(ini, uniqueTaskQueue('faults-git-stall'))),
        '--config-override',
        'git.stall_timeout=3',
      ];
      // In cluster mode the worker does the git work, and dlrn tells it the same way.
      if (mode === 'cluster') worker = await startWorker(flags, dir);
      const run = start('dlrn', [...flags, '--info-repo', join(dir, 'info')], dir);
      const result = await run.done;
      t.is(result.code, 0, result.stdout + result.stderr);
      noStackTrace(t, result);
      // Named as discovery goes (the indented progress lines), before the run's summary.
      const started = run.startedAt + (run.firstAt(/Run workflow: /) ?? 0);
      const http = msAfter(
        run,
        /^ {2}skipped demo-docs: cannot clone http:\S+: .*Operation too slow/m,
        started,
      );
      const git = msAfter(
        run,
        /^ {2}skipped demo-ui: cannot clone git:\S+: no answer from the server for 3 s \(\[git\] stall_timeout\)/m,
        started,
      );
      const waiting = msAfter(
        run,
        /waiting on git for demo-ui: clone git:\/\/127\.0\.0\.1:\d+\/demo-ui/,
        started,
      );
      const summary = msAfter(run, /^Built 2 commits/m, started);
      t.log(
        `from the run's start: waiting on demo-ui told at ${waiting} ms; demo-docs skipped at ${http} ms, demo-ui at ${git} ms; summary at ${summary} ms`,
      );
      t.true(http < summary && git < summary, 'each skip told as it happened');
      t.regex(result.stdout, /^Built 2 commits of 4 packages: 2 succeeded, 0 failed\.$/m);
      t.deepEqual(
        (await readFile(join(dir, 'data', 'repos', 'skiplist.txt'), 'utf8'))
          .split('\n')
          .filter(Boolean)
          .sort(),
        ['demo-docs', 'demo-ui'],
      );
      if (worker) await stop(worker);
      await assertWhole(t, dir, flags);
    } finally {
      if (worker) await stop(worker);
      await silent.close();
    }
  });

test('PostgreSQL killed while a run plans and back 10 s later: dlrn names the database, waits, and the run ends', async (t) => {
  t.timeout(4 * 60_000);
  const { dir, ini } = await demo('database-down');
  // Its own server (the harness's serves the other tests), in a folder its user can reach.
  const pgDir = await mkdtemp(join(tmpdir(), 'dlrnt-faults-pg-'));
  const pg = await startPostgres(pgDir);
  try {
    const flags = [
      ...localFlags(ini, 'database-down'),
      '--config-override',
      `DEFAULT.database_connection=${pg.url}`,
    ];
    const run = start('dlrn', flags, dir);
    await waitFor('the run to start', () => /Run workflow: /.test(run.output()));
    const crashed = Date.now();
    await pg.crash();
    await sleep(10_000);
    await pg.restart();
    const back = Date.now();
    const result = await run.done;
    t.is(result.code, 0, result.stdout + result.stderr);
    noStackTrace(t, result);
    const told = msAfter(
      run,
      /Waiting for the database postgresql:\/\/postgres@127\.0\.0\.1:\d+\/postgres: /,
      crashed,
    );
    const again = msAfter(run, /The database postgresql:\/\/\S+ is answering again\./, back);
    t.log(
      `database down at +0: told at +${told} ms; back up: said so ${again} ms later; run ended ${Date.now() - back} ms after`,
    );
    t.true(told < 15_000, `told within seconds (${told} ms)`);
    t.notRegex(
      result.stdout + result.stderr,
      /Temporal at \S+ is not answering/,
      'not mistaken for Temporal',
    );
    t.regex(result.stdout, /^Built 4 commits of 4 packages: 4 succeeded, 0 failed\.$/m);
    await assertWhole(t, dir, flags, pg.url);
  } finally {
    await pg.stop();
    await rm(pgDir, { recursive: true, force: true });
  }
});

/** A tmpfs of `size` at `path` (the test runs as root, as the bootstrap does). */
const mountTmpfs = async (path: string, size: string): Promise<() => Promise<void>> => {
  await mkdir(path, { recursive: true });
  await exec('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', path]).catch((err: Error) => {
    throw new Error(`this test mounts a small tmpfs as a full disk and needs root: ${err.message}`);
  });
  return async () => {
    await exec('umount', [path]).catch(() => exec('umount', ['-l', path]));
  };
};

/** Rows of a SQLite database with this status. */
const rowsWith = async (file: string, status: string): Promise<number> => {
  const db = await openDatabase(`sqlite:///${file}`, { readOnly: true });
  try {
    return await db.models.Commit.count({ where: { status } });
  } finally {
    await db.close();
  }
};

/** Fills the file system holding `dir` to the last byte. */
const fillDisk = async (dir: string): Promise<void> => {
  await exec('sh', ['-c', `dd if=/dev/zero of=${join(dir, 'filler')} bs=1M 2>/dev/null; true`]);
};

test('a full disk in local mode: dlrn names the disk and the room left within seconds, and a rerun with room completes', async (t) => {
  t.timeout(4 * 60_000);
  const { dir, ini } = await demo('disk-full');
  const data = join(dir, 'data');
  const unmount = await mountTmpfs(data, '48m');
  // Its own dev server, its history in the datadir, as a real local site has it.
  const flags = [
    '--config-file',
    ini,
    '--config-override',
    `temporal.local_port=${await freePort()}`,
    '--config-override',
    `temporal.ui_port=${await freePort()}`,
  ];
  try {
    const run = start('dlrn', flags, dir);
    await waitFor('a build to finish', () => / built /.test(run.output()));
    const filled = Date.now();
    await fillDisk(data);
    const result = await run.done;
    // dlrn's watch of the disk says it, or the run itself stopped on a step that hit it first.
    const told = msAfter(
      run,
      /^No space left on the disk holding \S+ \(\S+ \S+ free of 48\.0 MB\)\.$|^The run stopped starting builds: no space left on the disk holding \S+ \(\S+ \S+ free of 48\.0 MB\)/m,
      filled,
    );
    t.log(`disk full at +0: told at +${told} ms; dlrn exited at +${Date.now() - filled} ms`);
    t.is(result.code, 1);
    noStackTrace(t, result);
    t.true(told < 10_000, `told within seconds (${told} ms)`);
    t.regex(result.stdout + result.stderr, /make room and run dlrn again|Make room and run dlrn again/);
    await rm(join(data, 'filler'));
    const rerun = await runCli('dlrn', flags, { cwd: dir });
    t.is(rerun.code, 0, rerun.stdout + rerun.stderr);
    t.is(
      await rowsWith(join(data, 'commits.sqlite'), 'SUCCESS'),
      4,
      'every package built once there is room',
    );
    await assertWhole(t, dir, flags);
  } finally {
    for (const file of ['temporal.pid', 'temporal.stopping']) {
      const pid = Number(await readFile(join(data, file), 'utf8').catch(() => '0'));
      if (pid > 0 && isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
    }
    await sleep(500);
    await unmount();
  }
});

test('a full disk under a cluster worker: the build fails without a FAILED row and the run stops starting builds', async (t) => {
  t.timeout(4 * 60_000);
  const { dir, ini } = await demo('disk-full-cluster');
  const data = join(dir, 'data');
  const unmount = await mountTmpfs(data, '16m');
  const flags = [
    ...clusterFlags(ini, uniqueTaskQueue('faults-disk-cluster')),
    '--config-override',
    'DEFAULT.workers=1',
  ];
  const worker = await startWorker(flags, dir);
  try {
    const run = start('dlrn', flags, dir);
    await waitFor('a build to finish', () => / built /.test(run.output()));
    const filled = Date.now();
    await fillDisk(data);
    const result = await run.done;
    const told = msAfter(run, /The run stopped starting builds: no space left on the disk holding /, filled);
    t.log(`disk full at +0: the run's stop told at +${told} ms`);
    t.is(result.code, 1, result.stdout + result.stderr);
    noStackTrace(t, result);
    t.regex(result.stdout, /not started \(the run stopped\)/);
    await rm(join(data, 'filler'));
    t.is(
      await rowsWith(join(data, 'commits.sqlite'), 'FAILED'),
      0,
      'no build recorded FAILED for a full disk',
    );
    const rerun = await runCli('dlrn', flags, { cwd: dir });
    t.is(rerun.code, 0, rerun.stdout + rerun.stderr);
    await stop(worker);
    await assertWhole(t, dir, flags);
  } finally {
    await stop(worker);
    await unmount();
  }
});

for (const [signal, presses, code] of [
  ['SIGINT', 1, 130],
  ['SIGTERM', 1, 143],
  ['SIGINT', 2, 130],
] as const) {
  const what =
    presses === 1
      ? `${signal}: dlrn says what goes on and exits with ${code}; the next dlrn resumes the run`
      : `${signal} twice cancels the run: its builds remove their workspaces, and the next dlrn builds them`;
  test(what, async (t) => {
    t.timeout(4 * 60_000);
    const name = `${signal}-${presses}`;
    const { dir, ini } = await demo(name);
    const flags = localFlags(ini, name);
    const run = start('dlrn', flags, dir);
    await waitFor('a build to start', () => / building demo-\S+ \w{8}: /.test(run.output()));
    const pressed = Date.now();
    run.child.kill(signal);
    if (presses === 2) {
      await sleep(300);
      run.child.kill(signal);
    }
    const result = await run.done;
    const exited = Date.now() - pressed;
    const told = msAfter(run, /^Interrupted: run run:\S+ is still (going|discovering)/m, pressed);
    t.log(`${signal} x${presses}: told at +${told} ms, exited at +${exited} ms with ${result.code}`);
    t.is(result.code, code);
    noStackTrace(t, result);
    if (presses === 1) {
      // It exits without waiting for the builds (a run of the demo takes half a minute); the
      // time itself is logged above (1.4-2.1 s on the CI machine), not asserted to the tenth.
      t.true(exited < 5_000, `exited within 5 s, not after the builds (${exited} ms)`);
      t.regex(result.stdout, /run dlrn again to resume it where it stopped/);
    } else {
      t.regex(result.stdout, /^Run run:\S+ cancelled\.$/m);
      const left = (await readdir(join(dir, 'data', 'build')).catch(() => [])).filter(
        (d) => !d.startsWith('.'),
      );
      t.deepEqual(left, [], 'the cancelled builds removed their workspaces');
    }
    const next = await runCli('dlrn', flags, { cwd: dir });
    t.is(next.code, 0, next.stdout + next.stderr);
    if (presses === 1) t.regex(next.stdout, /^Resumed run run:\S+ ended: \d+ succeeded, 0 failed\.$/m);
    await assertWhole(t, dir, flags);
  });
}

/** A demo-common whose build sleeps: a tool that runs until someone stops it. */
const slowBuild = async (dir: string): Promise<void> => {
  await commitFiles(
    join(dir, 'upstream', 'demo-common'),
    { 'build.sh': '#!/bin/sh\nsleep 600\n' },
    1_735_700_000,
  );
};

/** Work trees registered in demo-common's clone (1: the clone itself). */
const worktreeCount = async (dir: string): Promise<number> =>
  (await exec('git', ['-C', join(dir, 'data', 'demo-common'), 'worktree', 'list'])).stdout.trim().split('\n')
    .length;

/** Whether `pid` runs (a zombie whose parent died is not running; PID 1 may never reap it here). */
const running = async (pid: number | undefined): Promise<boolean> => {
  const stat = await readFile(`/proc/${pid ?? 0}/stat`, 'utf8').catch(() => '');
  return stat !== '' && stat.split(') ')[1]?.[0] !== 'Z';
};

/** The pids of `sleep 600` processes started for this scenario's folder. */
const sleepers = async (dir: string): Promise<number[]> => {
  const { stdout } = await exec('ps', ['-eo', 'pid=,args=']);
  const pids: number[] = [];
  for (const line of stdout.split('\n')) {
    const [pid, ...args] = line.trim().split(/\s+/);
    if (args.join(' ') !== 'sleep 600') continue;
    const cwd = await exec('readlink', [`/proc/${pid}/cwd`]).catch(() => ({ stdout: '' }));
    if (cwd.stdout.includes(dir) && (await running(Number(pid)))) pids.push(Number(pid));
  }
  return pids;
};

for (const how of ['cancelled', 'terminated'] as const) {
  test(`a build ${how} while its worker was dead: its workspace, worktree and tool go${how === 'terminated' ? ' at the next run; dlrn-check names it at once' : ' when a worker comes back'}`, async (t) => {
    t.timeout(4 * 60_000);
    const { dir, ini } = await demo(`build-${how}`, PACKAGES.slice(0, 1));
    await slowBuild(dir);
    const queue = uniqueTaskQueue(`faults-${how}`);
    const flags = clusterFlags(ini, queue);
    const first = await startWorker(flags, dir);
    const run = start('dlrn', flags, dir);
    let second: Running | undefined;
    try {
      await waitFor('the build to run its tool', async () => (await sleepers(dir)).length > 0);
      const [tool] = await sleepers(dir);
      first.child.kill('SIGKILL');
      await first.done;
      const builds = [];
      for await (const w of client.workflow.list({
        query: `WorkflowType = 'buildCommit' AND ExecutionStatus = 'Running' AND TaskQueue = '${queue}'`,
      }))
        builds.push(w.workflowId);
      const build = builds[0] ?? '';
      t.truthy(build);
      const workspaces = (await readdir(join(dir, 'data', 'build'))).filter((d) => !d.endsWith('.pids'));
      t.is(workspaces.length, 1);
      if (how === 'cancelled') {
        run.child.kill('SIGINT');
        await sleep(300);
        run.child.kill('SIGINT');
        await run.done;
        t.true(await running(tool), 'no worker: the tool still runs');
        second = await startWorker(flags, dir);
        const removed = Date.now();
        // The folder goes first, then the worktree's registration (git worktree prune).
        await waitFor(
          'the workspace and its worktree to go',
          async () =>
            (await readdir(join(dir, 'data', 'build'))).length === 0 && (await worktreeCount(dir)) === 1,
          60_000,
        );
        t.log(`the cancelled build's workspace went ${Date.now() - removed} ms after a worker came back`);
      } else {
        await client.workflow.getHandle(build).terminate('the fault test');
        run.child.kill('SIGKILL');
        await run.done;
        second = await startWorker(flags, dir);
        const check = await runCli('dlrn-check', flags, { cwd: dir });
        t.is(check.code, 1);
        t.regex(
          check.stdout,
          new RegExp(
            `^orphan-workspace build/${workspaces[0] ?? ''} its build ${build.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is terminated; tools still recorded: \\S+ pid \\d+ on \\S+ \\(the next dlrn run removes it\\)$`,
            'm',
          ),
        );
        await commitFiles(
          join(dir, 'upstream', 'demo-common'),
          { 'build.sh': '#!/bin/sh\nset -e\nmkdir -p share\ncp README share/README\n' },
          1_735_700_100,
        );
        const next = await runCli('dlrn', flags, { cwd: dir });
        t.is(next.code, 0, next.stdout + next.stderr);
      }
      t.false(await running(tool), 'the tool was killed');
      t.is(await worktreeCount(dir), 1, 'only the clone itself is left');
      await stop(second);
      await assertWhole(t, dir, flags);
    } finally {
      run.child.kill('SIGKILL');
      for (const w of [first, second]) if (w) await stop(w);
      for (const pid of await sleepers(dir)) process.kill(pid, 'SIGKILL');
    }
  });
}
