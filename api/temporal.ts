/** Starting workflows from the API, and turning their failures into DLRN's answers. */
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { ApiDeps } from './context.ts';
import { HttpError } from './errors.ts';

export const requireTemporal = (deps: ApiDeps): NonNullable<ApiDeps['temporal']> => {
  if (!deps.temporal) throw new HttpError(503, 'Temporal is not configured for this API server');
  return deps.temporal;
};

/**
 * A failed workflow's answer: the root application failure's message, with the status code its
 * details carry (the failing step's), else 500.
 */
export const workflowError = (err: unknown): HttpError => {
  if (!(err instanceof WorkflowFailedError)) return new HttpError(500, (err as Error).message);
  let failure: ApplicationFailure | undefined;
  for (let cause: unknown = err.cause; cause instanceof Error; cause = cause.cause) {
    if (cause instanceof ApplicationFailure) {
      failure = cause;
      break;
    }
  }
  const status = (failure?.details?.[0] as { status?: number } | undefined)?.status ?? 500;
  return new HttpError(status, failure?.message ?? err.message);
};
