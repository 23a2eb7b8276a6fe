/** Schedules: periods in the account's time zone, and one run per period however many processes tick. */
import { describe, expect, it } from "vitest";
import { generateRun } from "../../src/pipeline/generate.js";
import { duePeriods, scheduleDueRuns } from "../../src/pipeline/schedule.js";
import { useTestApi } from "../helpers/api.js";

const api = useTestApi();
const iso = (ps: { start: Date; end: Date }[]) => ps.map((p) => [p.start.toISOString(), p.end.toISOString()]);

describe("due periods", () => {
  it("daily at 06:00 in New York, across the end of daylight saving time (a 25-hour day)", async () => {
    const periods = await duePeriods(
      api.current.db.db,
      { frequency: "daily", time: "06:00" },
      "America/New_York",
      new Date("2026-10-30T15:00:00Z"),
      new Date("2026-11-02T12:00:00Z"),
      10,
    );
    expect(iso(periods)).toEqual([
      ["2026-10-30T10:00:00.000Z", "2026-10-31T10:00:00.000Z"],
      ["2026-10-31T10:00:00.000Z", "2026-11-01T11:00:00.000Z"],
      ["2026-11-01T11:00:00.000Z", "2026-11-02T11:00:00.000Z"],
    ]);
  });

  it("hourly, every 4 hours from local midnight, twice daily, weekly and monthly", async () => {
    const db = api.current.db.db;
    const from = new Date("2026-05-04T10:30:00Z"); // a Monday
    const hourly = await duePeriods(
      db,
      { frequency: "hourly" },
      "UTC",
      from,
      new Date("2026-05-04T13:00:00Z"),
      10,
    );
    expect(iso(hourly).map(([s]) => s)).toEqual([
      "2026-05-04T10:00:00.000Z",
      "2026-05-04T11:00:00.000Z",
      "2026-05-04T12:00:00.000Z",
    ]);
    // Kolkata is UTC+05:30: local 16:00 and 20:00 are 10:30 and 14:30 UTC.
    const four = await duePeriods(
      db,
      { frequency: "every_4_hours" },
      "Asia/Kolkata",
      from,
      new Date("2026-05-04T19:00:00Z"),
      10,
    );
    expect(iso(four)).toEqual([
      ["2026-05-04T10:30:00.000Z", "2026-05-04T14:30:00.000Z"],
      ["2026-05-04T14:30:00.000Z", "2026-05-04T18:30:00.000Z"],
    ]);
    const twice = await duePeriods(
      db,
      { frequency: "twice_daily" },
      "UTC",
      from,
      new Date("2026-05-05T07:00:00Z"),
      10,
    );
    expect(iso(twice)).toEqual([
      ["2026-05-04T06:00:00.000Z", "2026-05-04T18:00:00.000Z"],
      ["2026-05-04T18:00:00.000Z", "2026-05-05T06:00:00.000Z"],
    ]);
    const weekly = await duePeriods(
      db,
      { frequency: "weekly", dayOfWeek: "wednesday", time: "03:00" },
      "UTC",
      from,
      new Date("2026-05-14T00:00:00Z"),
      10,
    );
    expect(iso(weekly)).toEqual([
      ["2026-04-29T03:00:00.000Z", "2026-05-06T03:00:00.000Z"],
      ["2026-05-06T03:00:00.000Z", "2026-05-13T03:00:00.000Z"],
    ]);
    const monthly = await duePeriods(
      db,
      { frequency: "monthly", dayOfMonth: 1, time: "03:00" },
      "UTC",
      from,
      new Date("2026-07-02T00:00:00Z"),
      10,
    );
    expect(iso(monthly)).toEqual([
      ["2026-05-01T03:00:00.000Z", "2026-06-01T03:00:00.000Z"],
      ["2026-06-01T03:00:00.000Z", "2026-07-01T03:00:00.000Z"],
    ]);
  });
});

