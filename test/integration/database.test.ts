/**
 * The database layer on real SQLite, PostgreSQL and MariaDB (started by the test harness):
 * a database made by DLRN is adopted as it is, an older DLRN schema is brought to head, and a
 * fresh database gets exactly DLRN's tables and columns.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import test from 'ava';
import { Op, QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { BUSY_TIMEOUT_MS } from '../../lib/db/sqlite-busy.ts';
import { ALEMBIC_HEAD, camelCase, DLRN_TABLES, openDatabase, type Database } from '../../lib/db/index.ts';
import { DatabaseError, InputError } from '../../lib/domain/errors.ts';
import {
  createDlrnHeadDatabase,
  createDlrnOldDatabase,
  FIXTURE_ROWS,
  type FixtureDialect,
} from '../fixtures/dlrn-database.ts';
import { DATABASE_KINDS, freshDatabase, type DatabaseKind, type TestDatabase } from '../helpers/services.ts';

const exec = promisify(execFile);
/** Every migration, in the order they run. */
const MIGRATIONS = [
  '0001-dlrn-schema',
  '0002-indexes',
  '0003-vote-time-index',
  '0004-promotion-steps',
  '0005-vote-job-time-index',
  '0006-promotion-decisions',
];
const created: TestDatabase[] = [];
const opened: Database[] = [];
test.after.always(async () => {
  await Promise.allSettled(opened.map((db) => db.close()));
  await Promise.allSettled(created.map((db) => db.drop()));
});

const newDatabase = async (kind: DatabaseKind): Promise<TestDatabase> => {
  const db = await freshDatabase(kind);
  created.push(db);
  return db;
};
const open = async (url: string, migrate = true): Promise<Database> => {
  const db = await openDatabase(url, { migrate });
  opened.push(db);
  return db;
};

const selectAll = (sequelize: Sequelize, table: string) =>
  sequelize.query<Record<string, unknown>>(
    `SELECT * FROM ${sequelize.getQueryInterface().quoteIdentifier(table)} ORDER BY 1`,
    { type: QueryTypes.SELECT },
  );

/** Column facts comparable across engines: name, nullability, primary key, normalized type. */
const columnsOf = async (sequelize: Sequelize, table: string) => {
  const described = await sequelize.getQueryInterface().describeTable(table);
  return Object.entries(described)
    .map(([name, c]) => {
      const type = c.type
        .toLowerCase()
        .replace(/^character varying/, 'varchar')
        .replace(/^(int|int\(11\)|integer|serial)$/, 'integer')
        .replace(/^(tinyint\(1\)|bool|boolean)$/, 'boolean');
      return { name, type, allowNull: c.allowNull, primaryKey: c.primaryKey };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
};

const alembicVersions = async (sequelize: Sequelize) =>
  (await selectAll(sequelize, 'alembic_version')).map((r) => r.version_num);

/** A model row as DLRN's columns: attribute names back to snake_case. */
const asColumns = (row: object): Record<string, unknown> =>
  Object.fromEntries(
    Object.entries(row).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), v]),
  );

