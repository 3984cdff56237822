/**
 * `dlrn-check` as a process, on a site `dlrn` really built from two demo packages (local mode,
 * on the harness's Temporal server and a task queue of this file's own). Each test breaks its own
 * copy of that site in one way and reads the violation lines.
 */
import test from 'ava';
import { Client, Connection } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import {
  cp,
  mkdir,
  mkdtemp,
  readFile,
  readlink,
  rm,
  symlink,
  unlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { openDatabase, type CommitAttributes } from '../../lib/db/index.ts';
import { commitDir } from '../../lib/domain/repo-layout.ts';
import { freePort } from '../../lib/temporal-dev-server.ts';
import { makeDemo } from '../../scripts/make-demo.ts';
import { runCli } from '../helpers/cli.ts';
import { temporalAddress, uniqueTaskQueue } from '../helpers/services.ts';

const PACKAGES = ['demo-common', 'demo-config'];

let dir: string;
let built: string;
let rows: CommitAttributes[];
let client: Client;

const localPort = () => temporalAddress().split(':')[1] ?? '';

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dlrnt-check-'));
  built = join(dir, 'demo');
  await makeDemo(built);
  const result = await runCli(
    'dlrn',
    [
      '--config-file',
      join(built, 'projects.ini'),
      '--config-override',
      `temporal.local_port=${localPort()}`,
      '--config-override',
      `temporal.task_queue=${uniqueTaskQueue('dlrn-check-build')}`,
      ...PACKAGES.flatMap((p) => ['--package-name', p]),
    ],
    { cwd: dir },
  );
  if (result.code !== 0) throw new Error(`dlrn failed to build the site:\n${result.stdout}${result.stderr}`);
  const db = await openDatabase(`sqlite:///${join(built, 'data', 'commits.sqlite')}`);
  try {
    rows = (await db.models.Commit.findAll({ order: [['id', 'ASC']] })).map((r) => r.get({ plain: true }));
  } finally {
    await db.close();
  }
  client = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
});

