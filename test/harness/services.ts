/**
 * The real services the tests run against, started once per test run on loopback with their
 * data in a temporary folder: the Temporal dev server, PostgreSQL and MariaDB (installed by
 * scripts/bootstrap.sh from Debian's packages).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, readdirSync } from 'node:fs';
import { chown, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, startDevServer, type DevServer } from '../../lib/temporal-dev-server.ts';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Service {
  name: string;
  env: Record<string, string>;
  stop(): Promise<void>;
}

const isRoot = process.getuid?.() === 0;

const stopChild = async (child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await gone;
  clearTimeout(timer);
};

const waitFor = async (what: string, probe: () => Promise<boolean>, child: ChildProcess, ms = 60_000) => {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode} while starting`);
    if (Date.now() > deadline) throw new Error(`${what} did not start within ${ms} ms`);
    await sleep(200);
  }
};

/**
 * The dev server, unless DLRN_TEST_TEMPORAL_ADDRESS already names a Temporal to test against
 * (scripts/temporal-cluster.sh test runs the suite on a real server on PostgreSQL that way).
 */
export const startTemporal = async (dir: string): Promise<Service> => {
  const existing = process.env.DLRN_TEST_TEMPORAL_ADDRESS;
  if (existing) {
    return {
      name: 'temporal (given)',
      env: { DLRN_TEST_TEMPORAL_ADDRESS: existing },
      stop: () => Promise.resolve(),
    };
  }
  const server: DevServer = await startDevServer({
    dbFile: join(dir, 'temporal.sqlite'),
    logFile: openSync(join(dir, 'temporal.log'), 'a'),
  });
  return { name: 'temporal', env: { DLRN_TEST_TEMPORAL_ADDRESS: server.address }, stop: () => server.stop() };
};

const postgresBin = (): string => {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  const version = versions.find((v) => existsSync(join(root, v, 'bin', 'postgres')));
  if (!version) throw new Error('PostgreSQL is not installed; run scripts/bootstrap.sh');
  return join(root, version, 'bin');
};

/** A PostgreSQL server of its own: the harness's, or one a fault test stops and starts again. */
export interface PostgresService extends Service {
  url: string;
  /** Stops the server at once, as a crash would (`pg_ctl stop -m immediate`). */
  crash(): Promise<void>;
  /** Starts it again on the same port and data. */
  restart(): Promise<void>;
}

/** PostgreSQL refuses to run as root; as root its cluster belongs to the `postgres` user. */
/** PostgreSQL as the tests run it (fsync off); `settings` adds `name=value` server settings. */
export const startPostgres = async (dir: string, settings: string[] = []): Promise<PostgresService> => {
  const bin = postgresBin();
  const data = join(dir, 'pg');
  await mkdir(data, { recursive: true });
  const asUser = (cmd: string, args: string[]): [string, string[]] =>
    isRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  if (isRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
    await chown(data, Number(stdout.trim()), Number(gid.trim()));
  }
  const [initCmd, initArgs] = asUser(join(bin, 'initdb'), [
    '-D',
    data,
    '-A',
    'trust',
    '-U',
    'postgres',
    '-E',
    'UTF8',
    '--no-sync',
  ]);
  await run(initCmd, initArgs);
  const port = await freePort();
  const [cmd, args] = asUser(join(bin, 'postgres'), [
    '-D',
    data,
    '-p',
    String(port),
    '-k',
    dir,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'fsync=off',
    '-c',
    'synchronous_commit=off',
    '-c',
    'full_page_writes=off',
    '-c',
    'max_connections=200',
    ...settings.flatMap((setting) => ['-c', setting]),
  ]);
  let child: ChildProcess;
  const launch = async () => {
    child = spawn(cmd, args, { stdio: ['ignore', 'ignore', openSync(join(dir, 'postgres.log'), 'a')] });
    await waitFor(
      'PostgreSQL',
      async () =>
        run(join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port)]).then(
          () => true,
          () => false,
        ),
      child,
    );
  };
  // As root the child is runuser, which does not pass a signal on: pg_ctl stops the server.
  const stopWith = async (mode: 'fast' | 'immediate') => {
    const [stopCmd, stopArgs] = asUser(join(bin, 'pg_ctl'), ['-D', data, '-m', mode, '-w', 'stop']);
    await run(stopCmd, stopArgs).catch(() => undefined);
    await stopChild(child, 'SIGINT');
  };
  await launch();
  const url = `postgresql://postgres@127.0.0.1:${port}/postgres`;
  return {
    name: 'postgres',
    url,
    env: { DLRN_TEST_POSTGRES_URL: url },
    stop: () => stopWith('fast'),
    crash: () => stopWith('immediate'),
    restart: launch,
  };
};

export const startMariadb = async (dir: string): Promise<Service> => {
  const data = join(dir, 'mariadb');
  const user = isRoot ? ['--user=root'] : [];
  await run('mariadb-install-db', [
    '--no-defaults',
    `--datadir=${data}`,
    '--auth-root-authentication-method=normal',
    '--skip-test-db',
    ...user,
  ]);
  const port = await freePort();
  const child = spawn(
    'mariadbd',
    [
      '--no-defaults',
      `--datadir=${data}`,
      `--socket=${join(dir, 'mariadb.sock')}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--pid-file=${join(dir, 'mariadb.pid')}`,
      '--skip-log-bin',
      '--innodb-flush-log-at-trx-commit=0',
      '--innodb-buffer-pool-size=64M',
      '--max-connections=300',
      ...user,
    ],
    { stdio: ['ignore', 'ignore', openSync(join(dir, 'mariadb.log'), 'a')] },
  );
  await waitFor(
    'MariaDB',
    async () =>
      run('mariadb-admin', ['--no-defaults', '-h', '127.0.0.1', '-P', String(port), '-uroot', 'ping']).then(
        () => true,
        () => false,
      ),
    child,
  );
  return {
    name: 'mariadb',
    env: { DLRN_TEST_MYSQL_URL: `mysql+pymysql://root@127.0.0.1:${port}/mysql` },
    stop: () => stopChild(child),
  };
};
