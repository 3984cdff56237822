/**
 * HTTP Basic authentication against DLRN's `users` table (SHA-512 crypt, compared in constant
 * time). Write endpoints always need it; read endpoints only with `protect_read_endpoints`.
 *
 * A SHA-512 crypt check at passlib's 656000 rounds is close to a second of CPU, so:
 * - checks run on worker threads (lib/auth/verify-pool.ts), never on the event loop;
 * - a verified (user, password, stored hash) is remembered for ten minutes by its SHA-256, and a
 *   refused one for a minute: a changed password or hash (`dlrn-user --update`) never matches a
 *   remembered one, and a deleted user has no hash to match;
 * - failures are counted per user and client, and per user: past `CLIENT_FAILURES` (or
 *   `USER_FAILURES`) in a minute, the next attempts get 429 with Retry-After until the minute ends,
 *   without any check; when every thread is busy and `maxQueued` checks wait, 503 with Retry-After.
 * Kerberos (`KrbAuthentication`) is not supported: its requests get a 401 naming the missing
 * driver.
 */
import { createHash } from 'node:crypto';
import type { Context, Next } from 'koa';
import { PoolBusyError, sharedVerifyPool } from '../lib/auth/verify-pool.ts';
import type { ApiDeps, ApiState } from './context.ts';
import { HttpError } from './errors.ts';
import { passwordHashOf } from '../lib/db/index.ts';

const CHALLENGE = { 'WWW-Authenticate': 'Basic realm="DLRN API"' };
const REMEMBER_MS = 10 * 60_000;
const WINDOW_MS = 60_000;
/** Failed attempts of one user from one client, then of one user from anywhere, per window. */
export const CLIENT_FAILURES = 5;
export const USER_FAILURES = 20;
/** Entries kept in each memory; the oldest go first beyond it. */
const MAX_REMEMBERED = 10_000;

const unauthorized = (message = 'Unauthorized Access') => new HttpError(401, message, CHALLENGE);

/** A map whose entries end at a time, holding at most MAX_REMEMBERED of them. */
const expiring = <V extends { until: number }>(now: () => number) => {
  const entries = new Map<string, V>();
  return {
    get(key: string): V | undefined {
      const entry = entries.get(key);
      if (!entry || entry.until > now()) return entry;
      entries.delete(key);
      return undefined;
    },
    set(key: string, value: V): void {
      entries.delete(key);
      entries.set(key, value);
      if (entries.size <= MAX_REMEMBERED) return;
      for (const [k, v] of entries) if (v.until <= now()) entries.delete(k);
      // Still full: the oldest entries go (a Map iterates in insertion order).
      for (const k of entries.keys()) {
        if (entries.size <= MAX_REMEMBERED) break;
        entries.delete(k);
      }
    },
    delete: (key: string): boolean => entries.delete(key),
  };
};

export const createAuthenticator = (deps: ApiDeps) => {
  const now = () => (deps.now ?? Date.now)();
  const pool = deps.verifyPool ?? sharedVerifyPool();
  const verified = expiring<{ until: number }>(now);
  const refused = expiring<{ until: number }>(now);
  const failures = expiring<{ until: number; count: number }>(now);

  /** 429 when this user, from this client or from anywhere, failed too often this minute. */
  const throttle = (keys: [string, number][]): void => {
    for (const [key, limit] of keys) {
      const entry = failures.get(key);
      if (entry && entry.count >= limit) {
        const seconds = Math.max(1, Math.ceil((entry.until - now()) / 1000));
        throw new HttpError(429, 'Too many failed authentication attempts, retry later', {
          'Retry-After': String(seconds),
        });
      }
    }
  };
  const failed = (keys: [string, number][]): void => {
    for (const [key] of keys) {
      const entry = failures.get(key);
      failures.set(key, { until: entry?.until ?? now() + WINDOW_MS, count: (entry?.count ?? 0) + 1 });
    }
  };

  const check = async (username: string, password: string, client: string): Promise<boolean> => {
    // No user name holds a NUL (the database refuses one): not a user, without asking.
    if (username.includes('\u0000')) return false;
    const stored = await passwordHashOf(deps.db, username);
    if (stored === undefined) return false;
    const key = createHash('sha256').update(`${username}\0${password}\0${stored}`).digest('hex');
    if (verified.get(key)) return true;
    const clientKey = `client\0${username}\0${client}`;
    const limits: [string, number][] = [
      [clientKey, CLIENT_FAILURES],
      [`user\0${username}`, USER_FAILURES],
    ];
    throttle(limits);
    let ok = false;
    if (!refused.get(key)) {
      try {
        ok = await pool.verify(password, stored);
      } catch (err) {
        if (!(err instanceof PoolBusyError)) throw err;
        throw new HttpError(503, 'Too many authentication attempts at once, retry later', {
          'Retry-After': '1',
        });
      }
    }
    if (!ok) {
      refused.set(key, { until: now() + WINDOW_MS });
      failed(limits);
      return false;
    }
    failures.delete(clientKey);
    verified.set(key, { until: now() + REMEMBER_MS });
    return true;
  };

  /** The user of the request's credentials; throws 401 without valid ones. */
  const authenticate = async (ctx: Context): Promise<string> => {
    const header = ctx.get('Authorization');
    const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    if (match && !deps.config.api.authDrivers.includes('DBAuthentication'))
      throw unauthorized('Basic authentication is not enabled ([api] auth_drivers lacks DBAuthentication)');
    if (!match) {
      if (/^Negotiate\s/i.test(header))
        throw unauthorized('Kerberos authentication is not supported by this server');
      throw unauthorized();
    }
    const decoded = Buffer.from(match[1] ?? '', 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw unauthorized();
    const username = decoded.slice(0, colon);
    if (!(await check(username, decoded.slice(colon + 1), ctx.ip))) throw unauthorized();
    return username;
  };

  /** Middleware for write endpoints. */
  const write = async (ctx: Context & { state: ApiState }, next: Next): Promise<void> => {
    ctx.state.user = await authenticate(ctx);
    await next();
  };

  /** Middleware for read endpoints: anonymous unless `protect_read_endpoints`. */
  const read = async (ctx: Context & { state: ApiState }, next: Next): Promise<void> => {
    if (deps.config.api.protectReadEndpoints) ctx.state.user = await authenticate(ctx);
    await next();
  };

  return { write, read };
};
