import { beforeAll, describe, expect, it } from "vitest";
import { useTestApi } from "../helpers/api.js";

const api = useTestApi();
let token: string;
let credentialId: string;

beforeAll(async () => {
  token = (await api.current.newAccount()).token;
  credentialId = (await call("POST", "/api/v1/credentials", { name: "Main", kind: "password" })).body.id;
});

const call = (method: string, url: string, body?: unknown) => api.current.call(token, method, url, body);

const push = (name: string, extra: Record<string, unknown> = {}) =>
  call("POST", "/api/v1/connections", {
    name,
    direction: "inbound",
    dataType: "conversions",
    method: "sftp",
    methodology: "push_to_platform",
    credentialId,
    ...extra,
  });

describe("creating connections", () => {
  it("stores the choices and fills in default details", async () => {
    const res = await push("Conversions push");
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      name: "Conversions push",
      direction: "inbound",
      dataType: "conversions",
      method: "sftp",
      methodology: "push_to_platform",
      credentialId,
      status: "active",
      details: { allOrNothing: false, validateOnly: false },
    });
    // What the partner's client needs, apart (the address says the same in one string).
    const username = res.body.address.match(/^sftp:\/\/([^@]+)@/)[1];
    expect(res.body.login).toEqual({
      host: "ferry.test",
      port: 2222,
      username,
      path: `/${res.body.folder}/inbox/`,
    });
  });

  it("rejects an invalid combination, naming the field and the allowed values", async () => {
    const res = await push("Wrong", { direction: "outbound" });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("VALIDATION_FAILED");
    expect(res.body.error.fields).toEqual([
      { path: "dataType", message: expect.stringContaining("allowed: reports, performance_bonus_detail") },
      { path: "methodology", message: expect.stringContaining("allowed: pull_from_platform") },
    ]);
  });

  it("rejects unknown values with the path of each bad field", async () => {
    const res = await push("Bad", { method: "carrier_pigeon", details: { allOrNothing: "yes" } });
    expect(res.status).toBe(400);
    expect(res.body.error.fields.map((f: { path: string }) => f.path)).toEqual(["method"]);
    expect(res.body.error.fields[0].message).toMatch(/sftp.*ftp.*email/);
    const details = await push("Bad details", { details: { allOrNothing: "yes" } });
    expect(details.body.error.fields).toEqual([
      { path: "details.allOrNothing", message: expect.any(String) },
    ]);
    const unknown = await call("POST", "/api/v1/connections", { name: "x", extra: 1 });
    expect(unknown.body.error.fields.map((f: { path: string }) => f.path)).toContain("extra");
  });

  it("refuses a credential id that is not in the account", async () => {
    const res = await push("Ghost", { credentialId: "01900000-0000-7000-8000-000000000000" });
    expect(res.status).toBe(400);
    expect(res.body.error.fields).toEqual([
      { path: "credentialId", message: "no credential with this id in your account" },
    ]);
  });

  it("refuses a second connection with the same name", async () => {
    await push("Twice");
    expect((await push("TWICE")).status).toBe(409);
  });

  it("keeps a remote password sealed: never returned, never stored in clear", async () => {
    const res = await call("POST", "/api/v1/connections", {
      name: "Pull from partner",
      direction: "inbound",
      dataType: "clicks",
      method: "ftp",
      methodology: "pull_from_third_party",
      details: {
        host: "ftp.example.com",
        username: "feeds",
        password: "hunter2-remote",
        folder: "/exports",
        filePattern: "clicks_*.csv",
      },
    });
    expect(res.status).toBe(201);
    expect(res.body.details).toMatchObject({
      passwordSet: true,
      security: "explicit",
      port: 21,
      deleteAfterPull: false,
    });
    expect(res.body.details).not.toHaveProperty("password");
    const row = await api.current.db.db
      .selectFrom("connections")
      .select("details")
      .where("id", "=", res.body.id)
      .executeTakeFirstOrThrow();
    expect(JSON.stringify(row.details)).not.toContain("hunter2-remote");
    expect(String(row.details.passwordSealed)).toMatch(/^v1\./);
    expect(api.current.logs.join("")).not.toContain("hunter2-remote");

    // Editing other details keeps the stored password; sending a new one replaces it, and is audited.
    const edited = await call("PATCH", `/api/v1/connections/${res.body.id}`, {
      details: { folder: "/exports/daily" },
    });
    expect(edited.status).toBe(200);
    expect(edited.body.details).toMatchObject({ folder: "/exports/daily", passwordSet: true });
    await call("PATCH", `/api/v1/connections/${res.body.id}`, { details: { password: "new-secret" } });
    const audit = (await call("GET", `/api/v1/connections/${res.body.id}/audit`)).body.items;
    expect(audit.at(-1)).toMatchObject({
      action: "connection.updated",
      details: { secretsChanged: ["password"] },
    });
    expect(JSON.stringify(audit)).not.toContain("new-secret");
  });
});

