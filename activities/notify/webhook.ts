/**
 * Outgoing webhooks (not in DLRN): a JSON POST to each `[api] webhook_urls` on a vote, a
 * promotion and a failed build. The deliverEvent workflow retries each URL on its own, so a
 * receiver that is down gets the event when it is back.
 */
import { createHmac } from 'node:crypto';
import { TransientBuildError } from '../../lib/domain/errors.ts';
import type { WebhookEventType } from '../../lib/domain/events.ts';
import type { ActivityDeps } from '../deps.ts';

export type { WebhookEventType } from '../../lib/domain/events.ts';

export interface WebhookEvent {
  event: WebhookEventType;
  /** Epoch seconds when it happened. */
  timestamp: number;
  data: Record<string, unknown>;
}

/** The URLs this instance sends events to (from the worker's projects.ini). */
export const webhookTargets = (deps: ActivityDeps): Promise<string[]> =>
  Promise.resolve(deps.config.api.webhookUrls);

/** POSTs the event; anything but a 2xx answer is an error, retried by the workflow. */
export const postWebhook = async (
  deps: ActivityDeps,
  input: { url: string; event: WebhookEvent },
): Promise<number> => {
  const body = JSON.stringify(input.event);
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'User-Agent': 'dlrn-temporal',
    'X-DLRN-Event': input.event.event,
  };
  const secret = deps.config.api.webhookSecret;
  if (secret)
    headers['X-DLRN-Signature'] = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
  let response: Response;
  try {
    response = await fetch(input.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(30_000) });
  } catch (err) {
    throw new TransientBuildError(`webhook ${input.url}: ${(err as Error).message}`, { cause: err });
  }
  if (response.status < 200 || response.status >= 300)
    throw new TransientBuildError(`webhook ${input.url} answered HTTP ${response.status}`);
  return response.status;
};
