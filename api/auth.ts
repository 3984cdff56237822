/**
 * HTTP Basic authentication against DLRN's `users` table (SHA-512 crypt, compared in constant
 * time). Write endpoints always need it; read endpoints only with `protect_read_endpoints`.
 *
 * A SHA-512 crypt check at passlib's 656000 rounds is close to a second of CPU, so:
 * - checks run on worker threads (lib/auth/verify-pool.ts), never on the event loop;
 * - a verified (user, password, stored hash) is remembered for ten minutes by its SHA-256, and a
 *   refused one for a minute: a changed password or hash (`dlrn-user --update`) never matches a
 *   remembered one, and a deleted user has no hash to match;
 * - one check per credential at a time: requests carrying credentials that are being checked wait
 *   for that check's answer (a burst of CI jobs sharing a user costs one check, not one each), and
 *   a remembered credential in use is checked again in the background two minutes before it
 *   expires, so steady traffic never meets a cold check;
 * - the guessing is throttled, not the user: a client that failed `CLIENT_FAILURES` times for a
 *   user in a minute gets 429 (Retry-After) for that user until the minute ends; while a user has
 *   failed `USER_FAILURES` times from anywhere, a client that already failed for them gets 429
 *   too, but a client with no failure (the CI job with the right password) never does. The
 *   client is the connection's address, or X-Forwarded-For's when the connection comes from one
 *   of `[api] trusted_proxies`;
 * - when every thread is busy and `maxQueued` different checks wait, 503 with Retry-After.
 * Kerberos (`KrbAuthentication`) is not supported: its requests get a 401 naming the missing
 * driver.
 */
import { createHash } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import type { Context, Next } from 'koa';
import { PoolBusyError, sharedVerifyPool } from '../lib/auth/verify-pool.ts';
import type { ApiDeps, ApiState } from './context.ts';
import { HttpError } from './errors.ts';
import { passwordHashOf } from '../lib/db/index.ts';

const CHALLENGE = { 'WWW-Authenticate': 'Basic realm="DLRN API"' };
const REMEMBER_MS = 10 * 60_000;
/** A remembered credential in use is checked again this long before it would expire. */
const REFRESH_BEFORE_MS = 2 * 60_000;
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
  const verified = expiring<{ until: number; refreshAt: number }>(now);
  const refused = expiring<{ until: number }>(now);
  const failures = expiring<{ until: number; count: number }>(now);

  const count = (key: string): number => failures.get(key)?.count ?? 0;

  /**
   * 429 for a guessing client: one that failed CLIENT_FAILURES times for this user this minute,
   * or failed once while the user is under attack (USER_FAILURES from anywhere). A client that has
   * not failed for the user is never throttled, whatever others do.
   */
  const throttle = (clientKey: string, userKey: string): void => {
    const mine = count(clientKey);
    if (mine === 0) return;
    if (mine < CLIENT_FAILURES && count(userKey) < USER_FAILURES) return;
    const entry = failures.get(mine >= CLIENT_FAILURES ? clientKey : userKey);
    const seconds = Math.max(1, Math.ceil(((entry?.until ?? now()) - now()) / 1000));
    throw new HttpError(429, 'Too many failed authentication attempts, retry later', {
      'Retry-After': String(seconds),
    });
  };
  const failed = (keys: string[]): void => {
    for (const key of keys) {
      const entry = failures.get(key);
      failures.set(key, { until: entry?.until ?? now() + WINDOW_MS, count: (entry?.count ?? 0) + 1 });
    }
  };

  /** One check of a credential at a time: a second asker waits for the first one's answer. */
  const inFlight = new Map<string, Promise<boolean>>();
  const verifyOnce = (key: string, password: string, stored: string): Promise<boolean> => {
    let checking = inFlight.get(key);
    if (!checking) {
      checking = pool.verify(password, stored).finally(() => inFlight.delete(key));
      inFlight.set(key, checking);
    }
    return checking;
  };
  const remember = (key: string): void => {
    const at = now();
    verified.set(key, { until: at + REMEMBER_MS, refreshAt: at + REMEMBER_MS - REFRESH_BEFORE_MS });
  };

  const check = async (username: string, password: string, client: string): Promise<boolean> => {
    // No user name holds a NUL (the database refuses one): not a user, without asking.
    if (username.includes('\u0000')) return false;
    const stored = await passwordHashOf(deps.db, username);
    if (stored === undefined) return false;
    const key = createHash('sha256').update(`${username}\0${password}\0${stored}`).digest('hex');
    const known = verified.get(key);
    if (known) {
      // In use near its end: checked again now, in the background, while it still counts.
      if (now() >= known.refreshAt && !inFlight.has(key))
        void verifyOnce(key, password, stored).then(
          (ok) => (ok ? remember(key) : verified.delete(key)),
          () => undefined,
        );
      return true;
    }
    const clientKey = `client\0${username}\0${client}`;
    const userKey = `user\0${username}`;
    throttle(clientKey, userKey);
    let ok = false;
    if (!refused.get(key)) {
      try {
        ok = await verifyOnce(key, password, stored);
      } catch (err) {
        if (!(err instanceof PoolBusyError)) throw err;
        throw new HttpError(503, 'Too many authentication attempts at once, retry later', {
          'Retry-After': '1',
        });
      }
    }
    if (!ok) {
      // Each request refused counts, even when several shared one check.
      refused.set(key, { until: now() + WINDOW_MS });
      failed([clientKey, userKey]);
      return false;
    }
    failures.delete(clientKey);
    remember(key);
    return true;
  };

  /**
   * The client a failure is counted against: the connection's address, or, when the connection
   * comes from one of `[api] trusted_proxies`, the nearest address in X-Forwarded-For that is not
   * a trusted proxy itself (as web frameworks read it). A client cannot pick its own address.
   */
  const trusted = new BlockList();
  for (const entry of deps.config.api.trustedProxies) {
    const [address = '', bits] = entry.split('/');
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) trusted.addAddress(address, family);
    else trusted.addSubnet(address, Number(bits), family);
  }
  const isTrusted = (address: string): boolean => {
    const plain = address.replace(/^::ffff:/, '');
    const family = isIP(plain) === 6 ? 'ipv6' : 'ipv4';
    return isIP(plain) !== 0 && trusted.check(plain, family);
  };
  const clientOf = (ctx: Context): string => {
    const peer = ctx.req.socket.remoteAddress ?? '';
    if (!isTrusted(peer)) return peer;
    const hops = ctx
      .get('X-Forwarded-For')
      .split(',')
      .map((h) => h.trim())
      .filter(Boolean);
    for (let i = hops.length - 1; i >= 0; i--) if (!isTrusted(hops[i] ?? '')) return hops[i] ?? peer;
    return hops[0] ?? peer;
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
    if (!(await check(username, decoded.slice(colon + 1), clientOf(ctx)))) throw unauthorized();
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
