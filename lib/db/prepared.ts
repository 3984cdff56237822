/**
 * Plain SQL for the API's hottest reads (the commit of a hash pair, a commit's votes, the newest
 * vote of a job), on the driver itself: the ORM spends about a millisecond of the event loop on
 * each query (options cloned, hooks run, a stack captured, instances built), ten times what the
 * query costs the database.
 *
 * - SQLite: two read-only connections of our own, used in turn, with a busy timeout, so reads run
 *   on the thread pool beside each other and beside the ORM's writes; statements are prepared once.
 * - PostgreSQL: a pool of their own, so polling never queues ahead of a vote's transaction, with
 *   named (prepared once per connection) statements.
 * - MariaDB and an in-memory SQLite: the ORM's raw query.
 *
 * SQL is written with `?` for parameters and names no reserved word bare. Rows come back with the
 * models' attribute names (`commit_hash` → `commitHash`); booleans as the database stores them
 * (SQLite and MariaDB give 0 and 1).
 */
import { createHash } from 'node:crypto';
import { QueryTypes, type Sequelize } from 'sequelize';
import sqlite3 from 'sqlite3';
import type pg from 'pg';
import { InputError } from '../domain/errors.ts';
import { camelCase } from './models.ts';
import { BUSY_TIMEOUT_MS } from './sqlite-busy.ts';
import type { DatabaseTarget } from './url.ts';

export type SqlValue = string | number | boolean | null;

export interface PreparedReads {
  /** The rows of a SELECT, keyed by the models' attribute names. */
  all<T>(sql: string, params: readonly SqlValue[]): Promise<T[]>;
  close(): Promise<void>;
}

const READERS = 4;

const refuseNul = (params: readonly SqlValue[]): void => {
  if (params.some((p) => typeof p === 'string' && p.includes('\u0000')))
    throw new InputError('a value holds a NUL character, which the database cannot store');
};

const attributeOf = new Map<string, string>();

const attributeNames = (row: Record<string, unknown>): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  for (const column in row) {
    let attribute = attributeOf.get(column);
    if (attribute === undefined) {
      attribute = camelCase(column);
      attributeOf.set(column, attribute);
    }
    out[attribute] = row[column];
  }
  return out;
};

interface Reader {
  db: sqlite3.Database;
  statements: Map<string, sqlite3.Statement>;
}

const openReader = (storage: string): Promise<Reader> =>
  new Promise((resolve, reject) => {
    const db = new sqlite3.Database(storage, sqlite3.OPEN_READONLY, (err) => {
      if (err) reject(err);
      else {
        db.configure('busyTimeout', BUSY_TIMEOUT_MS);
        resolve({ db, statements: new Map() });
      }
    });
  });

const sqliteReads = (storage: string): PreparedReads => {
  // Opened on first use: the API opens its database before the first request.
  let readers: Promise<Reader[]> | undefined;
  let turn = 0;
  return {
    all: async <T>(sql: string, params: readonly SqlValue[]) => {
      refuseNul(params);
      readers ??= Promise.all(Array.from({ length: READERS }, () => openReader(storage)));
      const opened = await readers;
      const reader = opened[turn++ % opened.length];
      if (!reader) throw new Error('no SQLite reader');
      let statement = reader.statements.get(sql);
      if (!statement) {
        statement = reader.db.prepare(sql);
        reader.statements.set(sql, statement);
      }
      const values = params.map((p) => (typeof p === 'boolean' ? Number(p) : p));
      return new Promise<T[]>((resolve, reject) => {
        statement.all(values, (err: Error | null, rows: Record<string, unknown>[]) => {
          if (err) reject(err);
          else resolve(rows.map(attributeNames) as T[]);
        });
      });
    },
    close: async () => {
      const opened = await readers?.catch(() => []);
      readers = undefined;
      for (const { db, statements } of opened ?? []) {
        for (const statement of statements.values()) await new Promise((done) => statement.finalize(done));
        await new Promise<void>((done, fail) => db.close((err) => (err ? fail(err) : done())));
      }
    },
  };
};

/**
 * PostgreSQL: a pool of the reads' own (READ_CONNECTIONS), so CI's polling never queues ahead of
 * the ORM's writes (a vote's transaction) for a connection, and named statements, prepared once
 * per connection.
 */
const READ_CONNECTIONS = 6;

const postgresReads = (target: DatabaseTarget): PreparedReads => {
  const numbered = new Map<string, { name: string; text: string }>();
  let pool: pg.Pool | undefined;
  const poolOf = async (): Promise<pg.Pool> => {
    if (pool) return pool;
    const { default: driver } = await import('pg');
    pool ??= new driver.Pool({
      host: target.host ?? 'localhost',
      database: target.database ?? '',
      max: READ_CONNECTIONS,
      idleTimeoutMillis: 10_000,
      ...(target.port === undefined ? {} : { port: target.port }),
      ...(target.username === undefined ? {} : { user: target.username }),
      ...(target.password === undefined ? {} : { password: target.password }),
    });
    // An idle connection the server dropped (a restart) is replaced by the next query, not a crash.
    pool.on('error', () => {});
    return pool;
  };
  return {
    all: async <T>(sql: string, params: readonly SqlValue[]) => {
      refuseNul(params);
      let query = numbered.get(sql);
      if (!query) {
        let n = 0;
        query = {
          name: `dlrnt_${createHash('sha1').update(sql).digest('hex').slice(0, 16)}`,
          text: sql.replace(/\?/g, () => `$${++n}`),
        };
        numbered.set(sql, query);
      }
      const result = await (await poolOf()).query<Record<string, unknown>>({ ...query, values: [...params] });
      return result.rows.map(attributeNames) as T[];
    },
    close: async () => {
      const open = pool;
      pool = undefined;
      await open?.end();
    },
  };
};

const ormReads = (sequelize: Sequelize): PreparedReads => ({
  all: async <T>(sql: string, params: readonly SqlValue[]) => {
    refuseNul(params);
    const rows = await sequelize.query<Record<string, unknown>>(sql, {
      replacements: [...params],
      type: QueryTypes.SELECT,
    });
    return rows.map(attributeNames) as T[];
  },
  close: async () => {},
});

export const preparedReads = (sequelize: Sequelize, target: DatabaseTarget): PreparedReads => {
  if (target.dialect === 'sqlite' && target.storage && target.storage !== ':memory:')
    return sqliteReads(target.storage);
  if (target.dialect === 'postgres') return postgresReads(target);
  return ormReads(sequelize);
};
