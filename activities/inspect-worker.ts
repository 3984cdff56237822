import { execFile } from 'node:child_process';
import { hostname } from 'node:os';
import { promisify } from 'node:util';
import { QueryTypes } from 'sequelize';
import type { ActivityDeps } from './deps.ts';

const run = promisify(execFile);

/** What a worker host has: tool versions (null when missing) and its view of the database. */
export interface WorkerInspection {
  hostname: string;
  pid: number;
  node: string;
  tools: Record<'rpmbuild' | 'rpmspec' | 'createrepo_c' | 'git', string | null>;
  database: { dialect: string; alembicVersion: string | null; commits: number };
}

const version = async (tool: string): Promise<string | null> => {
  try {
    const { stdout } = await run(tool, ['--version'], { timeout: 10_000 });
    return stdout.trim().split('\n')[0] ?? '';
  } catch {
    return null;
  }
};

/** Reports the tools and database a worker sees, so an operator can check a new host. */
export const inspectWorker = async (deps: ActivityDeps): Promise<WorkerInspection> => {
  const [rpmbuild, rpmspec, createrepo, git] = await Promise.all(
    ['rpmbuild', 'rpmspec', 'createrepo_c', 'git'].map((tool) => version(tool)),
  );
  const { sequelize, models } = deps.db;
  const rows = await sequelize.query<{ version_num: string }>('SELECT version_num FROM alembic_version', {
    type: QueryTypes.SELECT,
  });
  return {
    hostname: hostname(),
    pid: process.pid,
    node: process.version,
    tools: {
      rpmbuild: rpmbuild ?? null,
      rpmspec: rpmspec ?? null,
      createrepo_c: createrepo ?? null,
      git: git ?? null,
    },
    database: {
      dialect: sequelize.getDialect(),
      alembicVersion: rows[0]?.version_num ?? null,
      commits: await models.Commit.count(),
    },
  };
};