describe("scheduled runs", () => {
  it("are created once per period even when several processes tick at once, caught up in order, and generated", async () => {
    const { token } = await api.current.newAccount();
    const call = async (method: string, url: string, body?: unknown) =>
      (await api.current.call(token, method, url, body)).body;
    const credentialId = (await call("POST", "/api/v1/credentials", { name: "pull", kind: "password" })).id;
    const c = await call("POST", "/api/v1/connections", {
      name: "Hourly actions",
      direction: "outbound",
      dataType: "reports",
      method: "sftp",
      methodology: "pull_from_platform",
      credentialId,
      details: { report: "action_listing", schedule: { frequency: "hourly" } },
    });
    // A minute past the third hour that ends after the connection was made (three periods, whatever the
    // minute of the hour the test runs at: "3 h after creation" made four when created in an hour's last minute).
    const hour = 3_600_000;
    const later = new Date(Math.ceil(new Date(c.createdAt).getTime() / hour) * hour + 2 * hour + 60_000);
    const { db, queue } = { db: api.current.db.db, queue: api.current.queue };
    const counts = await Promise.all([1, 2, 3].map(() => scheduleDueRuns(db, queue, later)));
    expect(await scheduleDueRuns(db, queue, later)).toBe(0);
    const runs = (await call("GET", `/api/v1/connections/${c.id}/runs`)).items.reverse();
    expect(runs).toHaveLength(3);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(3);
    expect(runs.map((r: { trigger: string }) => r.trigger)).toEqual(["schedule", "schedule", "schedule"]);
    for (let i = 1; i < runs.length; i++) expect(runs[i].periodStart).toBe(runs[i - 1].periodEnd);
    for (const r of runs) expect(await generateRun(api.current.processDeps, r.id)).toBe("generated");
    // Nothing more is due until the next hour ends.
    expect(await scheduleDueRuns(db, queue, later)).toBe(0);
  });

  it("follow a new time zone of the account from the next period on, with nothing left out or counted twice", async () => {
    const { id: accountId, token } = await api.current.newAccount();
    const call = async (method: string, url: string, body?: unknown) =>
      api.current.call(token, method, url, body);
    expect((await call("PATCH", `/api/v1/accounts/${accountId}`, { timeZone: "Europe/Paris" })).status).toBe(
      200,
    );
    const credentialId = (await call("POST", "/api/v1/credentials", { name: "pull", kind: "password" })).body
      .id;
    const c = (
      await call("POST", "/api/v1/connections", {
        name: "Daily actions",
        direction: "outbound",
        dataType: "reports",
        method: "sftp",
        methodology: "pull_from_platform",
        credentialId,
        details: { report: "action_listing", schedule: { frequency: "daily", time: "02:00" } },
      })
    ).body;
    const { db, queue } = { db: api.current.db.db, queue: api.current.queue };
    const day = 86_400_000;
    const created = new Date(c.createdAt).getTime();
    await scheduleDueRuns(db, queue, new Date(created + 2 * day));
    const paris = (await call("GET", `/api/v1/connections/${c.id}/runs`)).body.items.reverse();
    expect(paris.length).toBeGreaterThanOrEqual(1);
    // 02:00 in Paris: 00:00 or 01:00 UTC.
    expect(paris.at(-1).periodEnd).toMatch(/T0[01]:00:00\.000Z$/);

    // Six hours later than Paris (or five): the next boundary is 02:00 in New York, 06:00 or 07:00 UTC.
    expect(
      (await call("PATCH", `/api/v1/accounts/${accountId}`, { timeZone: "America/New_York" })).status,
    ).toBe(200);
    await scheduleDueRuns(db, queue, new Date(created + 5 * day));
    const all = (await call("GET", `/api/v1/connections/${c.id}/runs`)).body.items.reverse();
    const after = all.slice(paris.length);
    expect(after.length).toBeGreaterThanOrEqual(2);
    // The first period in the new zone starts where the last one ended; then whole New York days.
    expect(after[0].periodStart).toBe(paris.at(-1).periodEnd);
    for (const r of after) expect(r.periodEnd).toMatch(/T0[67]:00:00\.000Z$/);
    for (let i = 1; i < all.length; i++) expect(all[i].periodStart).toBe(all[i - 1].periodEnd);
    const hours = (r: { periodStart: string; periodEnd: string }) =>
      (Date.parse(r.periodEnd) - Date.parse(r.periodStart)) / 3_600_000;
    expect([5, 6, 7]).toContain(hours(after[0])); // 6, or 5 or 7 in the weeks the two zones change clocks apart
    expect(hours(after[1])).toBe(24);
  });
});
