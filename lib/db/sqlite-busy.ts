/**
 * SQLite's own wait for a lock. Without it a connection that finds the file locked (a reader
 * between a writer and its commit, another process's transaction) fails at once with SQLITE_BUSY,
 * and sequelize retries after 100 ms or more: tens of milliseconds lost per commit under load.
 * With it SQLite retries within the statement, from 1 ms up, for as long as the timeout.
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
