/** What every route needs: the configuration, the database, a logger and the clock. */
import type { Client } from '@temporalio/client';
import type { Middleware } from 'koa';
import type { DlrnConfig } from '../lib/config/index.ts';
import type { Database } from '../lib/db/index.ts';
import type { Logger } from '../lib/logger.ts';
import type { VerifyPool } from '../lib/auth/verify-pool.ts';

export interface ApiDeps {
  config: DlrnConfig;
  db: Database;
  logger: Logger;
  /** Epoch milliseconds; tests pin it. */
  now?: () => number;
  /** First retry delay of webhook deliveries (tests shorten it). */
  webhookRetryInterval?: string;
  /** Where the API starts workflows (promote-batch, remote import, trigger). */
  temporal?: { client: Client; taskQueue: string };
  /** `[api] read_cache_ms` instead of the configuration's (tests that write rows behind the API). */
  readCacheMs?: number;
  /** Where passwords are checked; the process's shared pool of threads when omitted. */
  verifyPool?: VerifyPool;
  /** Wakes automatic promotion after a vote or a waiver (api/promotion-wake.ts; set by createApp). */
  wakePromotions?: (wake: { job?: string; target?: string }) => void;
}

/** What a request carries once authenticated, and what its answer says to the read cache. */
export interface ApiState {
  user?: string;
  /** What a GET answer depends on, for api/read-cache.ts: `commit:<id>`, `votes`, ... */
  cacheTags?: string[];
  /** What a write changed, for api/read-cache.ts; unset: anything may have changed. */
  changed?: string[];
}

/** The route middleware every module guards its routes with (api/auth.ts, api/read-cache.ts). */
export interface Auth {
  read: Middleware<ApiState>;
  write: Middleware<ApiState>;
  /** After `read` on the answers CI systems poll: api/read-cache.ts. */
  cached: Middleware<ApiState>;
}

export const nowSeconds = (deps: ApiDeps): number => (deps.now ?? Date.now)() / 1000;
