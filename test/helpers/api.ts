/**
 * The API served in process for tests: a database made by DLRN's DDL with rows like DLRN's test
 * samples (on any engine), a user `ci` with password `s3cret`, a datadir, the clock pinned.
 */
/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-assignment -- responses are JSON of many shapes */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../../api/app.ts';
import { createUser } from '../../lib/auth/users.ts';
import type { VerifyPool } from '../../lib/auth/verify-pool.ts';
import { loadConfig } from '../../lib/config/index.ts';
import { openDatabase, type Database } from '../../lib/db/index.ts';
import { createLogger } from '../../lib/logger.ts';
import { createDlrnHeadDatabase, FIXTURE_ROWS } from '../fixtures/dlrn-database.ts';
import { freshDatabase, uniqueTaskQueue, type DatabaseKind } from './services.ts';
import { connectTemporal, workflowBundle } from './temporal.ts';
import type { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../../activities/index.ts';
import { WORKER_TUNING } from '../../cli/worker.ts';

export const [PYSAML, TRIPLEO] = FIXTURE_ROWS.commits;
export const NOW = 1441901490_000;
export const AUTH = `Basic ${Buffer.from('ci:s3cret').toString('base64')}`;

export interface Api {
  url: string;
  /** Task queue of the API's workflows, with `temporal`. */
  taskQueue?: string;
  client?: Client;
  db: Database;
  datadir: string;
  call(
    method: string,
    path: string,
    options?: { body?: unknown; auth?: boolean | string; type?: string; headers?: Record<string, string> },
  ): Promise<{ status: number; body: any; headers: Headers; text: string }>;
}

/**
 * With `temporal`, the API starts workflows on the harness's server, on a task queue of its own
 * served by a worker with our activities over the same configuration and database.
 */
export const startApi = async (
  kind: DatabaseKind,
  t: { teardown(fn: () => Promise<void>): void },
  options: {
    temporal?: boolean;
    ini?: string;
    webhookRetryInterval?: string;
    now?: () => number;
    /** The read cache's life; off (0) unless a test is about it, as tests write rows directly. */
    readCacheMs?: number;
    /** The password check pool (a test that counts checks wraps one). */
    verifyPool?: VerifyPool;
  } = {},
): Promise<Api> => {
  const dir = await mkdtemp(join(tmpdir(), 'dlrnt-api-'));
  const target = await freshDatabase(kind);
  const raw = await openDatabase(target.url, { migrate: false });
  await createDlrnHeadDatabase(raw.sequelize, kind);
  await raw.close();
  const db = await openDatabase(target.url);
  await createUser(db.models, 'ci', 's3cret', { rounds: 1000 });
  const datadir = join(dir, 'data');
  await mkdir(join(datadir, 'repos'), { recursive: true });
  const ini = join(dir, 'projects.ini');
  await writeFile(
    ini,
    `[DEFAULT]\ndatadir=${datadir}\nscriptsdir=./scripts\nbaseurl=http://trunk.example/centos9\ndistro=rpm-master\nsource=master\n` +
      `pkginfo_driver=dlrn.drivers.local.LocalDriver\nbuild_driver=dlrn.drivers.mockdriver.MockBuildDriver\n` +
      `database_connection=${target.url}\n${options.ini ?? ''}`,
  );
  const config = await loadConfig(ini);
  // DLRN_TEST_LOG=error (say) shows what the API logs, such as the cause of a 500.
  const logger = createLogger({ level: process.env.DLRN_TEST_LOG ?? 'fatal' });
  let temporal: { client: Client; taskQueue: string } | undefined;
  let stopWorker = async () => {};
  if (options.temporal) {
    const env = await connectTemporal();
    const taskQueue = uniqueTaskQueue(`api-${kind}`);
    const worker = await Worker.create({
      connection: env.connection,
      taskQueue,
      workflowBundle: await workflowBundle(),
      ...WORKER_TUNING,
      activities: createActivities({ config, db, logger }),
    });
    const running = worker.run();
    temporal = { client: env.client, taskQueue };
    stopWorker = async () => {
      worker.shutdown();
      await running;
      await env.close();
    };
  }
  const app = createApp({
    config,
    db,
    logger,
    now: options.now ?? (() => NOW),
    readCacheMs: options.readCacheMs ?? 0,
    ...(options.verifyPool ? { verifyPool: options.verifyPool } : {}),
    ...(temporal ? { temporal } : {}),
    ...(options.webhookRetryInterval ? { webhookRetryInterval: options.webhookRetryInterval } : {}),
  });
  const server: Server = await new Promise((ready) => {
    const s = app.listen(0, '127.0.0.1', () => ready(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  t.teardown(async () => {
    await new Promise<void>((closed) => server.close(() => closed()));
    await stopWorker();
    await db.close();
    await target.drop();
    await rm(dir, { recursive: true, force: true });
  });
  return {
    url,
    ...(temporal ? { taskQueue: temporal.taskQueue, client: temporal.client } : {}),
    db,
    datadir,
    call: async (method, path, options = {}) => {
      const headers: Record<string, string> = { ...options.headers };
      if (options.auth) headers.Authorization = options.auth === true ? AUTH : options.auth;
      if (options.body !== undefined) headers['Content-Type'] = options.type ?? 'application/json';
      const response = await fetch(`${url}${path}`, {
        method,
        headers,
        ...(options.body === undefined
          ? {}
          : { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }),
      });
      const text = await response.text();
      return {
        status: response.status,
        body: text ? JSON.parse(text) : undefined,
        headers: response.headers,
        text,
      };
    },
  };
};

/** A query string. */
export const q = (params: Record<string, string | number | boolean>) =>
  `?${new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)])).toString()}`;

/**
 * A successful build of `python-tripleo-common` in component `tripleo`, with its hashed
 * directory holding `repoFile` as delorean.repo (component mode's aggregates read it).
 */
export const addComponentBuild = async (
  api: Api,
  hash: string,
  repoFile: string,
  component = 'tripleo',
): Promise<string> => {
  await api.db.models.Commit.create({
    type: 'rpm',
    projectName: component === 'tripleo' ? 'python-tripleo-common' : `python-${component}`,
    commitHash: hash,
    distroHash: 'd'.repeat(40),
    extendedHash: null,
    dtCommit: 1441640000,
    dtDistro: 1441640000,
    dtExtended: 0,
    dtBuild: 1441640100,
    status: 'SUCCESS',
    component,
    flags: 0,
  });
  const hashed = join(
    api.datadir,
    'repos',
    'component',
    component,
    hash.slice(0, 2),
    hash.slice(2, 4),
    `${hash}_dddddddd`,
  );
  await mkdir(hashed, { recursive: true });
  await writeFile(join(hashed, 'delorean.repo'), repoFile);
  return hashed;
};
