/**
 * Webhooks end to end: a running Ferry, an HTTP receiver started here that verifies every request with the
 * Standard Webhooks library (as a customer's would), files uploaded through the API. Events arrive signed,
 * a failed delivery is retried and logged, the secret rotates with both signatures for a while, a test event
 * goes whatever the filter, and another account sees nothing. Prints the delivery latency from "processed"
 * (the transfer's processedAt) to the receiver.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../helpers/db.js";
import { apiCall, clicksLogin, type RunningFerry, runCli, startServe } from "../helpers/ferry.js";
import { type MailSink, startMailSink } from "../helpers/mail-sink.js";

const ADMIN = `webhooks_admin_${randomBytes(8).toString("hex")}`;
let dir: string;
let database: { url: string; drop: () => Promise<void> };
let ferry: RunningFerry;
let receiver: http.Server;
let sink: MailSink;
let receiverUrl: string;
let token: string;
let connectionId: string;
let accountId: string;
let program: { campaignId: string; partnerId: string };

/** A clicks file of these click ids, for the account's campaign and partner. */
const clicks = (...ids: string[]) =>
  `ClickId,CampaignId,MediaId,EventDate\n${ids
    .map(
      (id) =>
        `${id},${program.campaignId},${program.partnerId},${new Date(Date.now() - 3600_000).toISOString()}`,
    )
    .join("\n")}\n`;

interface Received {
  type: string;
  data: Record<string, unknown>;
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}
const received: Received[] = [];
/** Answers to give, in turn, before 204s: e.g. [500] fails the next request once. */
const answers: number[] = [];

const api = (method: string, p: string, body?: unknown) => apiCall(ferry.url, token, method, p, body);

async function until<T>(find: () => T | undefined, ms = 30_000): Promise<T> {
  for (const start = Date.now(); ; ) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() - start > ms) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function upload(name: string, body: string) {
  const res = await fetch(`${ferry.url}/api/v1/connections/${connectionId}/files?name=${name}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/octet-stream" },
    body,
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "ferry-webhooks-"));
  database = await createTestDatabase();
  receiver = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => {
      body += d;
    });
    req.on("end", () => {
      const parsed = JSON.parse(body);
      received.push({ type: parsed.type, data: parsed.data, headers: req.headers, body, at: Date.now() });
      res.statusCode = answers.shift() ?? 204;
      res.end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hooks`;
  sink = await startMailSink();
  ferry = await startServe({
    FERRY_SMTP_RELAY_URL: sink.url,
    DATABASE_URL: database.url,
    FERRY_DATA_DIR: path.join(dir, "data"),
    FERRY_ADMIN_TOKEN: ADMIN,
    FERRY_LOG_LEVEL: "warn",
    // The receiver is on this machine: a private address, which Ferry refuses by default.
    FERRY_REMOTE_ALLOW_PRIVATE: "127.0.0.1",
    FERRY_WEBHOOK_RETRY_SECONDS: "1",
  });
  const account = await clicksLogin(ferry.url, ADMIN, ["sftp"]);
  token = account.token;
  connectionId = account.connections.sftp.id;
  accountId = account.accountId;
  const campaign = await api("POST", "/api/v1/campaigns", { name: "Spring", currency: "USD" });
  const partner = await api("POST", "/api/v1/partners", { name: "Partner A" });
  program = { campaignId: campaign.id, partnerId: partner.id };
}, 120_000);

