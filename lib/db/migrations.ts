/**
 * Migrations, run with umzug and recorded in our own `dlrnt_migrations` table. The first one
 * creates DLRN's schema on an empty database, or adopts a database DLRN made: missing tables
 * and columns of older DLRN schemas are added (as alembic would have), existing tables and rows
 * are left as they are, and `alembic_version` is stamped at DLRN's head so alembic stays usable.
 * Later migrations only add to the schema.
 */
import { DataTypes, QueryTypes, type QueryInterface, type Sequelize } from 'sequelize';
import { SequelizeStorage, Umzug, type MigrationParams } from 'umzug';
import { ALEMBIC_HEAD, createTableSql, DLRN_TABLES, type SqlDialect, type TableDef } from './schema.ts';

type Context = Sequelize;

const dialectOf = (sequelize: Sequelize): SqlDialect => {
  const d = sequelize.getDialect();
  if (d === 'sqlite' || d === 'postgres' || d === 'mysql') return d;
  throw new Error(`unsupported dialect ${d}`);
};

const quoter = (qi: QueryInterface) => (name: string) => qi.quoteIdentifier(name);

const tableNames = async (qi: QueryInterface): Promise<Set<string>> => {
  const raw = (await qi.showAllTables()) as unknown[];
  return new Set(
    raw
      .map((t) => (typeof t === 'string' ? t : String((t as { tableName?: string }).tableName)))
      .map((t) => t.toLowerCase()),
  );
};

/** Values alembic wrote into columns its revisions added (dlrn-spec §1.8). */
const BACKFILL: Record<string, Record<string, string>> = {
  commits: {
    distgit_dir: `repo_dir || '_distro'`,
    commit_branch: `'master'`,
    dt_extended: '0',
    type: `'rpm'`,
  },
};

const createAlembicVersion = async (sequelize: Sequelize, quote: (n: string) => string): Promise<void> => {
  await sequelize.query(
    `CREATE TABLE ${quote('alembic_version')} (${quote('version_num')} VARCHAR(32) NOT NULL, ` +
      `CONSTRAINT ${quote('alembic_version_pkc')} PRIMARY KEY (${quote('version_num')}))`,
  );
};

const concat = (dialect: SqlDialect, expr: string): string =>
  dialect === 'mysql' ? expr.replace(/^(\w+) \|\| (.+)$/, 'CONCAT($1, $2)') : expr;

/** Brings one existing DLRN table up to head by adding what older schemas lack. */
const adoptTable = async (sequelize: Sequelize, table: TableDef, dialect: SqlDialect): Promise<void> => {
  const qi = sequelize.getQueryInterface();
  const quote = quoter(qi);
  const described = await qi.describeTable(table.name);
  const present = new Set(Object.keys(described).map((c) => c.toLowerCase()));
  if (table.name === 'commits' && present.has('rpms') && !present.has('artifacts')) {
    // alembic 2d503b5034b7 renamed rpms to artifacts.
    await sequelize.query(
      `ALTER TABLE ${quote('commits')} RENAME COLUMN ${quote('rpms')} TO ${quote('artifacts')}`,
    );
    present.add('artifacts');
  }
  for (const column of table.columns) {
    if (present.has(column.name)) continue;
    const ddl = createTableSql({ name: table.name, columns: [column] }, dialect, quote)
      .split('\n')[1]
      ?.trim()
      .replace(/,$/, '');
    await sequelize.query(`ALTER TABLE ${quote(table.name)} ADD COLUMN ${ddl}`);
    const backfill = BACKFILL[table.name]?.[column.name];
    if (backfill) {
      await sequelize.query(
        `UPDATE ${quote(table.name)} SET ${quote(column.name)} = ${concat(dialect, backfill)}`,
      );
    }
  }
  // alembic 837138eb7daa widened extended_hash to 128; SQLite does not enforce lengths.
  const extended = described.extended_hash;
  if (
    table.name === 'commits' &&
    dialect !== 'sqlite' &&
    extended &&
    /\((\d+)\)/.exec(extended.type)?.[1] === '64'
  ) {
    const alter =
      dialect === 'postgres'
        ? `ALTER TABLE ${quote('commits')} ALTER COLUMN ${quote('extended_hash')} TYPE VARCHAR(128)`
        : `ALTER TABLE ${quote('commits')} MODIFY ${quote('extended_hash')} VARCHAR(128)`;
    await sequelize.query(alter);
  }
};

