/**
 * `dlrn-purge` as a process, in local mode against the harness's Temporal server (its own task
 * queue), on a tree and database of old builds made here, on each database engine.
 */
import test from 'ava';
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { openDatabase, type Database } from '../../lib/db/index.ts';
import { PURGED_FLAG } from '../../lib/domain/purge.ts';
import { commitDir } from '../../lib/domain/repo-layout.ts';
import { runCli } from '../helpers/cli.ts';
import {
  DATABASE_KINDS,
  freshDatabase,
  temporalAddress,
  uniqueTaskQueue,
  type DatabaseKind,
} from '../helpers/services.ts';

const DAY = 86_400;
const now = Math.floor(Date.now() / 1000);

interface Row {
  id: number;
  project: string;
  status: 'SUCCESS' | 'FAILED' | 'RETRY';
  daysAgo: number | null;
  commit?: string;
  flags?: number;
  component?: string;
}

// 30-day purges of these builds:
//   alpha: 3 is newer than the cut-off; 2 is the first old success (cleaned, RPMs kept); 1 goes.
//   beta:  4 is its newest success (kept whole); 6 failed on the same commit (flag only, the
//          directory stays); 5 failed on another commit (removed).
//   gamma: 7 has its RPM in an excluded directory; 8 was purged before; 9 has no build time.
const ROWS: Row[] = [
  { id: 1, project: 'alpha', status: 'SUCCESS', daysAgo: 40 },
  { id: 2, project: 'alpha', status: 'SUCCESS', daysAgo: 35 },
  { id: 3, project: 'alpha', status: 'SUCCESS', daysAgo: 1 },
  { id: 4, project: 'beta', status: 'SUCCESS', daysAgo: 38, commit: 'b4' },
  { id: 5, project: 'beta', status: 'FAILED', daysAgo: 39 },
  { id: 6, project: 'beta', status: 'FAILED', daysAgo: 37, commit: 'b4' },
  { id: 7, project: 'gamma', status: 'SUCCESS', daysAgo: 45 },
  { id: 8, project: 'gamma', status: 'SUCCESS', daysAgo: 50, flags: PURGED_FLAG },
  { id: 9, project: 'gamma', status: 'FAILED', daysAgo: null },
];

const hashOf = (r: Row) => (r.commit ?? `c${r.id}`).padEnd(40, '0');
const dirOf = (r: Row) =>
  commitDir({
    commitHash: hashOf(r),
    distroHash: 'd'.repeat(40),
    extendedHash: null,
    component: r.component ?? null,
  });
const rpmOf = (r: Row) => `${r.project}-1.0-${r.id}.noarch.rpm`;

interface World {
  dir: string;
  repos: string;
  db: Database;
  overrides: string[];
  cleanup(): Promise<void>;
}

