/** CLI commands for webhook endpoints (secrets shown once), their delivery log, redelivery and test events. */
import type { Command } from "commander";
import { action, type Obj } from "./helpers.js";
import { printObject, printTable } from "./output.js";

const events = (v: string) =>
  v
    .split(",")
    .map((e) => e.trim())
    .filter(Boolean);

function secretNotice(e: Obj): void {
  printObject({ id: e.id, url: e.url, events: (e.events as string[]).join(",") || "(every event)" });
  process.stdout.write(
    `secret: ${e.secret}\n\nCopy the secret now: it is never shown again. Verify each request's webhook-signature with it (Standard Webhooks).\n`,
  );
}

const printEndpoints = (body: { items: Obj[] }) =>
  printTable(
    body.items.map((e) => ({ ...e, events: (e.events as string[]).join(",") || "(every event)" })),
    { id: "ID", url: "URL", events: "EVENTS", status: "STATUS" },
  );

export function registerWebhookCommands(program: Command): void {
  const webhooks = program
    .command("webhooks")
    .description("endpoints that hear about the account's files, signed (Standard Webhooks)");
  webhooks
    .command("create <url>")
    .description("add an endpoint: where events are POSTed, https://… (its signing secret is shown once)")
    .option("--events <list>", "comma-separated event types (default: every event)", events)
    .option("--description <text>", "what it is for")
    .action(
      action(
        (api, url: string, o: Obj) =>
          api.request("POST", "/api/v1/webhooks", {
            url,
            ...(o.events ? { events: o.events } : {}),
            ...(o.description ? { description: o.description } : {}),
          }),
        secretNotice,
      ),
    );
  webhooks
    .command("list")
    .description("the account's endpoints")
    .action(action((api) => api.request("GET", "/api/v1/webhooks"), printEndpoints));
  webhooks
    .command("update <id>")
    .description("change an endpoint's URL or events, or disable/enable it")
    .option("--to <url>", "a new URL")
    .option("--events <list>", "comma-separated event types (empty: every event)", events)
    .option("--disable", "stop sending to it")
    .option("--enable", "send to it again")
    .action(
      action(
        (api, id: string, o: Obj) =>
          api.request("PATCH", `/api/v1/webhooks/${encodeURIComponent(id)}`, {
            ...(o.to ? { url: o.to } : {}),
            ...(o.events ? { events: o.events } : {}),
            ...(o.disable ? { status: "disabled" } : o.enable ? { status: "active" } : {}),
          }),
        printObject,
      ),
    );
  webhooks
    .command("rotate-secret <id>")
    .description("a new signing secret (shown once); the old one also signs for 24 hours")
    .action(
      action(
        (api, id: string) => api.request("POST", `/api/v1/webhooks/${encodeURIComponent(id)}/rotate-secret`),
        secretNotice,
      ),
    );
  webhooks
    .command("test <id>")
    .description("send a webhook.test event to the endpoint")
    .action(
      action(
        (api, id: string) => api.request("POST", `/api/v1/webhooks/${encodeURIComponent(id)}/test`),
        printObject,
      ),
    );
  webhooks
    .command("deliveries <id>")
    .description("the endpoint's delivery log, newest first")
    .action(
      action(
        (api, id: string) => api.request("GET", `/api/v1/webhooks/${encodeURIComponent(id)}/deliveries`),
        (body: { items: Obj[] }) =>
          printTable(body.items, {
            id: "ID",
            eventType: "EVENT",
            status: "STATUS",
            attempts: "ATTEMPTS",
            responseCode: "CODE",
            lastError: "ERROR",
            createdAt: "CREATED",
          }),
      ),
    );
  webhooks
    .command("redeliver <deliveryId>")
    .description("send a delivery again")
    .action(
      action(
        (api, id: string) =>
          api.request("POST", `/api/v1/webhook-deliveries/${encodeURIComponent(id)}/redeliver`),
        printObject,
      ),
    );
}
