/**
 * The answers CI systems poll (`repo_status`, `last_tested_repo`), kept briefly. Each answer names
 * what it depends on (`ctx.state.cacheTags`: a commit's votes, any vote, the promotions) and each
 * write what it changed (`ctx.state.changed`), so a vote drops the answers about its commit and
 * the newest-vote answers, not every answer; a write that says nothing (a promotion, a recheck, a
 * failure half-way) drops them all. A job sees its own vote on its next request; writes by other
 * processes (a builder's `consistent` vote, another API instance) show after at most
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
  /** What the answer depends on (api/context.ts `cacheTags`). */
  tags: string[];
}

/** The tag of answers that depend on anything (a route that names none), and of every write. */
const ANYTHING = '*';

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
  /** The keys of the entries that depend on each tag. */
  const byTag = new Map<string, Set<string>>();
  const inFlight = new Map<string, Promise<Entry | undefined>>();
  // Writes in order: the last one that dropped everything, and the last one that changed each tag,
  // so an answer made while a write changed what it depends on is not kept.
  let writes = 0;
  let droppedAllAt = 0;
  const changedAt = new Map<string, number>();

  const forget = (key: string): void => {
    const entry = entries.get(key);
    if (!entry) return;
    entries.delete(key);
    for (const tag of entry.tags) byTag.get(tag)?.delete(key);
  };
  const keep = (key: string, entry: Entry): void => {
    forget(key);
    entries.set(key, entry);
    for (const tag of entry.tags) {
      const keys = byTag.get(tag) ?? new Set<string>();
      keys.add(key);
      byTag.set(tag, keys);
    }
    if (entries.size > MAX_ENTRIES) {
      const oldest = entries.keys().next();
      if (!oldest.done) forget(oldest.value);
    }
  };
  const drop = (changed: string[] | undefined): void => {
    writes++;
    if (!changed) {
      droppedAllAt = writes;
      entries.clear();
      byTag.clear();
      changedAt.clear();
      return;
    }
    for (const tag of [...changed, ANYTHING]) {
      changedAt.set(tag, writes);
      for (const key of [...(byTag.get(tag) ?? [])]) forget(key);
    }
  };
  const changedSince = (tags: string[], since: number): boolean =>
    droppedAllAt > since || [...tags, ANYTHING].some((tag) => (changedAt.get(tag) ?? 0) > since);

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
      const started = writes;
      let made: Entry | undefined;
      try {
        await next();
        const tags = ctx.state.cacheTags ?? [ANYTHING];
        // A write that changed what this answer depends on while it was made: not kept.
        if (ctx.status === 200 && !changedSince(tags, started)) {
          // Kept as the text sent, so a hit costs no serialization.
          if (isJsonBody(ctx.body)) {
            ctx.type = 'application/json';
            ctx.body = jsonText(ctx.body);
          }
          made = { until: now() + ttlMs, body: ctx.body, type: ctx.type, tags };
          keep(key, made);
        }
      } finally {
        inFlight.delete(key);
        // Nothing is being made: the record of what changed has served its purpose.
        if (inFlight.size === 0) changedAt.clear();
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
        // What the route says it changed, when it did not fail; anything else (a write that failed
        // half-way may still have changed rows, a route that says nothing): every entry goes.
        if (!refused) drop(ctx.status < 400 ? (ctx.state as ApiState).changed : undefined);
      }
    },
  };
};
