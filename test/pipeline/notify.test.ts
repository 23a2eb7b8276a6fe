/**
 * Email notifications through the real mailer (nodemailer) to a real SMTP server started here: a digest
 * subscriber gets one mail at 08:00 in the account's time zone listing what happened since, in words, and
 * nothing at another hour; events outside a subscription's filter or connection are not kept for it.
 */
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sendDigests } from "../../src/pipeline/notify.js";
import { smtpMailer } from "../../src/protocols/email/mailer.js";
import { useTestApi } from "../helpers/api.js";
import { type MailSink, startMailSink } from "../helpers/mail-sink.js";
import { createProgram, type Program } from "../helpers/platform.js";

const api = useTestApi();
let p: Program;
let sink: MailSink;
const call = (method: string, url: string, body?: unknown) => api.current.call(p.token, method, url, body);

beforeAll(async () => {
  sink = await startMailSink();
  p = await createProgram(api.current);
  await call("PATCH", `/api/v1/accounts/${p.accountId}`, { timeZone: "Asia/Tokyo" });
});

afterAll(async () => {
  await sink.close();
});

describe("email notifications", () => {
  it("sends a digest at 08:00 account time with the day's events, and keeps to each subscription's filter", async () => {
    const user = await api.current.call(
      api.current.adminToken,
      "POST",
      `/api/v1/accounts/${p.accountId}/users`,
      {
        login: "digest@brand.example",
      },
    );
    expect(user.status).toBe(201);
    const digest = await call("POST", "/api/v1/notifications", { userId: user.body.id, mode: "digest" });
    expect(digest.status, JSON.stringify(digest.body)).toBe(201);
    const other = await call("POST", "/api/v1/notifications", {
      userId: user.body.id,
      email: "catalog@brand.example",
      connectionId: p.connections.product_catalog,
      events: ["file.failed"],
      mode: "digest",
    });
    expect(other.status).toBe(201);
    expect(
      (await call("POST", "/api/v1/notifications", { userId: user.body.id, events: ["file.exploded"] }))
        .status,
    ).toBe(400);

    const received = await api.current.receive(
      { accountId: p.accountId, connectionId: p.connections.clicks },
      "clicks.csv",
      "ClickId\nx\n",
    );
    await api.current.process(received.transferId);
    const kept = await api.current.db.pool.query(
      "SELECT subscription_id, event_type FROM notifications ORDER BY created_at, id",
    );
    expect(kept.rows).toEqual([
      { subscription_id: digest.body.id, event_type: "file.received" },
      { subscription_id: digest.body.id, event_type: "file.failed" },
    ]);

    const deps = {
      pool: api.current.db.pool,
      mailer: smtpMailer(sink.url, "ferry@ferry.test"),
      publicUrl: "https://ferry.example",
      log: pino({ level: "silent" }),
    };
    // 10:00 in Tokyo: not the digest hour.
    expect(await sendDigests(deps, new Date("2026-12-03T01:00:00Z"))).toBe(0);
    // 08:00 in Tokyo is 23:00 UTC the day before.
    expect(await sendDigests(deps, new Date("2026-12-02T23:00:00Z"))).toBe(1);
    expect(sink.mails).toHaveLength(1);
    expect(sink.mails[0]).toMatchObject({
      to: ["digest@brand.example"],
      subject: "Ferry: 2 events since the last digest",
    });
    expect(sink.mails[0]!.text).toMatch(/clicks\.csv was received on "[^"]+"/);
    expect(sink.mails[0]!.text).toMatch(/clicks\.csv on "[^"]+" could not be processed: MISSING_COLUMN/);
    expect(sink.mails[0]!.text).toContain("https://ferry.example/settings/technical/connections");
    // Sent once.
    expect(await sendDigests(deps, new Date("2026-12-02T23:00:00Z"))).toBe(0);

    expect((await call("GET", "/api/v1/notifications")).body.items).toHaveLength(2);
    expect((await call("DELETE", `/api/v1/notifications/${other.body.id}`)).status).toBe(204);
    expect((await call("GET", "/api/v1/notifications")).body.items).toHaveLength(1);
  });
});
