import type { DlrnConfig } from '../lib/config/index.ts';
import type { Database } from '../lib/db/index.ts';
import type { Logger } from '../lib/logger.ts';

/** What activities close over; built once per worker by a cli/ entry point or a test. */
export interface ActivityDeps {
  config: DlrnConfig;
  db: Database;
  logger: Logger;
  /** `DLRN_TIMINGS`: append each activity's timing to this file (activities/timings.ts). */
  timingsFile?: string;
}