for (const kind of DATABASE_KINDS) {
  const dialect: FixtureDialect = kind;

  test(`${kind}: a database made by DLRN is opened as it is and every row reads back`, async (t) => {
    const target = await newDatabase(kind);
    const raw = await open(target.url, false);
    await createDlrnHeadDatabase(raw.sequelize, dialect);
    const before = Object.fromEntries(
      await Promise.all(
        DLRN_TABLES.map(async (table) => [table.name, await columnsOf(raw.sequelize, table.name)] as const),
      ),
    );

    const db = await open(target.url);
    const { models } = db;
    t.deepEqual((await models.Commit.findAll({ order: [['id', 'ASC']], raw: true })).map(asColumns), [
      ...FIXTURE_ROWS.commits,
    ]);
    t.deepEqual((await models.User.findAll({ raw: true })).map(asColumns), [...FIXTURE_ROWS.users]);
    t.deepEqual((await models.Project.findAll({ raw: true })).map(asColumns), [...FIXTURE_ROWS.projects]);
    t.deepEqual(
      (await models.CiVote.findAll({ order: [['id', 'ASC']] })).map((r) => asColumns(r.get({ plain: true }))),
      [...FIXTURE_ROWS.civotes],
    );
    t.deepEqual(
      (await models.CiVoteAgg.findAll()).map((r) => asColumns(r.get({ plain: true }))),
      [...FIXTURE_ROWS.civotes_agg],
    );
    t.deepEqual((await models.Promotion.findAll({ raw: true })).map(asColumns), [...FIXTURE_ROWS.promotions]);

    for (const table of DLRN_TABLES) {
      t.deepEqual(
        await columnsOf(db.sequelize, table.name),
        before[table.name],
        `${table.name} was not rewritten`,
      );
    }
    t.deepEqual(await alembicVersions(db.sequelize), [ALEMBIC_HEAD]);

    // New rows go in after DLRN's, with DLRN's client-side defaults.
    const commit = await models.Commit.create({ projectName: 'python-new', status: 'SUCCESS' });
    t.is(commit.get('id'), 4);
    const [row] = await db.sequelize.query<Record<string, unknown>>(
      'SELECT type, flags FROM commits WHERE id = 4',
      {
        type: QueryTypes.SELECT,
      },
    );
    t.deepEqual({ type: row?.type, flags: Number(row?.flags) }, { type: 'rpm', flags: 0 });
  });

  test(`${kind}: an older DLRN schema is brought to head without losing a row`, async (t) => {
    const target = await newDatabase(kind);
    const raw = await open(target.url, false);
    await createDlrnOldDatabase(raw.sequelize, dialect);

    const db = await open(target.url);
    const commits = (await db.models.Commit.findAll({ order: [['id', 'ASC']] })).map((c) =>
      c.get({ plain: true }),
    );
    t.deepEqual(
      commits.map((c) => ({
        id: c.id,
        artifacts: c.artifacts,
        type: c.type,
        component: c.component,
        hash: c.commitHash,
      })),
      FIXTURE_ROWS.commits.map((c) => ({
        id: c.id,
        artifacts: c.artifacts,
        type: 'rpm',
        component: null,
        hash: c.commit_hash,
      })),
    );
    t.is((await db.models.CiVote.count()) + (await db.models.Promotion.count()), 2);
    t.is(await db.models.CiVoteAgg.count(), 0, 'civotes_agg was created');
    // extended_hash was widened to DLRN's 128 characters.
    const long = FIXTURE_ROWS.commits[2].extended_hash;
    await db.models.Commit.update({ extendedHash: long }, { where: { id: 3 } });
    t.is((await db.models.Commit.findByPk(3))?.get('extendedHash'), long);
    t.deepEqual(await alembicVersions(db.sequelize), [ALEMBIC_HEAD]);
    const fresh = await open((await newDatabase(kind)).url);
    for (const table of DLRN_TABLES) {
      const names = (cols: { name: string }[]) => cols.map((c) => c.name);
      t.deepEqual(
        names(await columnsOf(db.sequelize, table.name)),
        names(await columnsOf(fresh.sequelize, table.name)),
        table.name,
      );
    }
  });

  test(`${kind}: a fresh database gets exactly the tables and columns DLRN creates`, async (t) => {
    const ours = await open((await newDatabase(kind)).url);
    const dlrn = await open((await newDatabase(kind)).url, false);
    await createDlrnHeadDatabase(dlrn.sequelize, dialect);
    for (const table of DLRN_TABLES) {
      t.deepEqual(
        await columnsOf(ours.sequelize, table.name),
        await columnsOf(dlrn.sequelize, table.name),
        table.name,
      );
      t.deepEqual(
        Object.keys(ours.models[modelOf(table.name)].getAttributes()).sort(),
        table.columns.map((c) => camelCase(c.name)).sort(),
      );
    }
    t.deepEqual(await alembicVersions(ours.sequelize), [ALEMBIC_HEAD]);
  });

  test(`${kind}: opening again applies no migration twice and keeps votes as booleans`, async (t) => {
    const target = await newDatabase(kind);
    const first = await open(target.url);
    const commit = await first.models.Commit.create({ projectName: 'p', commitHash: 'a', distroHash: 'b' });
    await first.models.CiVote.create({
      commitId: commit.getDataValue('id'),
      ciName: 'job',
      ciVote: true,
      ciInProgress: false,
      timestamp: 1,
    });
    await first.close();
    const second = await open(target.url);
    const migrations = await selectAll(second.sequelize, 'dlrnt_migrations');
    t.deepEqual(
      migrations.map((m) => m.name),
      MIGRATIONS,
    );
    const vote = await second.models.CiVote.findOne();
    t.is(vote?.get('ciVote'), true);
    t.is(vote?.get('ciInProgress'), false);
  });
}

