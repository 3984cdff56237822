/**
 * The `dlrn` command as a process, on the demo made by scripts/make-demo.ts. Local mode: the
 * command finds the harness's Temporal server on `local_port` (set with --config-override),
 * runs its own in-process worker, and stops it when done.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../lib/paths.ts';
import { openDatabase, type CommitModel } from '../../lib/db/index.ts';
import { commitDir } from '../../lib/domain/repo-layout.ts';
import { advanceDemo, makeDemo } from '../../scripts/make-demo.ts';
import { temporalAddress, uniqueTaskQueue } from '../helpers/services.ts';

const exec = promisify(execFile);
/** Python logging's `asctime`, as DLRN's lines begin. */
const ASCTIME = '\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d,\\d{3}';
const dlrn = resolve(PROJECT_ROOT, 'bin', 'dlrn.js');

let dir: string;
let ini: string;
let portOverride: string;
// Its own task queue: other test files' CLI processes poll the same server.
let queueOverride: string;

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dlrnt-cli-'));
  ini = await makeDemo(join(dir, 'demo'));
  portOverride = `temporal.local_port=${temporalAddress().split(':')[1] ?? ''}`;
  queueOverride = `temporal.task_queue=${uniqueTaskQueue('dlrn-cli')}`;
});
test.after.always(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Local mode on the harness's server, on this file's own task queue. */
const temporalFlags = () => ['--config-override', portOverride, '--config-override', queueOverride];

const commitPath = (row: CommitModel) =>
  commitDir({
    commitHash: row.getDataValue('commitHash') ?? '',
    distroHash: row.getDataValue('distroHash'),
    extendedHash: row.getDataValue('extendedHash'),
  });

const run = async (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
  try {
    const { stdout, stderr } = await exec(dlrn, args, {
      cwd: dir,
      env: { ...process.env, DLRN_LOG_LEVEL: 'warn' },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
};

test.serial('--version prints ours and the DLRN release it is compatible with', async (t) => {
  const { code, stdout } = await run(['--version']);
  t.is(code, 0);
  t.regex(stdout, /^\d+\.\d+\.\d+ \(compatible with DLRN 0\.26\.1\)\n$/);
});

test.serial('--help lists the flags of DLRN', async (t) => {
  const { code, stdout } = await run(['--help']);
  t.is(code, 0);
  for (const flag of [
    '--config-file',
    '--config-override',
    '--info-repo',
    '--build-env',
    '--local',
    '--head-only',
    '--project-name',
    '--package-name',
    '--dev',
    '--log-commands',
    '--use-public',
    '--order',
    '--sequential',
    '--status',
    '--recheck',
    '--force-recheck',
    '--version',
    '--run',
    '--stop',
    '--verbose-build',
    '--no-repo',
    '--debug',
  ]) {
    t.true(stdout.includes(flag), flag);
  }
});

test.serial(
  '--dry-run lists the newest commit of every demo package, in dependency order with --order',
  async (t) => {
    const { code, stdout, stderr } = await run([
      '--config-file',
      ini,
      ...temporalFlags(),
      '--dry-run',
      '--order',
    ]);
    t.is(code, 0, stderr);
    const lines = stdout.split('\n').filter((l) => l.startsWith('  demo-'));
    t.is(lines.length, 12);
    const order = lines.map((l) => l.trim().split(/\s+/)[0] ?? '');
    t.true(order.indexOf('demo-common') < order.indexOf('demo-utils'));
    t.true(order.indexOf('demo-utils') < order.indexOf('demo-client'));
    t.true(order.indexOf('demo-server') < order.indexOf('demo-plugins'));
    t.true(order.indexOf('demo-cli') < order.indexOf('demo-meta'));
    t.regex(stdout, /^12 commits to build, in build order:$/m);
    t.regex(stdout, /Run workflow: http:\/\/127\.0\.0\.1:8233\/namespaces\/default\/workflows\/run%3A/);
  },
);

test.serial('--status prints the type, name and status of each package', async (t) => {
  const { code, stdout } = await run(['--config-file', ini, ...temporalFlags(), '--status']);
  t.is(code, 0);
  t.regex(stdout, /^ {6}rpm demo-common NO_BUILD$/m);
  t.is(stdout.split('\n').filter((l) => l.endsWith(' NO_BUILD')).length, 12);
});

test.serial('a tags= value no package carries is a warning naming the tags there are', async (t) => {
  const typo = ['--config-override', 'DEFAULT.tags=deom'];
  const warning =
    'warning: tags=deom: no package in demo.yml carries the tag deom; the tags there are demo\n';
  const status = await run(['--config-file', ini, ...temporalFlags(), ...typo, '--status']);
  t.is(status.code, 0);
  t.is(status.stdout, '');
  t.true(status.stderr.includes(warning), status.stderr);
  const planned = await run(['--config-file', ini, ...temporalFlags(), ...typo, '--dry-run']);
  t.is(planned.code, 0);
  t.true(planned.stderr.includes(warning), planned.stderr);
  t.regex(planned.stdout, /^Nothing new to build: 0 packages checked/m);
});

test.serial(
  'a datadir that is a file, an unreachable Temporal or database: one line each, no stack trace',
  async (t) => {
    const file = join(dir, 'not-a-folder');
    await writeFile(file, 'x');
    const cases = [
      {
        args: ['--config-file', ini, '--config-override', `DEFAULT.datadir=${file}`],
        line: `[DEFAULT] datadir = "${file}": not a folder (it is a file)`,
      },
      {
        args: ['--config-file', ini, '--config-override', 'temporal.address=127.0.0.1:1', '--dry-run'],
        line: 'TemporalUnavailableError: cannot reach Temporal at 127.0.0.1:1 ([temporal] address): ',
      },
      {
        args: [
          '--config-file',
          ini,
          '--config-override',
          'DEFAULT.database_connection=postgresql://x@127.0.0.1:1/db',
          '--status',
        ],
        line: 'DatabaseError: cannot connect to database postgresql://x@127.0.0.1:1/db: connect ECONNREFUSED 127.0.0.1:1',
      },
    ];
    for (const { args, line } of cases) {
      const result = await run(args);
      t.is(result.code, 1, result.stderr);
      t.true(result.stderr.includes(line), result.stderr);
      t.notRegex(result.stderr, /^\s+at .+[(:]\d+/m, `no stack trace for ${args.join(' ')}`);
    }
  },
);

test.serial('--recheck needs a package, and names one that has no build', async (t) => {
  const without = await run(['--config-file', ini, '--recheck']);
  t.is(without.code, 1);
  t.regex(without.stderr, /Please use --package-name or --project-name with --recheck\./);
  const none = await run([
    '--config-file',
    ini,
    ...temporalFlags(),
    '--recheck',
    '--package-name',
    'demo-ui',
  ]);
  t.is(none.code, 1);
  t.regex(none.stderr, /There are no existing commits for package demo-ui\./);
});

test.serial('a bad projects.ini or flag changes nothing and says what is wrong', async (t) => {
  const bad = join(dir, 'bad.ini');
  await writeFile(bad, '[DEFAULT]\nmaxretries=three\nbuild_driver=dlrn.drivers.nope.Nope\n');
  const config = await run(['--config-file', bad]);
  t.is(config.code, 1);
  t.regex(config.stderr, /maxretries = "three": expected a whole number >= 0/);
  t.regex(config.stderr, /build_driver = "dlrn.drivers.nope.Nope": unknown driver/);
  const usage = await run(['--package-name', 'a', '--project-name', 'b']);
  t.is(usage.code, 2);
  const unknown = await run(['--no-such-flag']);
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /unknown option '--no-such-flag'/);
});

test.serial(
  'dlrn builds the demo; after new upstream commits the broken one fails and its fix builds',
  async (t) => {
    const first = await run(['--config-file', ini, ...temporalFlags()]);
    t.is(first.code, 0, first.stderr);
    t.regex(first.stdout, /^Built 12 commits of 12 packages: 12 succeeded, 0 failed\.$/m);
    // Our progress: each end counted once, and steps by one vocabulary.
    const ends = [...first.stdout.matchAll(/^ {2}\[(\d+)\/12\] built /gm)].map((m) => Number(m[1]));
    t.deepEqual(
      ends,
      Array.from({ length: 12 }, (_, i) => i + 1),
      first.stdout,
    );
    const steps = new Set(
      [...first.stdout.matchAll(/^ {2}\[\d+\/12\] building \S+ \w{8}: (.+)$/gm)].map((m) => m[1]),
    );
    const known = [
      'claim',
      'clone',
      'preprocess',
      'srpm',
      'rpm',
      'record',
      'cleanup',
      'post-build',
      'rsync',
      'mail',
      'review',
    ];
    t.true(
      [...steps].every((s) => known.includes(s?.replace(/ \(waiting.*\)$/, '') ?? '')),
      [...steps].join(', '),
    );
    // DLRN's log line for each build, on stderr, in its format and words.
    const processing = first.stderr.match(
      new RegExp(`^${ASCTIME} INFO:dlrn-build:Processing demo-[a-z]+ [0-9a-f]{40}$`, 'gm'),
    );
    t.is(processing?.length, 12, first.stderr);
    const db = await openDatabase(`sqlite:///${join(dir, 'demo', 'data', 'commits.sqlite')}`);
    try {
      t.is(await db.models.Commit.count({ where: { status: 'SUCCESS' } }), 12);
      const again = await run(['--config-file', ini, ...temporalFlags()]);
      t.is(again.code, 0);
      t.regex(again.stdout, /Nothing new to build: 12 packages checked/);
      t.regex(again.stderr, new RegExp(`^${ASCTIME} INFO:dlrn:No commits to build\\.$`, 'm'));
      // A package name that matches nothing: DLRN 0.26.1's line and exit code 0.
      const unknown = await run([
        '--config-file',
        ini,
        ...temporalFlags(),
        '--package-name',
        'no-such-package',
      ]);
      t.is(unknown.code, 0, unknown.stderr);
      t.regex(unknown.stderr, /No package or project named no-such-package\./);
      t.regex(
        unknown.stderr,
        /No commits to build\. If this is not expected, please make sure the package name\(s\) are correct, and that any failed commit you want to rebuild has been removed from the database\./,
      );

      await advanceDemo(join(dir, 'demo'));
      const second = await run(['--config-file', ini, ...temporalFlags(), '--log-commands']);
      t.is(second.code, 1, 'a failed build makes the exit code 1, as in DLRN');
      // --log-commands: each tool a build runs is printed as it starts.
      t.regex(second.stderr, /^\[srpm\] rpmbuild .*-bs /m);
      t.regex(second.stderr, /^\[rpm\] rpmbuild --rebuild --nodeps /m);
      t.regex(second.stdout, /^Built 6 commits of 12 packages: 5 succeeded, 1 failed\.$/m);
      t.regex(
        second.stdout,
        /FAILED demo-agent [0-9a-f]{8}: rpmbuild --rebuild failed with exit code 1:\n\s+.*error: generated code does not compile/,
      );
      const agent = await db.models.Commit.findAll({
        where: { projectName: 'demo-agent' },
        order: [['id', 'ASC']],
      });
      t.deepEqual(
        agent.map((c) => c.getDataValue('status')),
        ['SUCCESS', 'FAILED', 'SUCCESS'],
      );
      const [, broken, fixed] = agent.map((c) => c.getDataValue('dtCommit') ?? 0);
      t.true((broken ?? 0) < (fixed ?? 0), "a project's commits build in commit order");
      const log = await readFile(
        join(dir, 'demo', 'data', 'repos', commitPath(agent[1]!), 'rpmbuild.log'),
        'utf8',
      );
      t.regex(log, /generated code does not compile/);
      // DLRN's lines for the failure: where the logs are (under the real datadir), and the error.
      const logsAt = `${await realpath(join(dir, 'demo', 'data'))}/repos/${commitPath(agent[1]!)}/`;
      t.true(
        second.stderr
          .split('\n')
          .some(
            (l) =>
              new RegExp(`^${ASCTIME} ERROR:dlrn-build:Build failed\\. See logs at: `).test(l) &&
              l.endsWith(logsAt),
          ),
        second.stderr,
      );
      t.regex(
        second.stderr,
        new RegExp(
          `^${ASCTIME} ERROR:dlrn:Received exception Error in build_rpm_wrapper for demo-agent: rpmbuild --rebuild failed`,
          'm',
        ),
      );
    } finally {
      await db.close();
    }
  },
);
