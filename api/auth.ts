/**
 * HTTP Basic authentication against DLRN's `users` table (SHA-512 crypt, compared in constant
 * time). Write endpoints always need it; read endpoints only with `protect_read_endpoints`.
 *
 * A SHA-512 crypt check at passlib's 656000 rounds costs about two seconds of CPU, so a verified
 * (user, password, stored hash) triple is remembered for ten minutes by its SHA-256: a changed
 * password or hash never matches a remembered one. Kerberos (`KrbAuthentication`) is not
 * supported: its requests get a 401 naming the missing driver.
 */
import { createHash } from 'node:crypto';
import type { Context, Next } from 'koa';
import { verifyPassword } from '../lib/auth/sha512-crypt.ts';
import type { ApiDeps, ApiState } from './context.ts';
import { HttpError } from './errors.ts';

const CHALLENGE = { 'WWW-Authenticate': 'Basic realm="DLRN API"' };
const REMEMBER_MS = 10 * 60_000;

const unauthorized = (message = 'Unauthorized Access') => new HttpError(401, message, CHALLENGE);

export const createAuthenticator = (deps: ApiDeps) => {
  const verified = new Map<string, number>();
  const check = async (username: string, password: string): Promise<boolean> => {
    const user = await deps.db.models.User.findByPk(username);
    if (!user) return false;
    const stored = user.getDataValue('password');
    const key = createHash('sha256').update(`${username}\0${password}\0${stored}`).digest('hex');
    const now = Date.now();
    if ((verified.get(key) ?? 0) > now) return true;
    if (!verifyPassword(password, stored)) return false;
    verified.set(key, now + REMEMBER_MS);
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
    if (!(await check(username, decoded.slice(colon + 1)))) throw unauthorized();
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