const makeWorld = async (kind: DatabaseKind, options: { components?: boolean } = {}): Promise<World> => {
  const dir = await mkdtemp(join(tmpdir(), 'dlrnt-purge-'));
  const database = await freshDatabase(kind);
  await writeFile(
    join(dir, 'projects.ini'),
    `[DEFAULT]\ndatadir=./data\nscriptsdir=./scripts\nbaseurl=http://localhost/\ndistro=rpm-master\nsource=master\n` +
      `reponame=delorean\npkginfo_driver=dlrn.drivers.local.LocalDriver\nbuild_driver=dlrn.drivers.mockdriver.MockBuildDriver\n` +
      `use_components=${options.components ? 'true' : 'false'}\ndatabase_connection=${database.url}\n`,
  );
  const repos = join(dir, 'data', 'repos');
  const db = await openDatabase(database.url, { cwd: dir });
  for (const r of ROWS) {
    const path = join(repos, dirOf(r));
    await mkdir(join(path, 'repodata'), { recursive: true });
    await writeFile(join(path, rpmOf(r)), 'rpm');
    await writeFile(join(path, 'rpmbuild.log'), 'log');
    await writeFile(join(path, 'repodata', 'repomd.xml'), '<repomd/>');
    // Rows 4 and 6 share a directory: a dangling link to another build's RPM, made once.
    const link = join(path, 'other.noarch.rpm');
    if (!(await lstat(link).catch(() => undefined))) await symlink('../../../other.rpm', link);
    await db.models.Commit.create({
      id: r.id,
      type: 'rpm',
      projectName: r.project,
      commitHash: hashOf(r),
      distroHash: 'd'.repeat(40),
      extendedHash: null,
      dtCommit: now - 60 * DAY,
      dtDistro: now - 60 * DAY,
      dtExtended: 0,
      dtBuild: r.daysAgo === null ? null : now - r.daysAgo * DAY,
      status: r.status,
      repoDir: '/tmp/x',
      distgitDir: '/tmp/y',
      commitBranch: 'master',
      artifacts: `repos/${dirOf(r)}/${rpmOf(r)}`,
      notes: '',
      flags: r.flags ?? 0,
      component: r.component ?? null,
    });
  }
  const overrides = [
    '--config-override',
    `temporal.local_port=${temporalAddress().split(':')[1] ?? ''}`,
    '--config-override',
    `temporal.task_queue=${uniqueTaskQueue(`purge-${kind}`)}`,
  ];
  return {
    dir,
    repos,
    db,
    overrides,
    cleanup: async () => {
      await db.close();
      await database.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
};

const purge = (w: World, args: string[], input?: string) =>
  runCli('dlrn-purge', ['--config-file', 'projects.ini', ...w.overrides, ...args], {
    cwd: w.dir,
    ...(input ? { input } : {}),
  });

const flagsOf = async (w: World) =>
  Object.fromEntries(
    (await w.db.models.Commit.findAll({ order: [['id', 'ASC']] })).map((c) => [
      c.getDataValue('id'),
      c.getDataValue('flags'),
    ]),
  );

const row = (id: number) => ROWS.find((r) => r.id === id)!;

test('--dry-run lists every decision and changes nothing', async (t) => {
  const w = await makeWorld('sqlite');
  t.teardown(() => w.cleanup());
  const before = await flagsOf(w);
  const result = await purge(w, [
    '--older-than',
    '30',
    '-y',
    '--dry-run',
    '--exclude-dirs',
    join(w.repos, 'protected'),
  ]);
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, new RegExp(`would remove: ${dirOf(row(1))} \\(alpha, id 1, SUCCESS\\)`));
  t.regex(result.stdout, new RegExp(`would clean, keeping RPMs: ${dirOf(row(2))}`));
  t.regex(result.stdout, new RegExp(`would keep: newest successful build of its project: ${dirOf(row(4))}`));
  t.regex(result.stdout, new RegExp(`would flag only .*: ${dirOf(row(6))}`));
  t.regex(result.stdout, /Dry run, nothing changed\. Would purge 4 builds/);
  // Without the protected copy, gamma's build 7 is simply its project's newest success.
  t.regex(result.stdout, new RegExp(`would keep: newest successful build of its project: ${dirOf(row(7))}`));
  t.deepEqual(await flagsOf(w), before);
  for (const r of ROWS) t.true(existsSync(join(w.repos, dirOf(r), 'rpmbuild.log')), dirOf(r));
  t.regex(result.stdout, /Purge workflow: http/);
});

test('without -y, anything but "y" at the question purges nothing', async (t) => {
  const w = await makeWorld('sqlite');
  t.teardown(() => w.cleanup());
  const result = await purge(w, ['--older-than', '30'], 'n\n');
  t.is(result.code, 0);
  t.regex(
    result.stderr,
    /Remove all data before \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}, correct\? \[N\/y\]/,
  );
  t.regex(result.stdout, /Nothing purged/);
  t.false(Object.values(await flagsOf(w)).some((f) => (f ?? 0) & PURGED_FLAG && f !== PURGED_FLAG));
  t.true(existsSync(join(w.repos, dirOf(row(1)))));
});

