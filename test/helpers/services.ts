/**
 * What a test needs from the services test/harness/with-services.ts started: their addresses,
 * a fresh database on each engine, and a task queue of its own.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import pg from 'pg';

const required = (name: string): string => {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `${name} is not set: run the tests with \`npm run ava\` (test/harness/with-services.ts starts the services)`,
    );
  }
  return value;
};

export const temporalAddress = (): string => required('DLRN_TEST_TEMPORAL_ADDRESS');

/** A task queue no other test polls: the title, made safe, plus a random suffix. */
export const uniqueTaskQueue = (title: string): string =>
  `${title.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 60)}-${randomBytes(4).toString('hex')}`;

/** A command's flags for cluster mode on the harness's Temporal server, on `queue`. */
export const clusterFlags = (ini: string, queue: string): string[] => [
  '--config-file',
  ini,
  '--config-override',
  `temporal.address=${temporalAddress()}`,
  '--config-override',
  `temporal.task_queue=${queue}`,
];

export const DATABASE_KINDS = ['sqlite', 'postgres', 'mysql'] as const;
export type DatabaseKind = (typeof DATABASE_KINDS)[number];

export interface TestDatabase {
  kind: DatabaseKind;
  /** SQLAlchemy URL, as projects.ini's database_connection would hold it. */
  url: string;
  drop(): Promise<void>;
}

const replaceDatabase = (url: string, name: string): string => url.replace(/\/[^/?]*(\?.*)?$/, `/${name}$1`);

/** A new, empty database on the given engine. */
export const freshDatabase = async (kind: DatabaseKind): Promise<TestDatabase> => {
  const name = `dlrnt_${randomBytes(6).toString('hex')}`;
  if (kind === 'sqlite') {
    const dir = await mkdtemp(join(tmpdir(), 'dlrnt-sqlite-'));
    return {
      kind,
      url: `sqlite:///${join(dir, 'commits.sqlite')}`,
      drop: () => rm(dir, { recursive: true, force: true }),
    };
  }
  if (kind === 'postgres') {
    const admin = required('DLRN_TEST_POSTGRES_URL');
    const client = new pg.Client({ connectionString: admin });
    await client.connect();
    await client.query(`CREATE DATABASE ${name}`);
    await client.end();
    return {
      kind,
      url: replaceDatabase(admin, name),
      drop: async () => {
        const c = new pg.Client({ connectionString: admin });
        await c.connect();
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await c.end();
      },
    };
  }
  const admin = required('DLRN_TEST_MYSQL_URL');
  const plain = admin.replace(/^mysql\+\w+:/, 'mysql:');
  const connection = await createConnection(plain);
  await connection.query(`CREATE DATABASE ${name} CHARACTER SET utf8mb4`);
  await connection.end();
  return {
    kind,
    url: replaceDatabase(admin, name),
    drop: async () => {
      const c = await createConnection(plain);
      await c.query(`DROP DATABASE IF EXISTS ${name}`);
      await c.end();
    },
  };
};