describe("editing connections", () => {
  it("changes name, credential and details, and records each change", async () => {
    const { id } = (await push("Editable")).body;
    const other = (await call("POST", "/api/v1/credentials", { name: "Other", kind: "password" })).body.id;
    const res = await call("PATCH", `/api/v1/connections/${id}`, {
      name: "Edited",
      credentialId: other,
      details: { allOrNothing: true },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ name: "Edited", credentialId: other, details: { allOrNothing: true } });
    const audit = (await call("GET", `/api/v1/connections/${id}/audit`)).body.items;
    expect(audit.map((e: { action: string }) => e.action)).toEqual([
      "connection.created",
      "connection.updated",
    ]);
    expect(audit[1].details.changes).toEqual({
      name: { from: "Editable", to: "Edited" },
      credentialId: { from: credentialId, to: other },
      details: {
        from: {
          allOrNothing: false,
          validateOnly: false,
          errorsCompression: "none",
          encoding: "auto",
          delimiter: "auto",
          pgpEncryption: "accepted",
        },
        to: {
          allOrNothing: true,
          validateOnly: false,
          errorsCompression: "none",
          encoding: "auto",
          delimiter: "auto",
          pgpEncryption: "accepted",
        },
      },
    });
  });

  it("refuses to change direction, data type, method or methodology", async () => {
    const { id } = (await push("Fixed")).body;
    const res = await call("PATCH", `/api/v1/connections/${id}`, { dataType: "clicks" });
    expect(res.status).toBe(400);
    expect(res.body.error.fields).toEqual([
      { path: "dataType", message: expect.stringMatching(/cannot be changed/) },
    ]);
  });

  it("validates merged details", async () => {
    const { id } = (await push("Strict")).body;
    const res = await call("PATCH", `/api/v1/connections/${id}`, { details: { host: "x" } });
    expect(res.status).toBe(400);
    expect(res.body.error.fields[0].path).toBe("details.host");
  });
});

