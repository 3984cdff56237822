/**
 * How the API fails: `{"message": "..."}` with DLRN's status codes, decided here and nowhere else.
 *
 * - Handlers throw the project's domain errors (lib/domain/errors.ts); `STATUS_OF` maps each to
 *   DLRN's status, and the caller reads the error's own message.
 * - `HttpError` is only for what HTTP alone has: an authentication challenge, a rate limit, a
 *   body too large, a media type, a service this server was not given.
 * - Anything else is a bug or an outage: a 500 whose body holds only an error id, with the
 *   message and stack in the log under that id.
 */
import { randomBytes } from 'node:crypto';
import type { Context, Next } from 'koa';
import { DlrnError, ErrorType } from '../lib/domain/errors.ts';
import type { Logger } from '../lib/logger.ts';

export class HttpError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;

  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.headers = headers;
  }
}

/** The domain errors a caller may see, with their statuses; the rest are unknown 500s. */
const STATUS_OF: Partial<Record<string, number>> = {
  [ErrorType.InputError]: 400,
  [ErrorType.NotFoundError]: 400, // DLRN answers 400, never 404, for an unknown commit or vote
  [ErrorType.GoneError]: 410,
  [ErrorType.ForbiddenError]: 403,
  [ErrorType.ConflictError]: 409,
  // A tool or a workflow that failed on the server's side (a link that cannot be made, a batch
  // rolled back): DLRN's 500 with DLRN's message, logged too.
  [ErrorType.ToolError]: 500,
};

interface ErrorAnswer {
  status: number;
  message: string;
  headers?: Record<string, string>;
}

/** The answer to a request that threw `err`; logs what the operator must see. */
const answerOf = (err: unknown, ctx: Context, logger: Logger): ErrorAnswer => {
  if (err instanceof HttpError) return err;
  const status = err instanceof DlrnError ? STATUS_OF[err.name] : undefined;
  if (status !== undefined) {
    if (status >= 500) logger.error({ err, path: ctx.path }, 'request failed');
    return { status, message: (err as DlrnError).message };
  }
  const { status: koaStatus, expose } = (err ?? {}) as { status?: unknown; expose?: boolean };
  // Koa's and the body parser's own client errors (bad JSON, too large).
  if (typeof koaStatus === 'number' && expose) return { status: koaStatus, message: (err as Error).message };
  const id = randomBytes(8).toString('hex');
  logger.error({ err, path: ctx.path, errorId: id }, 'request failed');
  return { status: 500, message: `Internal Server Error (error id ${id})` };
};

export const errorMiddleware =
  (logger: Logger) =>
  async (ctx: Context, next: Next): Promise<void> => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new HttpError(404, 'Not Found');
    } catch (err) {
      const { status, message, headers = {} } = answerOf(err, ctx, logger);
      ctx.status = status;
      ctx.set(headers);
      ctx.body = { message };
    }
  };
