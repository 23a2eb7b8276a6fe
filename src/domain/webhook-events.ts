/** The webhook events (domain/webhooks.ts): here alone, so the API schemas and the web page share them. */
/** Every event an endpoint can ask for. */
export const WEBHOOK_EVENTS = [
  "file.received",
  "file.duplicate",
  "file.processed",
  "file.partial",
  "file.rejected",
  "file.validated",
  "file.failed",
  "file.missing",
  "file.generated",
  "file.delivered",
  "file.delivery_failed",
  "pull.failing",
  "pull.recovered",
  "connection.host_key_changed",
  "webhook.test",
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];
