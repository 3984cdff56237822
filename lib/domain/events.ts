/** The events outgoing webhooks carry (activities/notify/webhook.ts), named by the API too. */
export type WebhookEventType = 'vote' | 'promotion' | 'build_failed';
