/** The account-wide audit trail: every kind of event of one account, filtered, paged, and as CSV. */
import { beforeAll, describe, expect, it } from "vitest";
import { RecordReader } from "../../src/pipeline/records.js";
import { useTestApi } from "../helpers/api.js";

const api = useTestApi();
let a: { id: string; token: string };
let b: { id: string; token: string };
let credentialId: string;
let connectionId: string;

const as = (token: string) => (method: string, url: string, body?: unknown) =>
  api.current.call(token, method, url, body);

beforeAll(async () => {
  a = await api.current.newAccount();
  b = await api.current.newAccount();
  const callA = as(a.token);
  credentialId = (await callA("POST", "/api/v1/credentials", { name: "ERP", kind: "password" })).body.id;
  await callA("POST", `/api/v1/credentials/${credentialId}/reset-password`);
  connectionId = (
    await callA("POST", "/api/v1/connections", {
      // Its name goes into the trail (and the CSV): a spreadsheet must not run it.
      name: '=HYPERLINK("http://evil.example")',
      direction: "inbound",
      dataType: "conversions",
      method: "sftp",
      methodology: "push_to_platform",
      credentialId,
    })
  ).body.id;
  await callA("POST", `/api/v1/connections/${connectionId}/disable`);
  await as(b.token)("POST", "/api/v1/credentials", { name: "Other account", kind: "password" });
});

describe("the account's audit trail", () => {
  it("holds the account's events only, oldest first, a page at a time; newest first on request", async () => {
    const all = (await as(a.token)("GET", "/api/v1/audit?limit=200")).body.items;
    const actions = all.map((e: { action: string }) => e.action);
    expect(actions).toEqual(
      expect.arrayContaining([
        "credential.created",
        "credential.password_reset",
        "connection.created",
        "connection.disabled",
      ]),
    );
    expect(actions).not.toContain("Other account");
    expect(JSON.stringify(all)).not.toContain("Other account");
    const ids = all.map((e: { id: string }) => e.id);
    expect([...ids].sort()).toEqual(ids);

    const first = await as(a.token)("GET", "/api/v1/audit?limit=2");
    const second = await as(a.token)("GET", `/api/v1/audit?limit=2&cursor=${first.body.nextCursor}`);
    expect([...first.body.items, ...second.body.items].map((e: { id: string }) => e.id)).toEqual(
      ids.slice(0, 4),
    );
    const newest = (await as(a.token)("GET", "/api/v1/audit?order=desc&limit=1")).body.items[0];
    expect(newest.id).toBe(ids[ids.length - 1]);
  });

  it("narrows by kind of action, exact action, object, actor and time", async () => {
    const get = async (q: string) =>
      (await as(a.token)("GET", `/api/v1/audit?limit=200&${q}`)).body.items.map(
        (e: { action: string }) => e.action,
      );
    expect(new Set(await get("action=credential."))).toEqual(
      new Set(["credential.created", "credential.password_reset"]),
    );
    expect(await get("action=connection.disabled")).toEqual(["connection.disabled"]);
    expect(await get(`objectType=connection&objectId=${connectionId}`)).toEqual([
      "connection.created",
      "connection.disabled",
    ]);
    expect((await get("actorType=token")).length).toBeGreaterThanOrEqual(4);
    expect(await get("actorType=credential")).toEqual([]);
    const later = new Date(Date.now() + 3_600_000).toISOString();
    expect(await get(`since=${later}`)).toEqual([]);
    expect((await get(`until=${later}`)).length).toBeGreaterThanOrEqual(4);
    const bad = await as(a.token)("GET", `/api/v1/audit?since=${later}&until=${new Date().toISOString()}`);
    expect(bad.status).toBe(400);
    expect((await as(a.token)("GET", "/api/v1/audit?objectId=nope")).status).toBe(400);
  });

  it("exports as CSV every matching event, the details as JSON in one cell", async () => {
    const res = await api.current.app.inject({
      method: "GET",
      url: "/api/v1/audit.csv",
      headers: { authorization: `Bearer ${a.token}` },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("text/csv; charset=utf-8");
    expect(res.headers["content-disposition"]).toMatch(/^attachment; filename=audit-\d{4}-\d{2}-\d{2}\.csv$/);
    expect(res.body).toMatch(/^at,action,actorType,actorId,objectType,objectId,ip,details\r\n/);
    const rows: string[][] = [];
    const reader = new RecordReader(",", 1e6);
    reader.push(res.body.replaceAll("\r\n", "\n"), (e) => e.kind === "record" && rows.push(e.fields));
    reader.end((e) => e.kind === "record" && rows.push(e.fields));
    const json = (await as(a.token)("GET", "/api/v1/audit?limit=200")).body.items;
    expect(rows.length - 1).toBe(json.length);
    const created = rows.find((r) => r[1] === "connection.created")!;
    expect(JSON.parse(created[7]!).name).toBe('=HYPERLINK("http://evil.example")');
    expect(created[7]!.startsWith("{")).toBe(true);
    // The filters apply to the export too: the header and the one event.
    const kinds = (
      await api.current.app.inject({
        method: "GET",
        url: "/api/v1/audit.csv?action=connection.created",
        headers: { authorization: `Bearer ${a.token}` },
      })
    ).body.split("\r\n");
    expect(kinds).toHaveLength(3);
  });
});
