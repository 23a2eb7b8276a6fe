import { readFileSync } from "node:fs";
import { sql } from "kysely";
import { beforeAll, describe, expect, it } from "vitest";
import { verifyPassword } from "../../src/domain/secrets.js";
import { useTestApi } from "../helpers/api.js";

const api = useTestApi();
const key = (name: string) => readFileSync(new URL(`../fixtures/keys/${name}`, import.meta.url), "utf8");
let token: string;

beforeAll(async () => {
  token = (await api.current.newAccount()).token;
});

const call = (method: string, url: string, body?: unknown) => api.current.call(token, method, url, body);

/** Every text value anywhere in the test schema, to prove a secret is stored nowhere in clear. */
async function everythingStored(): Promise<string> {
  const { db } = api.current.db;
  const tables = ["accounts", "users", "api_tokens", "credentials", "connections", "audit_events"];
  const dumps = await Promise.all(
    tables.map((t) =>
      sql<{ row: string }>`SELECT row_to_json(x)::text AS row FROM ${sql.table(t)} x`.execute(db),
    ),
  );
  return dumps.flatMap((d) => d.rows.map((r) => r.row)).join("\n");
}

describe("password credentials", () => {
  it("return a generated username and password once, and store only a scrypt hash", async () => {
    const created = await call("POST", "/api/v1/credentials", { name: "Orders upload", kind: "password" });
    expect(created.status).toBe(201);
    expect(created.headers["cache-control"]).toBe("no-store");
    const { id, username, password } = created.body;
    expect(username).toMatch(/^orders-upload-[a-z2-9]{6}$/);
    expect(password).toMatch(/^[A-Za-z0-9]{24}$/);

    const got = await call("GET", `/api/v1/credentials/${id}`);
    expect(got.body).not.toHaveProperty("password");
    expect(JSON.stringify((await call("GET", "/api/v1/credentials")).body)).not.toContain(password);
    expect(await everythingStored()).not.toContain(password);
    expect(api.current.logs.join("")).not.toContain(password);

    const row = await api.current.db.db
      .selectFrom("credentials")
      .select("password_hash")
      .where("id", "=", id)
      .executeTakeFirstOrThrow();
    expect(await verifyPassword(password, row.password_hash!)).toBe(true);
  });

  it("get a new password on reset, shown once, and the old one stops verifying", async () => {
    const created = (await call("POST", "/api/v1/credentials", { name: "Reset me", kind: "password" })).body;
    const reset = await call("POST", `/api/v1/credentials/${created.id}/reset-password`);
    expect(reset.status).toBe(200);
    expect(reset.body.password).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(reset.body.password).not.toBe(created.password);
    expect(reset.body.username).toBe(created.username);
    const row = await api.current.db.db
      .selectFrom("credentials")
      .select("password_hash")
      .where("id", "=", created.id)
      .executeTakeFirstOrThrow();
    expect(await verifyPassword(reset.body.password, row.password_hash!)).toBe(true);
    expect(await verifyPassword(created.password, row.password_hash!)).toBe(false);
    expect(await everythingStored()).not.toContain(reset.body.password);
    expect(api.current.logs.join("")).not.toContain(reset.body.password);
  });

  it("refuse a public key", async () => {
    const res = await call("POST", "/api/v1/credentials", {
      name: "x",
      kind: "password",
      publicKey: key("ed25519.pub"),
    });
    expect(res.status).toBe(400);
    expect(res.body.error.fields).toEqual([
      { path: "publicKey", message: expect.stringMatching(/only for kind/) },
    ]);
  });
});