for (const kind of DATABASE_KINDS) {
  test(`${kind}: processes opening a new database at once migrate it once`, async (t) => {
    const target = await newDatabase(kind);
    const dbs = await Promise.all([open(target.url), open(target.url), open(target.url)]);
    for (const db of dbs) t.is(await db.models.Commit.count(), 0);
    const migrations = await selectAll(dbs[0].sequelize, 'dlrnt_migrations');
    t.deepEqual(
      migrations.map((m) => m.name),
      MIGRATIONS,
    );
    t.deepEqual(await alembicVersions(dbs[0].sequelize), [ALEMBIC_HEAD]);
  });
}

for (const kind of DATABASE_KINDS) {
  test(`${kind}: the API's plain-SQL reads give the rows the models give`, async (t) => {
    const target = await newDatabase(kind);
    const raw = await open(target.url, false);
    await createDlrnHeadDatabase(raw.sequelize, kind);
    const db = await open(target.url);
    const commits = await db.reads.all<Record<string, unknown>>('SELECT * FROM commits ORDER BY id', []);
    t.deepEqual(commits.map(asColumns), [...FIXTURE_ROWS.commits]);
    // Booleans as each engine stores them, found by a boolean parameter on every engine.
    const commitId = FIXTURE_ROWS.civotes[0]?.commit_id ?? 0;
    for (const success of [true, false]) {
      const byModel = await db.models.CiVote.findAll({
        where: { commitId, ciVote: success },
        order: [['id', 'ASC']],
      });
      const byReads = await db.reads.all<{ id: number; ciVote: unknown; ciName: string }>(
        'SELECT * FROM civotes WHERE commit_id = ? AND ci_vote = ? ORDER BY id',
        [commitId, success],
      );
      t.deepEqual(
        byReads.map((v) => [v.id, Boolean(v.ciVote), v.ciName]),
        byModel.map((v) => [v.getDataValue('id'), v.getDataValue('ciVote'), v.getDataValue('ciName')]),
      );
    }
    t.deepEqual(await db.reads.all('SELECT password FROM users WHERE username = ?', ['foo']), [
      { password: FIXTURE_ROWS.users[0]?.password },
    ]);
    await t.throwsAsync(db.reads.all('SELECT * FROM users WHERE username = ?', ['f\u0000o']), {
      instanceOf: InputError,
      message: /NUL character/,
    });
  });
}