afterAll(async () => {
  await ferry?.stop();
  receiver?.close();
  await sink?.close();
  await database?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe("webhooks", () => {
  let endpoint: { id: string; secret: string };

  it("signs every event (Standard Webhooks), retries a failed delivery and logs each attempt", async () => {
    endpoint = await api("POST", "/api/v1/webhooks", {
      url: receiverUrl,
      events: ["file.received", "file.processed", "file.partial", "file.rejected", "file.failed"],
    });
    expect(endpoint.secret).toMatch(/^whsec_[A-Za-z0-9+/=]{40,}$/);
    expect(JSON.stringify(await api("GET", `/api/v1/webhooks/${endpoint.id}`))).not.toContain("whsec_");

    await api("POST", `/api/v1/webhooks/${endpoint.id}/test`);
    const test = await until(() => received.find((r) => r.type === "webhook.test"));
    expect(
      new Webhook(endpoint.secret).verify(test.body, test.headers as Record<string, string>),
    ).toMatchObject({
      type: "webhook.test",
    });

    answers.push(204, 500); // file.received goes through; the first try of file.processed fails.
    const id = await upload("clicks.csv", clicks("c1", "c2"));
    const processed = await until(() =>
      received.find((r) => r.type === "file.processed" && r.data.transferId === id),
    );
    const receivedEvent = received.find((r) => r.type === "file.received" && r.data.transferId === id)!;
    for (const r of [receivedEvent, processed]) {
      expect(new Webhook(endpoint.secret).verify(r.body, r.headers as Record<string, string>)).toBeTruthy();
    }
    expect(processed.data).toMatchObject({
      connectionId,
      fileName: "clicks.csv",
      status: "processed",
      rows: { total: 2, ok: 2, error: 0 },
    });
    // A forged or altered request does not verify.
    expect(() =>
      new Webhook(endpoint.secret).verify(
        processed.body.replace("clicks", "clickz"),
        processed.headers as never,
      ),
    ).toThrow();
    const tries = await until(() => {
      const all = received.filter((r) => r.type === "file.processed" && r.data.transferId === id);
      return all.length >= 2 ? all : undefined;
    });
    expect(tries.length).toBe(2);
    expect(tries[0]!.headers["webhook-id"]).toBe(tries[1]!.headers["webhook-id"]);

    type Logged = { eventType: string; status: string; payload: { data: { transferId: string } } };
    let entry: Logged | undefined;
    for (let i = 0; i < 100 && entry?.status !== "succeeded"; i++) {
      if (i) await new Promise((r) => setTimeout(r, 100));
      const log: Logged[] = (await api("GET", `/api/v1/webhooks/${endpoint.id}/deliveries`)).items;
      entry = log.find((d) => d.eventType === "file.processed" && d.payload.data.transferId === id);
    }
    expect(entry).toMatchObject({ attempts: 2, responseCode: 204, lastError: null });
  });

  it("rotates the secret: for a day both sign, so a receiver with either verifies", async () => {
    const rotated = await api("POST", `/api/v1/webhooks/${endpoint.id}/rotate-secret`);
    expect(rotated.secret).not.toBe(endpoint.secret);
    const id = await upload("again.csv", clicks("r1"));
    const event = await until(() =>
      received.find((r) => r.type === "file.processed" && r.data.transferId === id),
    );
    expect((event.headers["webhook-signature"] as string).split(" ")).toHaveLength(2);
    for (const secret of [rotated.secret, endpoint.secret]) {
      expect(new Webhook(secret).verify(event.body, event.headers as Record<string, string>)).toBeTruthy();
    }
    endpoint = rotated;
  });

  it("redelivers from the log, keeps to the event filter, and is the account's own", async () => {
    const log = (await api("GET", `/api/v1/webhooks/${endpoint.id}/deliveries`)).items;
    const first = log.at(-1);
    const before = received.length;
    const again = await api("POST", `/api/v1/webhook-deliveries/${first.id}/redeliver`);
    expect(again.status).toBe("pending");
    await until(() => (received.length > before ? true : undefined));
    expect(received.at(-1)!.headers["webhook-id"]).toBe(first.eventId);

    // Only processed files from now on: a received event is no longer sent.
    await api("PATCH", `/api/v1/webhooks/${endpoint.id}`, { events: ["file.processed"] });
    const id = await upload("filtered.csv", clicks("f1"));
    await until(() => received.find((r) => r.type === "file.processed" && r.data.transferId === id));
    expect(received.some((r) => r.type === "file.received" && r.data.transferId === id)).toBe(false);

    const other = await clicksLogin(ferry.url, ADMIN, ["sftp"]);
    const theirs = await fetch(`${ferry.url}/api/v1/webhooks/${endpoint.id}`, {
      headers: { authorization: `Bearer ${other.token}` },
    });
    expect(theirs.status).toBe(404);
    const redeliverTheirs = await fetch(`${ferry.url}/api/v1/webhook-deliveries/${first.id}/redeliver`, {
      method: "POST",
      headers: { authorization: `Bearer ${other.token}` },
    });
    expect(redeliverTheirs.status).toBe(404);
  });

  it("is managed from the CLI too: the secret once, the list and the log without it", async () => {
    const env = { FERRY_URL: ferry.url, FERRY_TOKEN: token };
    const made = await runCli(["webhooks", "create", `${receiverUrl}/cli`, "--events", "file.failed"], env);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toMatch(/^secret: whsec_/m);
    const list = await runCli(["webhooks", "list"], env);
    expect(list.stdout).toContain(`${receiverUrl}/cli`);
    expect(list.stdout).toContain("file.failed");
    expect(list.stdout).not.toContain("whsec_");
    const log = await runCli(["webhooks", "deliveries", endpoint.id], env);
    expect(log.code).toBe(0);
    expect(log.stdout).toMatch(/file\.processed\s+succeeded/);
    const wrong = await runCli(["webhooks", "create", receiverUrl, "--events", "file.exploded"], env);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/events/);
  });

  it("mails a subscribed user what happened, at once, with a link to the connection", async () => {
    const user = await apiCall(ferry.url, ADMIN, "POST", `/api/v1/accounts/${accountId}/users`, {
      login: "ops@partner.example",
    });
    const sub = await api("POST", "/api/v1/notifications", {
      userId: user.id,
      connectionId,
      events: ["file.processed", "file.failed"],
    });
    expect(sub).toMatchObject({ email: "ops@partner.example", mode: "immediate" });
    const latencies: number[] = [];
    for (let i = 0; i < 5; i++) {
      const id = await upload(`mail${i}.csv`, clicks(`m${i}`));
      const mail = await until(() => sink.mails.find((m) => m.subject.includes(`mail${i}.csv`)));
      const transfer = await api("GET", `/api/v1/transfers/${id}`);
      latencies.push(mail.at - new Date(transfer.processedAt).getTime());
      expect(mail.to).toEqual(["ops@partner.example"]);
      expect(mail.subject).toMatch(
        new RegExp(`^Ferry: mail${i}\\.csv on ".*" was processed \\(1 of 1 rows taken\\)$`),
      );
      expect(mail.text).toContain(`/settings/technical/connections/${connectionId}`);
    }
    latencies.sort((a, b) => a - b);
    console.log(
      `notification mail latency from processed to the SMTP sink: p50 ${latencies[2]} ms, max ${latencies[4]} ms`,
    );
    const listed = await runCli(["notifications", "list"], { FERRY_URL: ferry.url, FERRY_TOKEN: token });
    expect(listed.stdout).toMatch(/ops@partner\.example\s+\S+\s+file\.processed,file\.failed\s+immediate/);
    // Unsubscribed: no more mail.
    await fetch(`${ferry.url}/api/v1/notifications/${sub.id}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${token}` },
    });
    const before = sink.mails.length;
    const id = await upload("quiet.csv", clicks("q1"));
    await until(() => received.find((r) => r.type === "file.processed" && r.data.transferId === id));
    await new Promise((r) => setTimeout(r, 500));
    expect(sink.mails.length).toBe(before);
  });

  it("delivers soon after processing (latency from processedAt to the receiver, 20 files)", async () => {
    const latencies: number[] = [];
    for (let i = 0; i < 20; i++) {
      const id = await upload(`l${i}.csv`, clicks(`l${i}`));
      const event = await until(() =>
        received.find((r) => r.type === "file.processed" && r.data.transferId === id),
      );
      const transfer = await api("GET", `/api/v1/transfers/${id}`);
      latencies.push(event.at - new Date(transfer.processedAt).getTime());
    }
    latencies.sort((a, b) => a - b);
    const p = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
    console.log(`webhook latency from processed to receiver: p50 ${p(0.5)} ms, p99 ${p(0.99)} ms`);
    expect(p(0.5)).toBeLessThan(5000);
  });
});
