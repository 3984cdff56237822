import type { Duration } from '@temporalio/common';
import { proxyActivities } from '@temporalio/workflow';
import type { Activities, WebhookEvent } from '../activities/index.ts';

interface DeliverEventInput {
  event: WebhookEvent;
  /** First retry delay (tests shorten it). */
  retryInterval?: string;
}

const { webhookTargets } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  heartbeatTimeout: '20 seconds',
  retry: { maximumAttempts: 5 },
});

/**
 * Sends one event to every webhook URL, each retried on its own with backoff for up to three
 * days: a receiver that is down or failing gets the event when it is back, and a bad receiver
 * never holds up the others. Started by the API (votes, promotions) and by failed builds,
 * which do not wait for it.
 */
export async function deliverEvent(input: DeliverEventInput): Promise<{ delivered: string[] }> {
  const urls = await webhookTargets();
  const { postWebhook } = proxyActivities<Activities>({
    startToCloseTimeout: '1 minute',
    heartbeatTimeout: '20 seconds',
    scheduleToCloseTimeout: '3 days',
    retry: {
      // No attempt limit: the three days of scheduleToCloseTimeout bound the retries.
      initialInterval: (input.retryInterval ?? '10 seconds') as Duration,
      backoffCoefficient: 2,
      maximumInterval: '1 hour',
    },
  });
  await Promise.all(urls.map((url) => postWebhook({ url, event: input.event })));
  return { delivered: urls };
}