/** The file of a SQLite test database (sqlite:////abs/path). */
const fileOf = (db: TestDatabase): string => db.url.replace(/^sqlite:\/\/\//, '');

const journalMode = async (db: Database): Promise<string | undefined> =>
  (await db.sequelize.query<{ journal_mode: string }>('PRAGMA journal_mode', { type: QueryTypes.SELECT }))[0]
    ?.journal_mode;

test('sqlite: with sqlite_wal the file logs ahead, for every process that opens it later; false goes back', async (t) => {
  const target = await newDatabase('sqlite');
  const first = await open(target.url);
  t.is(await journalMode(first), 'delete');
  await first.close();
  const wal = await openDatabase(target.url, { sqliteWal: true });
  t.is(await journalMode(wal), 'wal');
  await wal.models.User.create({ username: 'during', password: 'x' });
  // Another connection, without the option, finds the mode kept and reads what was written.
  const later = await open(target.url);
  t.is(await journalMode(later), 'wal');
  t.deepEqual(await later.reads.all('SELECT username FROM users', []), [{ username: 'during' }]);
  // sqlite_wal=false while others hold the file: it stays in WAL, and opens fine.
  const refused = await openDatabase(target.url, { sqliteWal: false });
  t.is(await journalMode(refused), 'wal');
  await Promise.all([wal.close(), later.close(), refused.close()]);
  // Alone, it goes back to the rollback journal, and the -wal and -shm files go.
  const back = await openDatabase(target.url, { sqliteWal: false });
  opened.push(back);
  t.is(await journalMode(back), 'delete');
  t.false(existsSync(`${fileOf(target)}-wal`));
  t.deepEqual(await back.reads.all('SELECT username FROM users', []), [{ username: 'during' }]);
});

test('sqlite: twenty transactions and twenty writes of one process at once all commit, none waits out the lock timeout', async (t) => {
  // Each transaction has a connection of its own; the waits for the write lock happen on libuv's
  // four threads (the test process's default). Without one transaction at a time, the nineteen
  // waiting took every thread from the one holding the lock, and all waited ten seconds for it.
  const target = await newDatabase('sqlite');
  const db = await openDatabase(target.url, { sqliteWal: true });
  opened.push(db);
  const started = Date.now();
  const user = (name: string, transaction?: Transaction) =>
    db.models.User.create({ username: name, password: 'x' }, transaction ? { transaction } : {});
  await Promise.all([
    ...Array.from({ length: 20 }, (_, i) =>
      db.sequelize.transaction(async (transaction) => {
        await user(`t${i}-a`, transaction);
        await new Promise((r) => setTimeout(r, 20));
        await user(`t${i}-b`, transaction);
      }),
    ),
    ...Array.from({ length: 20 }, (_, i) => user(`w${i}`)),
  ]);
  t.is(await db.models.User.count(), 60);
  // Far below the busy timeout (10 s) that a stall would wait out.
  t.true(Date.now() - started < BUSY_TIMEOUT_MS / 2, `${Date.now() - started} ms`);
});

test("sqlite: DLRN's side (Python's sqlite3) reads and writes a WAL file while our API holds it open", async (t) => {
  const target = await newDatabase('sqlite');
  const storage = fileOf(target);
  const ours = await openDatabase(target.url, { sqliteWal: true });
  opened.push(ours);
  const commit = await ours.models.Commit.create({
    projectName: 'python-wal',
    status: 'SUCCESS',
    commitHash: 'a'.repeat(40),
  });
  await ours.models.CiVote.create({
    commitId: commit.get('id') as number,
    ciName: 'ours',
    ciUrl: '',
    ciVote: true,
    ciInProgress: false,
    timestamp: 1,
    notes: '',
    user: null,
    component: null,
  });
  t.true(existsSync(`${storage}-wal`) && existsSync(`${storage}-shm`));
  // What DLRN does through SQLAlchemy's pysqlite: the same library, from Python.
  const python = `
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=10)
print(db.execute("PRAGMA journal_mode").fetchone()[0])
print(db.execute("SELECT project_name, status FROM commits").fetchall())
db.execute("INSERT INTO civotes (commit_id, ci_name, ci_url, ci_vote, ci_in_progress, timestamp, notes, user) VALUES (?, 'dlrn', '', 1, 0, 2, '', NULL)", (${commit.get('id') as number},))
db.commit()
print(db.execute("SELECT ci_name FROM civotes ORDER BY id").fetchall())
`;
  const { stdout } = await exec('python3', ['-c', python, storage]);
  t.deepEqual(stdout.trim().split('\n'), ['wal', "[('python-wal', 'SUCCESS')]", "[('ours',), ('dlrn',)]"]);
  // Our open connections see Python's commit at once.
  t.deepEqual(await ours.reads.all('SELECT ci_name FROM civotes ORDER BY id', []), [
    { ciName: 'ours' },
    { ciName: 'dlrn' },
  ]);
});

test("sqlite: the API's vote searches are index probes, not scans of the votes", async (t) => {
  const target = await newDatabase('sqlite');
  const db = await open(target.url);
  const plan = async (sql: string, params: unknown[]) =>
    (
      await db.sequelize.query<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, {
        replacements: params,
        type: QueryTypes.SELECT,
      })
    )
      .map((r) => r.detail)
      .join('; ');
  // last_tested_repo?job_id=: the job's newest vote.
  const byJob = await plan(
    'SELECT * FROM civotes WHERE civotes.timestamp > ? AND ci_name = ? AND ci_vote = ? ORDER BY civotes.timestamp DESC, id ASC LIMIT 1',
    [0, 'job-3', true],
  );
  t.regex(byJob, /USING INDEX dlrnt_civotes_job_time \(ci_name=\? AND timestamp>\?\)/);
  // repo_status: a commit's votes.
  t.regex(
    await plan('SELECT * FROM civotes WHERE commit_id = ? ORDER BY id ASC', [7]),
    /USING INDEX dlrnt_civotes_commit/,
  );
  // last_tested_repo without a job: the newest vote.
  t.regex(
    await plan(
      'SELECT * FROM civotes WHERE civotes.timestamp > ? ORDER BY civotes.timestamp DESC, id ASC LIMIT 1',
      [0],
    ),
    /USING INDEX dlrnt_civotes_time/,
  );
});

