/**
 * Starts and stops the official Temporal CLI's dev server (`temporal server start-dev`): a
 * SQLite-backed Temporal with the Web UI, used in local mode and by the test harness. The
 * binary is the one scripts/bootstrap.sh provisions into `.tools/`.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { ToolError } from './domain/errors.ts';
import { searchAttributeDefinitions } from './domain/temporal-names.ts';
import { PROJECT_ROOT } from './paths.ts';

const run = promisify(execFile);

/** `$DLRN_TEMPORAL_BIN`, else the bootstrap's binary, else `temporal` on PATH. */
export const temporalBinary = (): string => {
  const fromEnv = process.env.DLRN_TEMPORAL_BIN;
  if (fromEnv) return fromEnv;
  const provisioned = resolve(PROJECT_ROOT, '.tools', 'venv', 'bin', 'temporal');
  return existsSync(provisioned) ? provisioned : 'temporal';
};

/** A TCP port nobody listens on right now, on loopback. */
export const freePort = async (): Promise<number> =>
  new Promise((ok, fail) => {
    const server = createServer();
    server.unref();
    server.on('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? ok(address.port) : fail(new Error('no port')),
      );
    });
  });

interface DevServerOptions {
  /** SQLite file that keeps history across restarts; omitted means in memory. */
  dbFile?: string;
  /** gRPC port; a free one when omitted. */
  port?: number;
  /** Web UI port; `headless` when omitted. */
  uiPort?: number;
  ip?: string;
  namespace?: string;
  /** How long to wait for the server to answer health checks (ms). */
  startTimeoutMs?: number;
  /** Where the server's own output goes (default: ignored). */
  logFile?: number;
}

export interface DevServer {
  address: string;
  uiUrl?: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** True when a Temporal frontend answers at `address`. */
export const isTemporalServing = async (address: string, binary = temporalBinary()): Promise<boolean> => {
  try {
    const { stdout } = await run(binary, ['operator', 'cluster', 'health', '--address', address], {
      timeout: 5_000,
    });
    return stdout.includes('SERVING');
  } catch {
    return false;
  }
};

/**
 * The arguments of `temporal server start-dev` for a server of ours: our search attributes
 * registered, its HTTP and metrics ports free ones, the Web UI on `uiPort` or none.
 *
 * Eager activities are on: a worker that completes a workflow task scheduling an activity on its
 * own task queue gets the activity in the answer, without a poll round trip (the SDK asks by
 * default; the server grants it only with this setting). A build's steps follow one another, so
 * this saves one round trip per step.
 */
export const devServerArgs = async (
  options: Pick<DevServerOptions, 'dbFile' | 'uiPort' | 'namespace'> & { ip: string; port: number },
): Promise<string[]> => {
  const { ip } = options;
  const args = ['server', 'start-dev', '--ip', ip, '--port', String(options.port), '--log-level', 'error'];
  // Ports of its own, none of them one the caller chose but has not bound yet.
  const taken = new Set([options.port, options.uiPort]);
  const another = async (): Promise<number> => {
    for (;;) {
      const port = await freePort();
      if (taken.has(port)) continue;
      taken.add(port);
      return port;
    }
  };
  args.push('--http-port', String(await another()), '--metrics-port', String(await another()));
  args.push('--dynamic-config-value', 'system.enableActivityEagerExecution=true');
  if (options.dbFile) args.push('--db-filename', options.dbFile);
  if (options.uiPort === undefined) args.push('--headless');
  else args.push('--ui-port', String(options.uiPort), '--ui-ip', ip);
  if (options.namespace && options.namespace !== 'default') args.push('--namespace', options.namespace);
  for (const definition of searchAttributeDefinitions()) args.push('--search-attribute', definition);
  return args;
};

/**
 * Starts a dev server with our search attributes registered, and resolves once it serves.
 * Throws ToolError when the binary is missing or the server does not come up in time.
 */
export const startDevServer = async (options: DevServerOptions = {}): Promise<DevServer> => {
  const binary = temporalBinary();
  const ip = options.ip ?? '127.0.0.1';
  const port = options.port ?? (await freePort());
  const args = await devServerArgs({ ...options, ip, port });

  const child = spawn(binary, args, {
    stdio: ['ignore', options.logFile ?? 'ignore', options.logFile ?? 'ignore'],
  });
  let exited: string | undefined;
  let spawnError: Error | undefined;
  child.on('error', (err) => (spawnError = err));
  child.on('exit', (code, signal) => (exited = `exited with ${signal ?? code}`));

  const address = `${ip}:${port}`;
  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  for (;;) {
    if (spawnError) {
      throw new ToolError(
        `cannot start the Temporal dev server "${binary}": ${spawnError.message}; run scripts/bootstrap.sh`,
        {
          cause: spawnError,
        },
      );
    }
    if (exited) throw new ToolError(`the Temporal dev server ${exited} before serving on ${address}`);
    if (await isTemporalServing(address, binary)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new ToolError(
        `the Temporal dev server did not serve on ${address} within ${options.startTimeoutMs ?? 60_000} ms`,
      );
    }
    await sleep(200);
  }
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(timer);
  };
  return {
    address,
    ...(options.uiPort === undefined ? {} : { uiUrl: `http://${ip}:${options.uiPort}` }),
    process: child,
    stop,
  };
};
