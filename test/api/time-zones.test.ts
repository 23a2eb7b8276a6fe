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
});