const modelOf = (table: string) =>
  (
    ({
      commits: 'Commit',
      projects: 'Project',
      civotes: 'CiVote',
      civotes_agg: 'CiVoteAgg',
      promotions: 'Promotion',
      users: 'User',
    }) as const
  )[table as 'commits'];

test('an unreachable database is a DatabaseError naming the URL without its password', async (t) => {
  await t.throwsAsync(openDatabase('postgresql://dlrn:secret@127.0.0.1:1/dlrn'), {
    instanceOf: DatabaseError,
    message: /^cannot connect to database postgresql:\/\/dlrn:\*\*\*@127.0.0.1:1\/dlrn: /,
  });
});

for (const kind of DATABASE_KINDS) {
  test(`${kind}: a NUL character in a search or a write is an input error and reaches no table`, async (t) => {
    const db = await open((await newDatabase(kind)).url);
    const { Commit, User } = db.models;
    const nul = { instanceOf: InputError, message: /NUL character/ };
    await t.throwsAsync(Commit.findOne({ where: { commitHash: 'a\u0000b' } }), nul);
    await t.throwsAsync(Commit.count({ where: { projectName: { [Op.in]: ['x', '\u0000'] } } }), nul);
    await t.throwsAsync(User.create({ username: 'nul\u0000user', password: 'x' }), nul);
    await t.throwsAsync(User.bulkCreate([{ username: 'fine', password: 'x\u0000' }]), nul);
    await User.create({ username: 'fine', password: 'x' });
    await t.throwsAsync(User.update({ password: '\u0000' }, { where: { username: 'fine' } }), nul);
    await t.throwsAsync(User.destroy({ where: { username: 'fine\u0000' } }), nul);
    t.deepEqual(
      (await User.findAll()).map((u) => [u.getDataValue('username'), u.getDataValue('password')]),
      [['fine', 'x']],
    );
  });
}
