/** An open database: what openDatabase (lib/db/index.ts) hands back and the queries take. */
import type { Sequelize } from 'sequelize';
import type { Models } from './models.ts';
import type { PreparedReads } from './prepared.ts';
import type { DatabaseTarget } from './url.ts';

export interface Database {
  sequelize: Sequelize;
  models: Models;
  /** Plain SQL for hot reads, beside the models (lib/db/prepared.ts). */
  reads: PreparedReads;
  target: DatabaseTarget;
  close(): Promise<void>;
}
