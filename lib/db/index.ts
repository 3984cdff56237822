/**
 * Opens DLRN's database from its SQLAlchemy URL, applies our migrations (which adopt a
 * DLRN-made database as it is), and hands back the models.
 */
import { existsSync } from 'node:fs';
import lockfile from 'proper-lockfile';
import { QueryTypes, Sequelize, type Options } from 'sequelize';
import { DatabaseError } from '../domain/errors.ts';
import type { Database } from './database.ts';
import { createMigrator } from './migrations.ts';
import { guardAgainstNul } from './nul-guard.ts';
import { defineModels } from './models.ts';
import { preparedReads } from './prepared.ts';
import { oneTransactionAtATime, waitForLocks } from './sqlite-busy.ts';
import { parseDatabaseUrl, type DatabaseTarget } from './url.ts';

export { type DatabaseTarget } from './url.ts';
export type { Database } from './database.ts';
export * from './models.ts';
export { ALEMBIC_HEAD, DLRN_TABLES } from './schema.ts';
export type { SqlValue } from './prepared.ts';

interface OpenOptions {
  /** Apply pending migrations (default true). */
  migrate?: boolean;
  /** Base for a relative SQLite path (SQLAlchemy uses the working directory). */
  cwd?: string;
  /** SQL statement logger; silent when omitted. */
  logSql?: (sql: string) => void;
  /**
   * SQLite: true switches the file to write-ahead logging, false back to the rollback journal
   * (`[database] sqlite_wal`); left as it is when omitted.
   */
  sqliteWal?: boolean;
  /**
   * Reads only (`dlrn-check`): no migration, and a SQLite file is opened read-only; one that does
   * not exist is a DatabaseError instead of a new empty file.
   */
  readOnly?: boolean;
  /**
   * PostgreSQL and MariaDB: a server that does not answer (a restart) is waited for, connecting
   * again with growing pauses, for this many milliseconds before the query fails with a
   * DatabaseError naming the database; `onWait` is told when a wait starts and ends. 0 (the
   * default): fail at once, as the API wants.
   */
  reconnectMs?: number;
  onWait?: (wait: DatabaseWait | undefined) => void;
}

/** A wait on a database that does not answer. */
export interface DatabaseWait {
  /** `the database postgresql://dlrn@db:5432/dlrn` (no password). */
  what: string;
  /** Epoch milliseconds the wait started. */
  since: number;
  /** The driver's last words (`connect ECONNREFUSED 10.0.0.5:5432`). */
  detail: string;
}

/** Errors of a server that is not there (or not yet): worth waiting for. */
const CONNECTION_ERRORS = new Set([
  'SequelizeConnectionError',
  'SequelizeConnectionRefusedError',
  'SequelizeHostNotFoundError',
  'SequelizeHostNotReachableError',
  'SequelizeConnectionTimedOutError',
  'SequelizeConnectionAcquireTimeoutError',
]);

interface PooledConnections {
  getConnection(options?: unknown): Promise<unknown>;
}

/**
 * Every connection the pool opens waits for a server that is down, with growing pauses (250 ms
 * to 5 s), for up to `reconnectMs`. Only getting a connection is retried, never a statement: a
 * query whose connection broke under it fails, and its step is retried by its own policy.
 */
const rideOutOutages = (
  sequelize: Sequelize,
  target: DatabaseTarget,
  reconnectMs: number,
  onWait: OpenOptions['onWait'],
): void => {
  const manager = (sequelize as unknown as { connectionManager: PooledConnections }).connectionManager;
  const connect = manager.getConnection.bind(manager);
  const what = `the database ${target.display}`;
  manager.getConnection = async (options?: unknown) => {
    let since: number | undefined;
    for (let pause = 250; ; pause = Math.min(pause * 2, 5_000)) {
      try {
        const connection = await connect(options);
        if (since !== undefined) onWait?.(undefined);
        return connection;
      } catch (err) {
        if (!CONNECTION_ERRORS.has((err as Error).name)) throw err;
        since ??= Date.now();
        const detail = (err as Error).message;
        if (Date.now() - since >= reconnectMs) {
          onWait?.(undefined);
          throw new DatabaseError(
            `${what} has not answered for ${Math.round((Date.now() - since) / 1000)} s ([database] reconnect_timeout): ${detail}`,
            { cause: err },
          );
        }
        onWait?.({ what, since, detail });
        await new Promise((r) => setTimeout(r, pause));
      }
    }
  };
};

/** SQLite's SQLITE_OPEN_READONLY flag, as the sqlite3 module passes it. */
const SQLITE_OPEN_READONLY = 1;

const sequelizeOptions = (target: DatabaseTarget, logSql?: (sql: string) => void): Options => {
  const base: Options = { dialect: target.dialect, logging: logSql ?? false };
  if (target.dialect === 'sqlite') return { ...base, storage: target.storage ?? ':memory:' };
  const options: Options = {
    ...base,
    host: target.host ?? 'localhost',
    database: target.database ?? '',
    pool: { max: 10, min: 0, idle: 10_000 },
  };
  if (target.port !== undefined) options.port = target.port;
  if (target.username !== undefined) options.username = target.username;
  if (target.password !== undefined) options.password = target.password;
  if (target.dialect === 'mysql' && target.query.charset)
    options.dialectOptions = { charset: target.query.charset };
  return options;
};

