/** Accounts take every IANA time zone the runtime resolves, current names and old aliases alike. */
import { describe, expect, it } from "vitest";
import { useTestApi } from "../helpers/api.js";

const api = useTestApi();
const create = (timeZone: string) =>
  api.current.call(api.current.adminToken, "POST", "/api/v1/accounts", {
    name: `TZ ${timeZone}`,
    type: "brand",
    timeZone,
  });

describe("account time zones", () => {
  it.each([
    "Asia/Kolkata",
    "Europe/Kyiv",
    "Asia/Kathmandu",
    "America/Nuuk",
    "Etc/UTC",
    "Asia/Calcutta",
    "UTC",
  ])("takes %s, and PostgreSQL reads it", async (timeZone) => {
    const res = await create(timeZone);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.timeZone).toBe(timeZone);
    const { rows } = await api.current.db.pool.query("SELECT now() AT TIME ZONE $1 AS t", [timeZone]);
    expect(rows[0].t).toBeInstanceOf(Date);
  });

  it.each(["Mars/Olympus", "+05:30", "Europe/Paris; DROP"])("refuses %s", async (timeZone) => {
    const res = await create(timeZone);
    expect(res.status).toBe(400);
    expect(res.body.error.fields[0].path).toBe("timeZone");
  });

  it("are changed by the account's own members, with its name and currency, audited; a bad one is refused", async () => {
    const { id, token } = await api.current.newAccount();
    const patch = (body: unknown, as = token) =>
      api.current.call(as, "PATCH", `/api/v1/accounts/${id}`, body);
    const res = await patch({ name: "Acme Europe", timeZone: "Europe/Berlin", currency: "EUR" });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ name: "Acme Europe", timeZone: "Europe/Berlin", currency: "EUR" });
    expect((await api.current.call(token, "GET", "/api/v1/session")).body.account).toMatchObject({
      name: "Acme Europe",
      timeZone: "Europe/Berlin",
      currency: "EUR",
    });
    const bad = await patch({ timeZone: "Mars/Olympus", currency: "euro" });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields.map((f: { path: string }) => f.path).sort()).toEqual([
      "currency",
      "timeZone",
    ]);
    const trail = (await api.current.call(token, "GET", "/api/v1/audit?action=account.updated")).body.items;
    expect(trail.map((e: { details: unknown }) => e.details)).toEqual([
      { name: "Acme Europe", timeZone: "Europe/Berlin", currency: "EUR" },
    ]);
    // Another account's member cannot.
    const other = await api.current.newAccount();
    expect((await patch({ name: "Mine now" }, other.token)).status).toBe(404);
  });
});
