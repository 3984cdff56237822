/**
 * Rows that many requests insert at once (CI votes) written together: while one batch is being
 * written, the rows that arrive wait and go in the next one, a single statement and transaction.
 * On SQLite a transaction costs a sync of the disk, so fifty concurrent votes cost one sync
 * instead of fifty. Each caller's promise settles once its row is stored, as before; when a batch
 * fails, its rows are written one by one, so one bad row fails only its own request.
 */
export const groupCommit = <T>(write: (rows: T[]) => Promise<unknown>): ((row: T) => Promise<void>) => {
  let waiting: { row: T; resolve: () => void; reject: (err: unknown) => void }[] = [];
  let writing = false;
  const drain = async (): Promise<void> => {
    writing = true;
    try {
      while (waiting.length > 0) {
        const batch = waiting;
        waiting = [];
        try {
          await write(batch.map((b) => b.row));
          for (const b of batch) b.resolve();
        } catch (err) {
          if (batch.length === 1) batch[0]?.reject(err);
          else
            for (const b of batch) {
              await write([b.row]).then(b.resolve, b.reject);
            }
        }
      }
    } finally {
      writing = false;
    }
  };
  return (row) =>
    new Promise<void>((resolve, reject) => {
      waiting.push({ row, resolve, reject });
      if (!writing) void drain();
    });
};