test('--older-than must be a number of days', async (t) => {
  const w = await makeWorld('sqlite');
  t.teardown(() => w.cleanup());
  const result = await purge(w, ['--older-than', 'ten', '-y']);
  t.is(result.code, 2);
  t.regex(result.stderr, /--older-than: "ten" is not a whole number of days/);
});

for (const kind of DATABASE_KINDS) {
  test(`-y purges old builds, keeping the newest successful one of each project (${kind})`, async (t) => {
    const w = await makeWorld(kind);
    t.teardown(() => w.cleanup());
    // gamma's RPM is also in a protected directory, so build 7 must stay.
    const protectedDir = join(w.repos, 'protected');
    await mkdir(protectedDir, { recursive: true });
    await writeFile(join(protectedDir, rpmOf(row(7))), 'rpm');

    const result = await purge(w, ['--older-than', '30', '-y', '--exclude-dirs', protectedDir]);
    t.is(result.code, 0, result.stderr);
    t.regex(
      result.stdout,
      /Purged 4 builds: 2 directories removed, 1 cleaned keeping RPMs, 1 flagged only; 1 newest kept, 1 excluded, 1 purged before/,
    );

    t.false(existsSync(join(w.repos, dirOf(row(1)))));
    t.false(existsSync(join(w.repos, dirOf(row(5)))));
    t.deepEqual(await readdir(join(w.repos, dirOf(row(2)))), [rpmOf(row(2))]);
    for (const id of [3, 4, 7])
      t.true(existsSync(join(w.repos, dirOf(row(id)), 'repodata', 'repomd.xml')), `build ${id}`);
    t.deepEqual(await flagsOf(w), { 1: 2, 2: 2, 3: 0, 4: 0, 5: 2, 6: 2, 7: 0, 8: 2, 9: 0 });

    // A second purge finds nothing more to do.
    const again = await purge(w, ['--older-than', '30', '-y', '--exclude-dirs', protectedDir]);
    t.regex(again.stdout, /Purged 0 builds: .* 5 purged before/);
  });
}

test('in component mode, old aggregate directories go except the ones current and promotions point at', async (t) => {
  const w = await makeWorld('sqlite', { components: true });
  t.teardown(() => w.cleanup());
  const old = new Date((now - 40 * DAY) * 1000);
  const aggregate = async (name: string, hash: string, mtime?: Date) => {
    const path = join(w.repos, name, hash.slice(0, 2), hash.slice(2, 4), hash);
    await mkdir(path, { recursive: true });
    await writeFile(join(path, 'delorean.repo'), `[${hash}]`);
    if (mtime) await utimes(path, mtime, mtime);
    return path;
  };
  const pointed = await aggregate('current', 'aa11', old);
  const stale = await aggregate('current', 'bb22', old);
  const fresh = await aggregate('current', 'cc33');
  const promotedOld = await aggregate('tripleo-ci-testing', 'dd44', old);
  const promotedStale = await aggregate('tripleo-ci-testing', 'ee55', old);
  await symlink(join(pointed, 'delorean.repo'), join(w.repos, 'current', 'delorean.repo'));
  await symlink(join(promotedOld, 'delorean.repo'), join(w.repos, 'tripleo-ci-testing', 'delorean.repo'));
  await w.db.models.Promotion.create({
    commitId: 4,
    promotionName: 'tripleo-ci-testing',
    timestamp: now - 40 * DAY,
    user: null,
    component: null,
    aggregateHash: 'dd44',
  });

  const result = await purge(w, ['--older-than', '30', '-y']);
  t.is(result.code, 0, result.stderr);
  t.true(existsSync(pointed));
  t.true(existsSync(fresh));
  t.true(existsSync(promotedOld));
  t.false(existsSync(stale));
  t.false(existsSync(promotedStale));
  t.true(existsSync(dirname(stale)), 'the two shard levels stay');
  t.regex(result.stdout, /removed aggregate current\/bb\/22\/bb22/);
});