test.after.always(async () => {
  await client?.connection.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Site {
  data: string;
  taskQueue: string;
  check(...args: string[]): ReturnType<typeof runCli>;
  withDb<T>(work: (db: Awaited<ReturnType<typeof openDatabase>>) => Promise<T>): Promise<T>;
}

/** A copy of the built site (links kept as they are) that one test may break. */
const siteCopy = async (name: string, overrides: string[] = []): Promise<Site> => {
  const root = join(dir, name);
  await cp(join(built, 'data'), join(root, 'data'), { recursive: true, verbatimSymlinks: true });
  const data = join(root, 'data');
  const dbUrl = `sqlite:///${join(data, 'commits.sqlite')}`;
  const taskQueue = uniqueTaskQueue(`dlrn-check-${name}`);
  return {
    data,
    taskQueue,
    check: (...args) =>
      runCli(
        'dlrn-check',
        [
          '--config-file',
          join(built, 'projects.ini'),
          '--config-override',
          `DEFAULT.datadir=${data}`,
          '--config-override',
          `DEFAULT.database_connection=${dbUrl}`,
          '--config-override',
          `temporal.local_port=${localPort()}`,
          '--config-override',
          `temporal.task_queue=${taskQueue}`,
          ...overrides,
          ...args,
        ],
        { cwd: root },
      ),
    withDb: async (work) => {
      const db = await openDatabase(dbUrl, { migrate: false });
      try {
        return await work(db);
      } finally {
        await db.close();
      }
    },
  };
};

const rowOf = (project: string): CommitAttributes => {
  const row = rows.find((r) => r.projectName === project);
  if (!row) throw new Error(`no build of ${project}`);
  return row;
};
const dirOf = (r: CommitAttributes) => `repos/${commitDir({ ...r, commitHash: r.commitHash ?? '' })}`;
const rpmOf = (r: CommitAttributes) => {
  const rpm = (r.artifacts ?? '').split(',').find((a) => a.endsWith('.noarch.rpm'));
  if (!rpm) throw new Error(`no noarch RPM in ${r.artifacts ?? ''}`);
  return rpm;
};
const lines = (stdout: string) => stdout.trim().split('\n');

test('a site dlrn just built is clean: exit 0 and the summary, Temporal checked too', async (t) => {
  t.is(rows.length, 2);
  const site = await siteCopy('clean');
  const result = await site.check();
  t.is(result.code, 0, result.stdout + result.stderr);
  // Each build's own RPMs and the links to them from the other's repository (current included).
  t.regex(result.stdout, /^site ok: 2 commits, \d+ links checked$/m);
  t.notRegex(result.stdout, /skipped/);
  const json = await site.check('--json');
  t.is(json.code, 0);
  t.like(JSON.parse(json.stdout), { ok: true, commits: 2, skipped: [], violations: [] });
});

/** The build `current` points at (the last post-build) and the other one, in a copy of the site. */
const currentAndOther = async (site: Site) => {
  const target = await readlink(join(site.data, 'repos', 'current'));
  const owner = rows.find((r) => r.commitHash && target.includes(r.commitHash));
  const other = rows.find((r) => r !== owner);
  if (!owner || !other) throw new Error(`current -> ${target} is none of the builds`);
  return { target, owner, other };
};

test('a deleted RPM its SUCCESS row lists is missing, and the links to it dangle', async (t) => {
  const site = await siteCopy('deleted-rpm');
  // The two packages build in parallel: the later post-build (current) links the other's RPM.
  const { owner, other } = await currentAndOther(site);
  const rpm = rpmOf(other);
  await unlink(join(site.data, rpm));
  const result = await site.check();
  t.is(result.code, 1);
  t.true(
    lines(result.stdout).includes(`missing-artifact ${rpm} (${other.projectName ?? ''}, id ${other.id})`),
    result.stdout,
  );
  t.true(
    lines(result.stdout).includes(
      `dangling-link ${dirOf(owner)}/${basename(rpm)} -> ../../../${rpm.replace(/^repos\//, '')}`,
    ),
    result.stdout,
  );
  t.regex(result.stdout, /^site broken: 2 violations; 2 commits, \d+ links checked$/m);
});

test('a dangling symlink anywhere under repos/ is listed with its target', async (t) => {
  const site = await siteCopy('dangling');
  await symlink('ab/cd/gone', join(site.data, 'repos', 'tripleo-ci-testing'));
  await unlink(join(site.data, 'repos', 'current'));
  await symlink('ab/cd/also-gone', join(site.data, 'repos', 'current'));
  const result = await site.check();
  t.is(result.code, 1);
  t.deepEqual(
    lines(result.stdout).filter((l) => l.startsWith('dangling-link')),
    [
      'dangling-link repos/current -> ab/cd/also-gone',
      'dangling-link repos/tripleo-ci-testing -> ab/cd/gone',
    ],
  );
  // A current that leads nowhere has no versions.csv either.
  t.true(lines(result.stdout).includes('missing-versions repos/current/versions.csv'), result.stdout);
});

test('two SUCCESS rows of one build are reported with their ids', async (t) => {
  const site = await siteCopy('duplicate');
  const common = rowOf('demo-common');
  const { id: _id, ...copy } = common;
  const added = await site.withDb(async (db) => (await db.models.Commit.create(copy)).getDataValue('id'));
  const result = await site.check();
  t.is(result.code, 1);
  t.deepEqual(lines(result.stdout).slice(0, -1), [
    `duplicate-success demo-common ${common.commitHash ?? ''} ${(common.distroHash ?? '').slice(0, 8)}: SUCCESS rows ${common.id}, ${added}`,
  ]);
});

test('a current that lists an older build of a package, or none, is reported', async (t) => {
  const site = await siteCopy('outdated');
  const { target, owner, other } = await currentAndOther(site);
  const csv = join(site.data, 'repos', target, 'versions.csv');
  const text = await readFile(csv, 'utf8');
  await writeFile(
    csv,
    text
      .replace(owner.commitHash ?? '', 'f'.repeat(40))
      .split('\n')
      .filter((l) => !l.startsWith(`${other.projectName ?? ''},`))
      .join('\n'),
  );
  const result = await site.check();
  t.is(result.code, 1);
  const short = (r: CommitAttributes) =>
    `${(r.commitHash ?? '').slice(0, 8)}/${(r.distroHash ?? '').slice(0, 8)}`;
  t.deepEqual(lines(result.stdout).slice(0, -1), [
    `current-missing repos/current/versions.csv ${other.projectName ?? ''}: newest success id ${other.id} ${short(other)}`,
    `current-outdated repos/current/versions.csv ${owner.projectName ?? ''}: lists ffffffff/${(owner.distroHash ?? '').slice(0, 8)}, newest success id ${owner.id} ${short(owner)}`,
  ]);
});

test('a post-build lock and a build workspace nobody touches any more are stale', async (t) => {
  const site = await siteCopy('stale');
  const lock = join(site.data, 'remote.lck.lock');
  await mkdir(lock);
  const tenMinutesAgo = new Date(Date.now() - 10 * 60_000);
  await utimes(lock, tenMinutesAgo, tenMinutesAgo);
  const workspace = join(site.data, 'build', 'demo-common-0123');
  await mkdir(workspace, { recursive: true });
  const sevenHoursAgo = new Date(Date.now() - 7 * 3_600_000);
  await utimes(workspace, sevenHoursAgo, sevenHoursAgo);
  // A fresh lock and a recent workspace are a build going on, not a violation.
  await mkdir(join(site.data, 'build', 'demo-config-4567'));

  const result = await site.check();
  t.is(result.code, 1);
  t.regex(
    result.stdout,
    /^stale-lock remote\.lck\.lock last refreshed \S+Z, 10 min ago \(a holder refreshes it every 10 s\)$/m,
  );
  t.regex(
    result.stdout,
    /^stale-workspace build\/demo-common-0123 unchanged for 420 min \(--stale-after 360\)$/m,
  );
  t.notRegex(result.stdout, /demo-config-4567/);
  t.regex(result.stdout, /^site broken: 2 violations/m);
  const longer = await site.check('--stale-after', '480');
  t.notRegex(longer.stdout, /stale-workspace/);

  await utimes(lock, new Date(), new Date());
  const fresh = await site.check('--stale-after', '480');
  t.is(fresh.code, 0, fresh.stdout);
});

test('a buildCommit workflow running without a run that owns it is an orphan', async (t) => {
  const site = await siteCopy('orphan');
  // No worker polls this task queue: the build stays Running, as one left behind would.
  const workflowId = `build:demo-orphan:${randomUUID()}`;
  const handle = await client.workflow.start('buildCommit', {
    taskQueue: site.taskQueue,
    workflowId,
    args: [{}],
  });
  t.teardown(() => handle.terminate('test done').catch(() => undefined));
  const query = `WorkflowId = '${workflowId}' AND ExecutionStatus = 'Running'`;
  // Visibility is updated asynchronously by the server.
  for (let i = 0; i < 50 && (await client.workflow.count(query)).count === 0; i++)
    await new Promise((r) => setTimeout(r, 200));

  const result = await site.check();
  t.is(result.code, 1);
  t.true(
    lines(result.stdout).includes(
      `orphan-build ${workflowId} (run ${handle.firstExecutionRunId}): no run or importCommit workflow is running`,
    ),
    result.stdout,
  );
});

test('without a Temporal server the orphan check is skipped, not failed, and none is started', async (t) => {
  const port = await freePort();
  const site = await siteCopy('no-temporal', ['--config-override', `temporal.local_port=${port}`]);
  const result = await site.check('--json');
  t.is(result.code, 0, result.stdout + result.stderr);
  t.like(JSON.parse(result.stdout), {
    ok: true,
    skipped: [
      `orphan builds: no Temporal dev server serves on 127.0.0.1:${port} (local mode; dlrn-check starts none)`,
    ],
  });
});

test('--json lists each violation with its code and line; a bad --stale-after is a usage error', async (t) => {
  const site = await siteCopy('json');
  const common = rowOf('demo-common');
  await rm(join(site.data, dirOf(common), 'repodata'), { recursive: true });
  const result = await site.check('--json');
  t.is(result.code, 1);
  const report = JSON.parse(result.stdout) as { ok: boolean; violations: { code: string; line: string }[] };
  t.false(report.ok);
  t.deepEqual(report.violations, [
    {
      code: 'missing-repodata',
      subject: `${dirOf(common)}/repodata/repomd.xml`,
      detail: `(demo-common, id ${common.id})`,
      line: `missing-repodata ${dirOf(common)}/repodata/repomd.xml (demo-common, id ${common.id})`,
    },
  ]);
  // Without its .repo file either, the directory is what --no-repo leaves: only versions.csv.
  await unlink(join(site.data, dirOf(common), 'delorean.repo'));
  t.is((await site.check()).code, 0);

  const usage = await site.check('--stale-after', 'soon');
  t.is(usage.code, 2);
  t.regex(usage.stderr, /--stale-after: "soon" is not a whole number of minutes/);
});

test('current must exist once a build succeeded, consistent once its vote was recorded', async (t) => {
  const site = await siteCopy('pointers');
  await unlink(join(site.data, 'repos', 'current'));
  await site.withDb((db) =>
    db.models.CiVote.create({
      commitId: rowOf('demo-config').id,
      ciName: 'consistent',
      ciUrl: '',
      ciVote: true,
      ciInProgress: false,
      timestamp: 0,
      notes: '',
    }),
  );
  const result = await site.check();
  t.is(result.code, 1);
  t.deepEqual(lines(result.stdout).slice(0, -1), [
    'missing-link repos/current (successful builds exist)',
    'missing-link repos/consistent (a consistent vote was recorded)',
  ]);
});

test('a promotion link that is not where its newest row says is reported; a missing one too', async (t) => {
  const site = await siteCopy('promotions');
  const [first, second] = rows;
  if (!first || !second) throw new Error('two builds expected');
  await site.withDb(async (db) => {
    for (const [commit, name] of [
      [first, 'ci-passed'],
      [second, 'ci-passed'],
      [first, 'tripleo-ci'],
    ] as const)
      await db.models.Promotion.create({
        commitId: commit.id,
        promotionName: name,
        timestamp: 1,
        user: null,
        component: null,
        aggregateHash: null,
      });
  });
  // ci-passed's newest row promotes the second build; its link still shows the first.
  await symlink(dirOf(first).replace(/^repos\//, ''), join(site.data, 'repos', 'ci-passed'));
  const result = await site.check();
  t.is(result.code, 1);
  t.deepEqual(
    lines(result.stdout).filter((l) => l.startsWith('promotion-')),
    [
      `promotion-missing repos/tripleo-ci newest row 3 (${(first.commitHash ?? '').slice(0, 8)}/${(first.distroHash ?? '').slice(0, 8)}) promotes ${dirOf(first)}`,
      `promotion-mismatch repos/ci-passed -> ${dirOf(first).replace(/^repos\//, '')}, but its newest row 2 (${(second.commitHash ?? '').slice(0, 8)}/${(second.distroHash ?? '').slice(0, 8)}) promotes ${dirOf(second)}`,
    ],
  );
});

test('no database yet: one line (or one JSON object), exit 1, and no file made', async (t) => {
  const root = join(dir, 'no-database');
  await mkdir(root);
  const missing = join(root, 'commits.sqlite');
  const args = [
    '--config-file',
    join(built, 'projects.ini'),
    '--config-override',
    `DEFAULT.datadir=${join(root, 'data')}`,
    '--config-override',
    `DEFAULT.database_connection=sqlite:///${missing}`,
  ];
  const result = await runCli('dlrn-check', args, { cwd: root });
  t.is(result.code, 1);
  t.is(
    result.stdout,
    `site not checked: no database at ${missing}: nothing has been built with this database_connection yet\n`,
  );
  t.is(result.stderr, '');
  const json = await runCli('dlrn-check', [...args, '--json'], { cwd: root });
  t.is(json.code, 1);
  t.deepEqual(JSON.parse(json.stdout), {
    ok: false,
    error: `no database at ${missing}: nothing has been built with this database_connection yet`,
  });
  await t.throwsAsync(readFile(missing), { code: 'ENOENT' }, 'the check made no database');
});
