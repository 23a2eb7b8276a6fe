import { beforeAll, describe, expect, it } from "vitest";
import { useTestApi } from "../helpers/api.js";

const api = useTestApi();
let a: { id: string; token: string };
let b: { id: string; token: string };
let credentialA: { id: string; username: string };
let connectionA: { id: string };

beforeAll(async () => {
  a = await api.current.newAccount("brand");
  b = await api.current.newAccount("partner");
  credentialA = (
    await api.current.call(a.token, "POST", "/api/v1/credentials", { name: "A's login", kind: "password" })
  ).body;
  connectionA = (
    await api.current.call(a.token, "POST", "/api/v1/connections", {
      name: "A's feed",
      direction: "inbound",
      dataType: "conversions",
      method: "sftp",
      methodology: "push_to_platform",
      credentialId: credentialA.id,
    })
  ).body;
});

describe("account B", () => {
  const asB = (method: string, url: string, body?: unknown) => api.current.call(b.token, method, url, body);

  it("does not see A's credentials or connections in lists", async () => {
    expect((await asB("GET", "/api/v1/credentials")).body.items).toEqual([]);
    expect((await asB("GET", "/api/v1/connections")).body.items).toEqual([]);
    expect((await asB("GET", `/api/v1/connections?credentialId=${credentialA.id}`)).body.items).toEqual([]);
  });

  it.each([
    ["GET", () => `/api/v1/credentials/${credentialA.id}`, undefined],
    ["PATCH", () => `/api/v1/credentials/${credentialA.id}`, { name: "stolen" }],
    ["POST", () => `/api/v1/credentials/${credentialA.id}/reset-password`, undefined],
    ["GET", () => `/api/v1/credentials/${credentialA.id}/audit`, undefined],
    ["GET", () => `/api/v1/connections/${connectionA.id}`, undefined],
    ["PATCH", () => `/api/v1/connections/${connectionA.id}`, { name: "stolen" }],
    ["POST", () => `/api/v1/connections/${connectionA.id}/disable`, undefined],
    ["POST", () => `/api/v1/connections/${connectionA.id}/enable`, undefined],
    ["DELETE", () => `/api/v1/connections/${connectionA.id}`, undefined],
    ["GET", () => `/api/v1/connections/${connectionA.id}/audit`, undefined],
    ["GET", () => `/api/v1/accounts/${a.id}`, undefined],
    ["POST", () => `/api/v1/accounts/${a.id}/tokens`, {}],
  ])("gets 404 for %s %s on A's objects, with nothing revealed", async (method, url, body) => {
    const res = await asB(method, url(), body);
    expect(res.status).toBe(404);
    expect(JSON.stringify(res.body)).not.toMatch(new RegExp(`${credentialA.username}|A's`));
  });

  it("cannot attach A's credential to its own connection", async () => {
    const res = await asB("POST", "/api/v1/connections", {
      name: "Borrowed",
      direction: "inbound",
      dataType: "clicks",
      method: "sftp",
      methodology: "push_to_platform",
      credentialId: credentialA.id,
    });
    expect(res.status).toBe(400);
    expect(res.body.error.fields[0].path).toBe("credentialId");
  });

  it("left A's objects unchanged", async () => {
    const conn = await api.current.call(a.token, "GET", `/api/v1/connections/${connectionA.id}`);
    expect(conn.body).toMatchObject({ name: "A's feed", status: "active" });
    const cred = await api.current.call(a.token, "GET", `/api/v1/credentials/${credentialA.id}`);
    expect(cred.body.name).toBe("A's login");
    const audit = await api.current.call(a.token, "GET", `/api/v1/credentials/${credentialA.id}/audit`);
    expect(audit.body.items.map((e: { action: string }) => e.action)).toEqual(["credential.created"]);
  });

  it("cannot create accounts", async () => {
    const res = await asB("POST", "/api/v1/accounts", { name: "Mine", type: "brand" });
    expect(res.status).toBe(403);
  });
});

describe("the database", () => {
  it("refuses a connection pointing at another account's credential even without the API", async () => {
    const { newId } = await import("../../src/db/ids.js");
    await expect(
      api.current.db.db
        .insertInto("connections")
        .values({
          id: newId(),
          account_id: b.id,
          name: "sneaky",
          folder: "sneaky",
          direction: "inbound",
          data_type: "clicks",
          method: "sftp",
          methodology: "push_to_platform",
          credential_id: credentialA.id,
          details: "{}",
        })
        .execute(),
    ).rejects.toThrow(/foreign key/);
  });
});
