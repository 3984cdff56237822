/**
 * Request parameters as DLRN's API reads them: from the query string and from a JSON body (the
 * body is deprecated for GET in DLRN, still accepted), unknown ones ignored, with pydantic v1's
 * coercions (numeric strings for ints; true/false/1/0/yes/no/on/off/t/f/y/n for booleans). A bad
 * or missing parameter is a 400 naming it, in DLRN's words: `Errors detected: N {...}`.
 */
import type { Context } from 'koa';
import { z } from 'zod';
import { HttpError } from './errors.ts';
import { InputError } from '../lib/domain/errors.ts';

const TRUE = new Set(['true', '1', 'yes', 'on', 't', 'y']);
const FALSE = new Set(['false', '0', 'no', 'off', 'f', 'n']);

/** A boolean as pydantic v1 reads one. */
export const bool = z.union([z.boolean(), z.number(), z.string()]).transform((v, ctx) => {
  const text = String(v).toLowerCase();
  if (TRUE.has(text)) return true;
  if (FALSE.has(text)) return false;
  ctx.addIssue({ code: 'custom', message: 'value could not be parsed to a boolean' });
  return z.NEVER;
});

/** The range of DLRN's integer columns (32 bits on PostgreSQL and MariaDB). */
const INT_MIN = -(2 ** 31);
const INT_MAX = 2 ** 31 - 1;

/**
 * An integer, from a number or a numeric string, within the columns' range: a larger one would
 * reach the database as a type error (a 500) instead of a 400 naming the parameter.
 */
export const int = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const n = typeof v === 'number' ? v : v.trim() === '' ? NaN : Number(v);
  if (!Number.isInteger(n)) {
    ctx.addIssue({ code: 'custom', message: 'value is not a valid integer' });
    return z.NEVER;
  }
  if (n > INT_MAX || n < INT_MIN) {
    ctx.addIssue({
      code: 'custom',
      message:
        n > INT_MAX
          ? `ensure this value is less than or equal to ${INT_MAX}`
          : `ensure this value is greater than or equal to ${INT_MIN}`,
    });
    return z.NEVER;
  }
  return n;
});

/** A string; numbers are not strings here ("strict string" in DLRN's models). */
export const str = z.string({
  error: (issue) => (issue.input === undefined ? 'field required' : 'str type expected'),
});

/** Query string and JSON body together; the body wins on a clash. */
export const rawParams = (ctx: Context): Record<string, unknown> => {
  const query: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(ctx.query))
    query[key] = Array.isArray(value) ? value.at(-1) : value;
  const body = (ctx.request as { body?: unknown }).body;
  return body && typeof body === 'object' && !Array.isArray(body) ? { ...query, ...body } : query;
};

const describe = (error: z.ZodError): string => {
  const fields = new Map<string, string>();
  for (const issue of error.issues) {
    const key = issue.path.join('.') || '__root__';
    if (!fields.has(key))
      fields.set(
        key,
        issue.input === undefined && issue.code === 'invalid_type' ? 'field required' : issue.message,
      );
  }
  const entries = [...fields].map(([k, v]) => `'${k}': '${v}'`).join(', ');
  return `Errors detected: ${fields.size} {${entries}}`;
};

/** The parameters checked against `schema`; a 400 naming every bad one otherwise. */
export const parseParams = <S extends z.ZodType>(
  ctx: Context,
  schema: S,
  raw = rawParams(ctx),
): z.output<S> => {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new InputError(describe(parsed.error));
  return parsed.data;
};

/** DLRN's gate on JSON POST endpoints: the content type must be exactly application/json. */
export const requireJson = (ctx: Context): void => {
  if (ctx.get('Content-Type') !== 'application/json')
    throw new HttpError(415, 'Unsupported Media Type, use JSON');
};