const MIGRATION_LOCK = 'dlrnt_migrations';

/**
 * Runs pending migrations while holding a database-wide lock, so processes that open a new
 * database at the same moment (a worker and the API, say) migrate it once: a lock directory for a
 * SQLite file; an advisory lock held by a transaction on PostgreSQL and MariaDB.
 */
const migrateExclusively = async (sequelize: Sequelize, target: DatabaseTarget): Promise<void> => {
  const dialect = sequelize.getDialect();
  if (dialect === 'sqlite') {
    // SQLite has no advisory lock: a lock directory beside the file keeps two processes from
    // reading the same "pending" list and applying a migration twice.
    const storage = target.storage;
    if (!storage || storage === ':memory:') {
      await createMigrator(sequelize).up();
      return;
    }
    const release = await lockfile.lock(storage, {
      realpath: false,
      lockfilePath: `${storage}.migrate.lock`,
      retries: { retries: 300, minTimeout: 50, maxTimeout: 1000 },
      stale: 60_000,
    });
    try {
      await createMigrator(sequelize).up();
    } finally {
      await release();
    }
    return;
  }
  await sequelize.transaction(async (transaction) => {
    if (dialect === 'postgres') {
      await sequelize.query(`SELECT pg_advisory_xact_lock(hashtext('${MIGRATION_LOCK}'))`, { transaction });
      await createMigrator(sequelize).up();
      return;
    }
    await sequelize.query(`SELECT GET_LOCK('${MIGRATION_LOCK}', 300)`, { transaction });
    try {
      await createMigrator(sequelize).up();
    } finally {
      await sequelize.query(`SELECT RELEASE_LOCK('${MIGRATION_LOCK}')`, { transaction });
    }
  });
};

/** Connects, migrates and defines models. Throws DatabaseError naming the URL on failure. */
/**
 * Puts a SQLite file in the journal mode asked for. Leaving WAL needs the file to itself: while
 * another process has it open the mode stays, and the next open that finds it alone switches.
 */
const setJournalMode = async (
  sequelize: Sequelize,
  target: DatabaseTarget,
  mode: 'wal' | 'delete',
): Promise<void> => {
  if (target.storage === ':memory:') return;
  const current = async (pragma: string) =>
    (await sequelize.query<{ journal_mode: string }>(pragma, { type: QueryTypes.SELECT }))[0]?.journal_mode;
  if ((await current('PRAGMA journal_mode')) === mode) return;
  try {
    await current(`PRAGMA journal_mode=${mode.toUpperCase()}`);
  } catch (err) {
    // Another process holds the file (or, for WAL, writes to it past the busy timeout): the
    // mode is switched by a later open.
    if (!/locked|busy/i.test((err as Error).message)) throw err;
  }
};

export const openDatabase = async (
  url: string | DatabaseTarget,
  options: OpenOptions = {},
): Promise<Database> => {
  const target = typeof url === 'string' ? parseDatabaseUrl(url, options.cwd) : url;
  const readOnlyFile = options.readOnly && target.dialect === 'sqlite' && target.storage !== ':memory:';
  if (readOnlyFile && !existsSync(target.storage ?? ''))
    throw new DatabaseError(
      `no database at ${target.storage ?? ''}: nothing has been built with this database_connection yet`,
    );
  const sequelize = new Sequelize({
    ...sequelizeOptions(target, options.logSql),
    ...(readOnlyFile ? { dialectOptions: { mode: SQLITE_OPEN_READONLY } } : {}),
  });
  if (target.dialect === 'sqlite') {
    waitForLocks(sequelize);
    oneTransactionAtATime(sequelize);
  } else if (options.reconnectMs) rideOutOutages(sequelize, target, options.reconnectMs, options.onWait);
  try {
    await sequelize.authenticate();
  } catch (err) {
    await sequelize.close();
    throw new DatabaseError(`cannot connect to database ${target.display}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  try {
    // Persistent in the file: every process opening it after this one keeps the mode.
    if (options.sqliteWal !== undefined && !options.readOnly && target.dialect === 'sqlite')
      await setJournalMode(sequelize, target, options.sqliteWal ? 'wal' : 'delete');
    if (options.migrate !== false && !options.readOnly) await migrateExclusively(sequelize, target);
  } catch (err) {
    await sequelize.close();
    throw new DatabaseError(`cannot migrate database ${target.display}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  guardAgainstNul(sequelize);
  const reads = preparedReads(sequelize, target);
  return {
    sequelize,
    models: defineModels(sequelize),
    reads,
    target,
    close: async () => {
      try {
        await reads.close();
      } finally {
        await sequelize.close();
      }
    },
  };
};
export * from './queries.ts';
export * from './hot-reads.ts';