describe("public key credentials", () => {
  it("store the key with the fingerprint ssh-keygen shows", async () => {
    const res = await call("POST", "/api/v1/credentials", {
      name: "Laptop key",
      kind: "public_key",
      publicKey: key("ecdsa384.pkcs8.pem"),
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      kind: "public_key",
      keyType: "ecdsa-sha2-nistp384",
      keyBits: 384,
      fingerprint: "SHA256:Wwdk1K45Rewn2DmOJYJR4AMlElAeJtRC+T2t4k33dzc",
    });
    expect(res.body).not.toHaveProperty("password");
  });

  it("explain a malformed key next to the field", async () => {
    const res = await call("POST", "/api/v1/credentials", {
      name: "Old key",
      kind: "public_key",
      publicKey: key("rsa1024.pub"),
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({
      code: "VALIDATION_FAILED",
      fields: [{ path: "publicKey", message: expect.stringMatching(/1024 bits/) }],
    });
  });

  it("can be renamed and have their key replaced, each change audited", async () => {
    const { id } = (
      await call("POST", "/api/v1/credentials", {
        name: "Build server",
        kind: "public_key",
        publicKey: key("ed25519.pub"),
      })
    ).body;
    const renamed = await call("PATCH", `/api/v1/credentials/${id}`, { name: "Build server (old)" });
    expect(renamed.body.name).toBe("Build server (old)");
    const rotated = await call("PATCH", `/api/v1/credentials/${id}`, { publicKey: key("rsa4096.pub") });
    expect(rotated.body.fingerprint).toBe("SHA256:jINjyijYTXXUintBVNdyz3N2d6xW+ggCsrWNZTlfKIM");
    const audit = await call("GET", `/api/v1/credentials/${id}/audit`);
    expect(audit.body.items.map((e: { action: string }) => e.action)).toEqual([
      "credential.created",
      "credential.renamed",
      "credential.key_replaced",
    ]);
    expect(audit.body.items[2].details).toEqual({
      from: "SHA256:Re3w0vaK+pd1nnpVDzFgtXijX9JBKU1c9smBWCOIFgE",
      to: "SHA256:jINjyijYTXXUintBVNdyz3N2d6xW+ggCsrWNZTlfKIM",
    });
  });

  it("have no password to reset", async () => {
    const { id } = (
      await call("POST", "/api/v1/credentials", {
        name: "CI key",
        kind: "public_key",
        publicKey: key("ecdsa256.pub"),
      })
    ).body;
    const res = await call("POST", `/api/v1/credentials/${id}/reset-password`);
    expect(res.status).toBe(409);
  });
});

describe("credentials", () => {
  it("have unique names within an account", async () => {
    await call("POST", "/api/v1/credentials", { name: "Unique", kind: "password" });
    const again = await call("POST", "/api/v1/credentials", { name: "unique", kind: "password" });
    expect(again.status).toBe(409);
    expect(again.body.error.fields[0].path).toBe("name");
  });

  it("show which connections use them", async () => {
    const cred = (await call("POST", "/api/v1/credentials", { name: "Shared", kind: "password" })).body;
    for (const name of ["Feed A", "Feed B"]) {
      const res = await call("POST", "/api/v1/connections", {
        name,
        direction: "inbound",
        dataType: "clicks",
        method: "sftp",
        methodology: "push_to_platform",
        credentialId: cred.id,
      });
      expect(res.status).toBe(201);
    }
    const got = await call("GET", `/api/v1/credentials/${cred.id}`);
    expect(got.body.usedBy.map((c: { name: string }) => c.name)).toEqual(["Feed A", "Feed B"]);
  });

  it("are listed a page at a time", async () => {
    const all = (await call("GET", "/api/v1/credentials?limit=200")).body.items;
    expect(all.length).toBeGreaterThan(3);
    const first = await call("GET", "/api/v1/credentials?limit=2");
    expect(first.body.items).toHaveLength(2);
    const second = await call("GET", `/api/v1/credentials?limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body.items.map((c: { id: string }) => c.id)).toEqual(
      all.slice(2, 4).map((c: { id: string }) => c.id),
    );
    expect((await call("GET", "/api/v1/credentials?limit=0")).status).toBe(400);
    expect((await call("GET", "/api/v1/credentials?cursor=bogus")).status).toBe(400);
  });
});
