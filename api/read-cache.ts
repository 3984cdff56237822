/**
 * The answers CI systems poll (`repo_status`, `last_tested_repo`), kept briefly. Every write this
 * API receives (a vote, a promotion, a recheck; answered or not, unless refused for its
 * credentials) drops them all at once, so a job sees its own vote on its next request; writes by
 * other processes (a builder's `consistent` vote, another API instance) show after at most
 * `[api] read_cache_ms`. 0 turns it off.
 *
 * Only 200 answers of GET requests are kept, keyed by the path, the query string and the JSON body
 * (DLRN still reads GET bodies), after authentication has run; at most MAX_ENTRIES of them.
 */
import type { Context, Next } from 'koa';
import type { ApiState } from './context.ts';
import { HttpError } from './errors.ts';
import { isJsonBody, jsonText } from './json.ts';

const MAX_ENTRIES = 1_000;

interface Entry {
  until: number;
  body: unknown;
  type: string;
}

interface ReadCache {
  /** Route middleware: answers from the cache, or keeps what the route answers. */
  serve: (ctx: Context & { state: ApiState }, next: Next) => Promise<void>;
  /** App middleware: any request other than GET or HEAD drops every entry. */
  dropOnWrite: (ctx: Context, next: Next) => Promise<void>;
}

const answer = (ctx: Context, entry: Entry): void => {
  ctx.type = entry.type;
  ctx.body = entry.body;
};

export const createReadCache = (ttlMs: number, now: () => number = Date.now): ReadCache => {
  const entries = new Map<string, Entry>();
  const inFlight = new Map<string, Promise<Entry | undefined>>();
  let generation = 0;
  return {
    serve: async (ctx, next) => {
      if (ttlMs <= 0 || ctx.method !== 'GET') {
        await next();
        return;
      }
      const body = (ctx.request as { body?: unknown }).body;
      const key = `${ctx.path}?${ctx.querystring}\n${body === undefined ? '' : JSON.stringify(body)}`;
      const hit = entries.get(key);
      if (hit && hit.until > now()) {
        answer(ctx, hit);
        return;
      }
      // The same question asked while its answer is being made waits for that answer, so an
      // expiry under load costs one query, not one per connection.
      const making = inFlight.get(key);
      if (making) {
        const made = await making;
        if (made) {
          answer(ctx, made);
          return;
        }
        await next();
        return;
      }
      let settle: (entry: Entry | undefined) => void = () => {};
      inFlight.set(key, new Promise((resolve) => (settle = resolve)));
      // A write that came while this answer was being made may have changed it: not kept.
      const started = generation;
      let made: Entry | undefined;
      try {
        await next();
        if (ctx.status === 200 && started === generation) {
          // Kept as the text sent, so a hit costs no serialization.
          if (isJsonBody(ctx.body)) {
            ctx.type = 'application/json';
            ctx.body = jsonText(ctx.body);
          }
          made = { until: now() + ttlMs, body: ctx.body, type: ctx.type };
          entries.delete(key);
          entries.set(key, made);
          if (entries.size > MAX_ENTRIES) {
            const oldest = entries.keys().next();
            if (!oldest.done) entries.delete(oldest.value);
          }
        }
      } finally {
        inFlight.delete(key);
        settle(made);
      }
    },
    dropOnWrite: async (ctx, next) => {
      if (ctx.method === 'GET' || ctx.method === 'HEAD') {
        await next();
        return;
      }
      let refused = false;
      try {
        await next();
      } catch (err) {
        // Refused at the door (credentials, throttle): nothing ran, nothing to drop.
        refused = err instanceof HttpError && (err.status === 401 || err.status === 429);
        throw err;
      } finally {
        // Any other answer: a write that failed half-way may still have changed rows.
        if (!refused) {
          generation++;
          entries.clear();
        }
      }
    },
  };
};