const dlrnSchema = async ({ context: sequelize }: MigrationParams<Context>): Promise<void> => {
  const qi = sequelize.getQueryInterface();
  const quote = quoter(qi);
  const dialect = dialectOf(sequelize);
  const existing = await tableNames(qi);
  for (const table of DLRN_TABLES) {
    if (existing.has(table.name)) await adoptTable(sequelize, table, dialect);
    else await sequelize.query(createTableSql(table, dialect, quote));
  }
  if (!existing.has('alembic_version')) {
    await createAlembicVersion(sequelize, quote);
  }
  const versions = await sequelize.query<{ version_num: string }>(
    `SELECT ${quote('version_num')} FROM ${quote('alembic_version')}`,
    { type: QueryTypes.SELECT },
  );
  if (versions.length === 0) {
    await sequelize.query(`INSERT INTO ${quote('alembic_version')} (${quote('version_num')}) VALUES (?)`, {
      replacements: [ALEMBIC_HEAD],
    });
  } else if (versions.some((v) => v.version_num !== ALEMBIC_HEAD)) {
    await sequelize.query(`UPDATE ${quote('alembic_version')} SET ${quote('version_num')} = ?`, {
      replacements: [ALEMBIC_HEAD],
    });
  }
};

/** Secondary indexes for the queries the builder and the API run; DLRN has none. */
const INDEXES: { name: string; table: string; columns: string[] }[] = [
  { name: 'dlrnt_commits_project', table: 'commits', columns: ['project_name', 'type', 'status'] },
  { name: 'dlrnt_commits_hashes', table: 'commits', columns: ['commit_hash', 'distro_hash'] },
  { name: 'dlrnt_civotes_commit', table: 'civotes', columns: ['commit_id'] },
  { name: 'dlrnt_promotions_name', table: 'promotions', columns: ['promotion_name'] },
];

/**
 * `last_tested_repo` asks for the newest vote (by time, then id) matching a job and a result: on
 * 100,000 votes a scan and sort of the whole table per request without this one.
 */
const VOTE_TIME_INDEX = { name: 'dlrnt_civotes_time', table: 'civotes', columns: ['timestamp', 'id'] };

/**
 * `last_tested_repo?job_id=` asks for one job's newest vote: by time alone, the scan walks back
 * through every other job's votes until it meets one of that job's (all of them for a job that
 * votes rarely, on a million votes); by job then time it is one index probe.
 */
const VOTE_JOB_TIME_INDEX = {
  name: 'dlrnt_civotes_job_time',
  table: 'civotes',
  columns: ['ci_name', 'timestamp', 'id'],
};

const createIndexes =
  (indexes: typeof INDEXES) =>
  async ({ context: sequelize }: MigrationParams<Context>): Promise<void> => {
    const quote = quoter(sequelize.getQueryInterface());
    for (const index of indexes) {
      await sequelize.query(
        `CREATE INDEX IF NOT EXISTS ${quote(index.name)} ON ${quote(index.table)} (${index.columns.map(quote).join(', ')})`,
      );
    }
  };

const dropIndexesOf =
  (indexes: typeof INDEXES) =>
  async ({ context: sequelize }: MigrationParams<Context>): Promise<void> => {
    const qi = sequelize.getQueryInterface();
    for (const index of indexes) await qi.removeIndex(index.table, index.name);
  };

/**
 * Our own table (DLRN's stay as they are): which promotion row each item of a promote-batch
 * saga created, so a step retried after its worker died finds its row instead of adding another,
 * and its undo deletes exactly that row.
 */
export const PROMOTION_STEPS_TABLE = 'dlrnt_promotion_steps';

