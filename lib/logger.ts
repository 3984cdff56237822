/**
 * The one logger: pino JSON lines on stderr, so stdout stays for people (cli/output.ts).
 * `DLRN_LOG_LEVEL` or `--debug` sets the level.
 */
import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

export const createLogger = (options: { debug?: boolean; name?: string; level?: string } = {}): Logger =>
  pino(
    {
      name: options.name ?? 'dlrn',
      level: options.debug ? 'debug' : (process.env.DLRN_LOG_LEVEL ?? options.level ?? 'info'),
    },
    pino.destination(2),
  );
