/** Starting workflows from the API, and turning their failures into DLRN's answers. */
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { randomBytes } from 'node:crypto';
import type { WebhookEventType } from '../lib/domain/events.ts';
import type { deliverEvent } from '../workflows/deliver-event.ts';
import { nowSeconds, type ApiDeps } from './context.ts';
import { plain } from './json.ts';
import { HttpError } from './errors.ts';
import { causesOf, eventWorkflowId } from '../lib/domain/temporal-names.ts';
import { ToolError } from '../lib/domain/errors.ts';

export const requireTemporal = (deps: ApiDeps): NonNullable<ApiDeps['temporal']> => {
  if (!deps.temporal) throw new HttpError(503, 'Temporal is not configured for this API server');
  return deps.temporal;
};

/**
 * A workflow that failed, as DLRN's 500 with a message: the outermost application failure's (the
 * workflow's own words), after `prefix`. Anything else (Temporal unreachable, a bug) is not a
 * workflow's answer and is rethrown as it came, an unknown 500.
 */
export const workflowError = (err: unknown, prefix = ''): ToolError => {
  if (!(err instanceof WorkflowFailedError)) throw err;
  const failure = causesOf(err).find((c): c is ApplicationFailure => c instanceof ApplicationFailure);
  return new ToolError(`${prefix}${failure?.message ?? err.message}`, { cause: err });
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
      workflowId: eventWorkflowId(event, timestamp * 1000, randomBytes(4).toString('hex')),
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
