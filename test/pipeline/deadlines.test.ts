/**
 * Expected files: a connection that expects a file on weekdays by 09:00 (account time zone) raises one
 * file.missing event (a webhook delivery and an audit event) when the deadline passes without a file received
 * that local day, none on a day it does not expect files, none when a file came, and never twice.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { checkDeadlines } from "../../src/pipeline/deadlines.js";
import { useTestApi } from "../helpers/api.js";
import { createProgram, type Program } from "../helpers/platform.js";

const api = useTestApi();
let p: Program;
const WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday"];

const call = (method: string, url: string, body?: unknown) => api.current.call(p.token, method, url, body);
const check = (iso: string) =>
  checkDeadlines(api.current.db.db, api.current.queue, api.current.processDeps.log, new Date(iso));
const missing = async () =>
  (
    await api.current.db.pool.query(
      `SELECT d.payload->'data'->>'connectionId' AS connection, d.payload->'data'->>'dueAt' AS due
       FROM webhook_deliveries d WHERE d.event_type = 'file.missing' ORDER BY d.created_at, d.id`,
    )
  ).rows;

beforeAll(async () => {
  p = await createProgram(api.current);
  await call("PATCH", `/api/v1/accounts/${p.accountId}`, { timeZone: "Europe/Paris" });
  for (const kind of ["clicks", "conversions"] as const) {
    const res = await call("PATCH", `/api/v1/connections/${p.connections[kind]}`, {
      details: { expectFiles: { days: WEEKDAYS, by: "09:00" } },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  }
  const hook = await call("POST", "/api/v1/webhooks", {
    url: "https://hooks.example.com/ferry",
    events: ["file.missing"],
  });
  expect(hook.status).toBe(201);
});

describe("expected files", () => {
  it("refuses a deadline that is not HH:MM or names no day", async () => {
    const url = `/api/v1/connections/${p.connections.clicks}`;
    expect(
      (await call("PATCH", url, { details: { expectFiles: { days: WEEKDAYS, by: "9am" } } })).status,
    ).toBe(400);
    expect((await call("PATCH", url, { details: { expectFiles: { days: [], by: "09:00" } } })).status).toBe(
      400,
    );
  });

  it("raises file.missing once when 09:00 Paris passes without a file that day", async () => {
    // Wednesday 2 December 2026: 08:59 in Paris is 07:59 UTC.
    expect(await check("2026-12-02T07:59:00Z")).toBe(0);
    expect(await check("2026-12-02T08:01:00Z")).toBe(2);
    expect(await check("2026-12-02T08:30:00Z")).toBe(0);
    const events = await missing();
    expect(events.map((e) => e.due)).toEqual(["2026-12-02T08:00:00.000Z", "2026-12-02T08:00:00.000Z"]);
    const audit = (await call("GET", "/api/v1/audit?action=connection.file_missing")).body.items;
    expect(audit).toHaveLength(2);
    expect(audit[0]).toMatchObject({ actorType: "system", details: { expectedBy: "09:00" } });
  });

  it("raises nothing on a day without files expected, nor for a connection whose file came that day", async () => {
    expect(await check("2026-12-05T10:00:00Z")).toBe(0); // Saturday
    const received = await api.current.receive(
      { accountId: p.accountId, connectionId: p.connections.clicks },
      "early.csv",
      "ClickId\nx\n",
    );
    // Received at 08:00 in Paris on Thursday 3 December.
    await api.current.db.pool.query(
      "UPDATE transfers SET created_at = '2026-12-03T07:00:00Z' WHERE id = $1",
      [received.transferId],
    );
    const before = (await missing()).length;
    expect(await check("2026-12-03T08:05:00Z")).toBe(1);
    const last = (await missing()).slice(before);
    expect(last).toEqual([{ connection: p.connections.conversions, due: "2026-12-03T08:00:00.000Z" }]);
  });
});