const createPromotionSteps = async ({ context: sequelize }: MigrationParams<Context>): Promise<void> => {
  await sequelize.getQueryInterface().createTable(PROMOTION_STEPS_TABLE, {
    batch_id: { type: DataTypes.STRING(255), allowNull: false, primaryKey: true },
    item: { type: DataTypes.INTEGER, allowNull: false, primaryKey: true },
    promotion_id: { type: DataTypes.INTEGER, allowNull: false },
    previous_target: { type: DataTypes.TEXT, allowNull: true },
  });
};

const dropPromotionSteps = async ({ context: sequelize }: MigrationParams<Context>): Promise<void> => {
  await sequelize.getQueryInterface().dropTable(PROMOTION_STEPS_TABLE);
};

export const WAIVERS_TABLE = 'dlrnt_waivers';
export const PROMOTION_DECISIONS_TABLE = 'dlrnt_promotion_decisions';

/**
 * Automatic promotion's tables: waivers (a job counted as passed for a target until it expires,
 * who made it and when, who withdrew it) and the decisions that promoted, with their evidence.
 */
const createPromotionDecisions = async ({ context: sequelize }: MigrationParams<Context>): Promise<void> => {
  const qi = sequelize.getQueryInterface();
  await qi.createTable(WAIVERS_TABLE, {
    id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
    target: { type: DataTypes.STRING(255), allowNull: false },
    job: { type: DataTypes.STRING(256), allowNull: false },
    reason: { type: DataTypes.TEXT, allowNull: false },
    candidate: { type: DataTypes.STRING(255), allowNull: true },
    expires_at: { type: DataTypes.INTEGER, allowNull: false },
    created_by: { type: DataTypes.STRING(255), allowNull: false },
    created_at: { type: DataTypes.INTEGER, allowNull: false },
    withdrawn_by: { type: DataTypes.STRING(255), allowNull: true },
    withdrawn_at: { type: DataTypes.INTEGER, allowNull: true },
  });
  await qi.addIndex(WAIVERS_TABLE, ['target', 'expires_at'], { name: 'dlrnt_waivers_target' });
  await qi.createTable(PROMOTION_DECISIONS_TABLE, {
    id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
    target: { type: DataTypes.STRING(255), allowNull: false },
    candidate: { type: DataTypes.STRING(255), allowNull: false },
    dry_run: { type: DataTypes.BOOLEAN, allowNull: false },
    decided_at: { type: DataTypes.INTEGER, allowNull: false },
    promotion_ids: { type: DataTypes.TEXT, allowNull: true },
    evidence: { type: DataTypes.TEXT, allowNull: false },
    workflow_id: { type: DataTypes.STRING(255), allowNull: true },
  });
  // One decision per target and candidate: a retried or repeated promotion finds it.
  await qi.addIndex(PROMOTION_DECISIONS_TABLE, ['target', 'candidate', 'dry_run'], {
    name: 'dlrnt_promotion_decisions_once',
    unique: true,
  });
};

const dropPromotionDecisions = async ({ context: sequelize }: MigrationParams<Context>): Promise<void> => {
  await sequelize.getQueryInterface().dropTable(PROMOTION_DECISIONS_TABLE);
  await sequelize.getQueryInterface().dropTable(WAIVERS_TABLE);
};

const MIGRATION_TABLE = 'dlrnt_migrations';

export const createMigrator = (sequelize: Sequelize): Umzug<Context> =>
  new Umzug<Context>({
    migrations: [
      { name: '0001-dlrn-schema', up: dlrnSchema },
      { name: '0002-indexes', up: createIndexes(INDEXES), down: dropIndexesOf(INDEXES) },
      {
        name: '0003-vote-time-index',
        up: createIndexes([VOTE_TIME_INDEX]),
        down: dropIndexesOf([VOTE_TIME_INDEX]),
      },
      { name: '0004-promotion-steps', up: createPromotionSteps, down: dropPromotionSteps },
      {
        name: '0005-vote-job-time-index',
        up: createIndexes([VOTE_JOB_TIME_INDEX]),
        down: dropIndexesOf([VOTE_JOB_TIME_INDEX]),
      },
      { name: '0006-promotion-decisions', up: createPromotionDecisions, down: dropPromotionDecisions },
    ],
    context: sequelize,
    storage: new SequelizeStorage({ sequelize, tableName: MIGRATION_TABLE }),
    logger: undefined,
  });
