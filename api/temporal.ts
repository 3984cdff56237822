/** Starting workflows from the API, and turning their failures into DLRN's answers. */
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { randomBytes } from 'node:crypto';
import type { WebhookEventType } from '../lib/domain/events.ts';
import type { deliverEvent } from '../workflows/deliver-event.ts';
import { nowSeconds, type ApiDeps } from './context.ts';
import { plain } from './json.ts';
import { HttpError } from './errors.ts';
import { causesOf } from '../lib/domain/temporal-names.ts';

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
  // The outermost application failure: the workflow's own, which carries the step's status.
  const failure = causesOf(err).find((c): c is ApplicationFailure => c instanceof ApplicationFailure);
  const status = (failure?.details?.[0] as { status?: number } | undefined)?.status ?? 500;
  return new HttpError(status, failure?.message ?? err.message);
};

/**
 * Starts the deliverEvent workflow for a vote or a promotion when webhooks are configured, and
 * does not wait for it: the receivers' retries never slow the API down, and a failure to start
 * it is logged, never turned into the request's error.
 */
export const emitEvent = async (
  deps: ApiDeps,
  event: WebhookEventType,
  data: Record<string, unknown>,
): Promise<void> => {
  if (!deps.temporal || deps.config.api.webhookUrls.length === 0) return;
  const timestamp = Math.trunc(nowSeconds(deps));
  try {
    await deps.temporal.client.workflow.start<typeof deliverEvent>('deliverEvent', {
      taskQueue: deps.temporal.taskQueue,
      workflowId: `event:${event}:${new Date(timestamp * 1000).toISOString()}:${randomBytes(4).toString('hex')}`,
      args: [
        {
          event: { event, timestamp, data: plain(data) },
          ...(deps.webhookRetryInterval ? { retryInterval: deps.webhookRetryInterval } : {}),
        },
      ],
    });
  } catch (err) {
    deps.logger.error({ err, event }, 'cannot start the webhook delivery');
  }
};
