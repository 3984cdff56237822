/**
 * How the API fails: `{"message": "..."}` with DLRN's status codes. Handlers throw HttpError
 * (or our DlrnError classes, mapped here); anything unexpected is a 500 whose body holds only an
 * error id, with the message and stack in the log under that id.
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

const STATUS_OF: Partial<Record<string, number>> = {
  [ErrorType.InputError]: 400,
  [ErrorType.NotFoundError]: 400, // DLRN answers 400, never 404, for an unknown commit
  [ErrorType.GoneError]: 410,
  [ErrorType.ForbiddenError]: 403,
};

export const errorMiddleware =
  (logger: Logger) =>
  async (ctx: Context, next: Next): Promise<void> => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new HttpError(404, 'Not Found');
    } catch (err) {
      let status = 500;
      let message = 'Internal Server Error';
      let headers: Record<string, string> = {};
      if (err instanceof HttpError) {
        ({ status, message, headers } = err);
      } else if (err instanceof DlrnError && STATUS_OF[err.name]) {
        status = STATUS_OF[err.name] ?? 500;
        message = err.message;
      } else if (
        typeof (err as { status?: unknown }).status === 'number' &&
        (err as { expose?: boolean }).expose
      ) {
        // Koa's and the body parser's own client errors (bad JSON, too large).
        status = (err as { status: number }).status;
        message = (err as Error).message;
      } else if (err instanceof DlrnError && err.name === ErrorType.ToolError) {
        // A tool that failed on the server's side (a link that cannot be made): DLRN's 500 with
        // DLRN's message.
        logger.error({ err, path: ctx.path }, 'request failed');
        message = err.message;
      } else {
        // Anything else is a bug or an outage: the caller gets an id to quote, the log the rest.
        const id = randomBytes(8).toString('hex');
        logger.error({ err, path: ctx.path, errorId: id }, 'request failed');
        message = `Internal Server Error (error id ${id})`;
      }
      ctx.status = status;
      ctx.set(headers);
      ctx.body = { message };
    }
  };
