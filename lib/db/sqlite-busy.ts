/**
 * SQLite's own wait for a lock. Without it a connection that finds the file locked (a reader
 * between a writer and its commit, another process's transaction) fails at once with SQLITE_BUSY,
 * and sequelize retries after 100 ms or more: tens of milliseconds lost per commit under load.
 * With it SQLite retries within the statement, from 1 ms up, for as long as the timeout.
 *
 * That wait happens on one of libuv's threads (four unless UV_THREADPOOL_SIZE says more; the bins
 * ask for 32, bin/launch.js). Sequelize gives each SQLite transaction a connection of its own:
 * when a process's transactions and writes waiting for the lock one of its own transactions holds
 * take every thread, that transaction cannot get one to commit, and all of them wait out the
 * timeout (seen as ten-second stalls of a worker promoting twenty targets at once, every other
 * process's writes failing SQLITE_BUSY meanwhile). So a process runs one transaction at a time
 * (`oneTransactionAtATime`): the others wait in JavaScript, holding no thread.
 */
import type { Sequelize } from 'sequelize';
import type sqlite3 from 'sqlite3';

export const BUSY_TIMEOUT_MS = 10_000;

interface SqliteConnections {
  getConnection(options?: unknown): Promise<sqlite3.Database>;
}

/** Every connection sequelize opens on this SQLite database waits for locks. */
export const waitForLocks = (sequelize: Sequelize): void => {
  const manager = (sequelize as unknown as { connectionManager: SqliteConnections }).connectionManager;
  const open = manager.getConnection.bind(manager);
  const waiting = new WeakSet<sqlite3.Database>();
  manager.getConnection = async (options?: unknown) => {
    const connection = await open(options);
    if (!waiting.has(connection)) {
      connection.configure('busyTimeout', BUSY_TIMEOUT_MS);
      waiting.add(connection);
    }
    return connection;
  };
};

/**
 * Managed transactions (`sequelize.transaction(callback)`) of this SQLite database run one at a
 * time, in the order asked. Never nest them: a transaction opened inside another's callback
 * would wait for it forever. Unmanaged ones (no callback) are left as they are.
 */
export const oneTransactionAtATime = (sequelize: Sequelize): void => {
  const transaction = sequelize.transaction.bind(sequelize) as (...args: unknown[]) => Promise<unknown>;
  let tail: Promise<unknown> = Promise.resolve();
  (sequelize as unknown as { transaction: (...args: unknown[]) => Promise<unknown> }).transaction = (
    ...args: unknown[]
  ) => {
    if (!args.some((a) => typeof a === 'function')) return transaction(...args);
    const turn = tail.then(() => transaction(...args));
    tail = turn.catch(() => undefined);
    return turn;
  };
};