describe("disabling, enabling and never deleting", () => {
  it("disables and re-enables, keeping the connection visible", async () => {
    const { id } = (await push("Seasonal")).body;
    const disabled = await call("POST", `/api/v1/connections/${id}/disable`);
    expect(disabled.body.status).toBe("disabled");
    expect((await call("GET", `/api/v1/connections/${id}`)).body.status).toBe("disabled");
    const enabled = await call("POST", `/api/v1/connections/${id}/enable`);
    expect(enabled.body.status).toBe("active");
    expect(new Date(enabled.body.statusChangedAt).getTime()).toBeGreaterThanOrEqual(
      new Date(disabled.body.statusChangedAt).getTime(),
    );
    const actions = (await call("GET", `/api/v1/connections/${id}/audit`)).body.items.map(
      (e: { action: string }) => e.action,
    );
    expect(actions).toEqual(["connection.created", "connection.disabled", "connection.enabled"]);
  });

  it("pages its audit trail, oldest or newest first", async () => {
    const { id } = (await push("Audited")).body;
    for (let i = 0; i < 4; i++) await call("PATCH", `/api/v1/connections/${id}`, { name: `Audited ${i}` });
    const walk = async (order: string) => {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { body: { items: { id: string }[]; nextCursor: string | null } } = await call(
          "GET",
          `/api/v1/connections/${id}/audit?limit=2&order=${order}${cursor ? `&cursor=${cursor}` : ""}`,
        );
        expect(page.body.items.length).toBeLessThanOrEqual(2);
        seen.push(...page.body.items.map((e) => e.id));
        cursor = page.body.nextCursor;
      } while (cursor);
      return seen;
    };
    const asc = await walk("asc");
    expect(asc).toHaveLength(5);
    expect(asc).toEqual([...asc].sort());
    expect(await walk("desc")).toEqual([...asc].reverse());
    expect((await call("GET", `/api/v1/connections/${id}/audit?limit=500`)).status).toBe(400);
  });

  it("answers DELETE with 405 and an explanation, and the connection stays", async () => {
    const { id } = (await push("Permanent")).body;
    const res = await call("DELETE", `/api/v1/connections/${id}`);
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe("GET, PATCH");
    expect(res.body.error.message).toMatch(/cannot be deleted.*Disable it instead/);
    expect((await call("GET", `/api/v1/connections/${id}`)).status).toBe(200);
  });

  it("cannot be deleted even in SQL", async () => {
    const { id } = (await push("Guarded")).body;
    await expect(api.current.db.db.deleteFrom("connections").where("id", "=", id).execute()).rejects.toThrow(
      /cannot be deleted/,
    );
  });
});

describe("listing connections", () => {
  it("filters by direction, type, method and status", async () => {
    await call("POST", "/api/v1/connections", {
      name: "Daily report",
      direction: "outbound",
      dataType: "reports",
      method: "sftp",
      methodology: "pull_from_platform",
      credentialId,
      details: {
        report: "performance_by_partner",
        schedule: { frequency: "weekly", dayOfWeek: "monday", time: "06:00" },
      },
    });
    const names = async (q: string) =>
      (await call("GET", `/api/v1/connections?limit=200&${q}`)).body.items.map(
        (c: { name: string }) => c.name,
      );
    expect(await names("direction=outbound")).toEqual(["Daily report"]);
    expect(await names("dataType=reports&method=sftp")).toEqual(["Daily report"]);
    expect(await names("method=ftp")).toEqual(["Pull from partner"]);
    const disabled = (await push("Off")).body.id;
    await call("POST", `/api/v1/connections/${disabled}/disable`);
    expect(await names("status=disabled")).toEqual(["Off"]);
    expect((await call("GET", "/api/v1/connections?status=gone")).status).toBe(400);
  });
});

describe("folders and addresses", () => {
  it("gives each connection a safe, unique folder that survives renames, and its client address", async () => {
    const first = (await push("Orders: Q1 / EU")).body;
    expect(first.folder).toBe("orders-q1-eu");
    const credential = (await call("GET", `/api/v1/credentials/${credentialId}`)).body;
    expect(first.address).toBe(`sftp://${credential.username}@ferry.test:2222/orders-q1-eu/`);
    const second = (await push("orders q1 eu")).body;
    expect(second.folder).toBe("orders-q1-eu-2");
    const renamed = (await call("PATCH", `/api/v1/connections/${first.id}`, { name: "Orders Q1 (renamed)" }))
      .body;
    expect(renamed.folder).toBe("orders-q1-eu");
    const ftp = (await push("Über FTP", { method: "ftp" })).body;
    expect(ftp).toMatchObject({
      folder: "uber-ftp",
      address: expect.stringMatching(/^ftp:\/\/.+@ferry\.test:2121\/uber-ftp\/$/),
    });
  });

  it("has no address when Ferry is the client", async () => {
    const res = await call("GET", "/api/v1/connections?methodology=pull_from_third_party");
    expect(res.body.items[0].address).toBeNull();
  });
});
