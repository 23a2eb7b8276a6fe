import { brotliDecompressSync, gunzipSync } from "node:zlib";
import SwaggerParser from "@apidevtools/swagger-parser";
import { describe, expect, it } from "vitest";
import { useTestApi } from "../helpers/api.js";

const api = useTestApi();

describe("authentication", () => {
  it("requires a bearer token on the API", async () => {
    const res = await api.current.call(null, "GET", "/api/v1/connections");
    expect(res.status).toBe(401);
    expect(res.headers["www-authenticate"]).toBe('Bearer realm="ferry"');
    expect(res.body.error).toMatchObject({ code: "UNAUTHORIZED", requestId: expect.any(String) });
  });

  it("refuses an unknown token", async () => {
    const res = await api.current.call("fry_unknown", "GET", "/api/v1/connections");
    expect(res.status).toBe(401);
    expect(res.body.error.message).toMatch(/unknown or revoked/);
  });
});

describe("accounts and tokens", () => {
  it("lets the administrator create brand and partner accounts with their own tokens", async () => {
    const admin = api.current.adminToken;
    const res = await api.current.call(admin, "POST", "/api/v1/accounts", {
      name: "Acme",
      type: "partner",
      timeZone: "Europe/Paris",
      currency: "EUR",
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      name: "Acme",
      type: "partner",
      timeZone: "Europe/Paris",
      currency: "EUR",
    });
    const token = await api.current.call(admin, "POST", `/api/v1/accounts/${res.body.id}/tokens`, {
      name: "ci",
    });
    expect(token.status).toBe(201);
    expect(token.body.token).toMatch(/^fry_/);
    const own = await api.current.call(token.body.token, "GET", "/api/v1/accounts");
    expect(own.body.items.map((x: { id: string }) => x.id)).toEqual([res.body.id]);
    // Only a hash of the token is stored.
    const rows = await api.current.db.db.selectFrom("api_tokens").selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(token.body.token.slice(8));
  });

  it("validates accounts field by field", async () => {
    const res = await api.current.call(api.current.adminToken, "POST", "/api/v1/accounts", {
      name: "",
      type: "agency",
      currency: "euro",
    });
    expect(res.status).toBe(400);
    expect(res.body.error.fields.map((f: { path: string }) => f.path).sort()).toEqual([
      "currency",
      "name",
      "type",
    ]);
  });

  it("lets an account create more tokens for itself only", async () => {
    const acct = await api.current.newAccount();
    const res = await api.current.call(acct.token, "POST", `/api/v1/accounts/${acct.id}/tokens`, {});
    expect(res.status).toBe(201);
  });

  it("creates a token with no request body at all", async () => {
    const acct = await api.current.newAccount();
    const res = await api.current.call(acct.token, "POST", `/api/v1/accounts/${acct.id}/tokens`);
    expect(res.status).toBe(201);
    expect(res.body.name).toBe("API token");
  });
});

describe("errors", () => {
  it("answer malformed JSON with 400 in the common shape", async () => {
    const res = await api.current.app.inject({
      method: "POST",
      url: "/api/v1/credentials",
      headers: { authorization: `Bearer ${api.current.adminToken}`, "content-type": "application/json" },
      payload: "{not json",
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: "BAD_REQUEST", requestId: expect.any(String) });
  });

  it("answer unknown routes with 404 and malformed ids with 400 (test/security/http.test.ts)", async () => {
    expect((await api.current.call(api.current.adminToken, "GET", "/api/v1/nothing")).status).toBe(404);
    expect(
      (await api.current.call(api.current.adminToken, "GET", "/api/v1/connections/not-a-uuid")).status,
    ).toBe(400);
  });
});

describe("operations endpoints", () => {
  it("serves an OpenAPI 3 document describing every route", async () => {
    const res = await api.current.call(null, "GET", "/api/openapi.json");
    expect(res.status).toBe(200);
    expect(res.body.openapi).toMatch(/^3\./);
    expect(Object.keys(res.body.paths)).toEqual(
      expect.arrayContaining([
        "/api/v1/accounts",
        "/api/v1/accounts/{id}/tokens",
        "/api/v1/credentials",
        "/api/v1/credentials/{id}",
        "/api/v1/credentials/{id}/reset-password",
        "/api/v1/connections",
        "/api/v1/connections/{id}",
        "/api/v1/connections/{id}/disable",
        "/api/v1/connections/{id}/enable",
      ]),
    );
    const create = res.body.paths["/api/v1/connections"].post;
    const body = create.requestBody.content["application/json"].schema;
    expect(body).toEqual({ $ref: "#/components/schemas/ConnectionBodyInput" });
    expect(res.body.components.schemas.ConnectionBodyInput.properties.direction.enum).toEqual([
      "inbound",
      "outbound",
    ]);
  });

  it("is a valid OpenAPI document, with an id for every operation, named schemas and file bodies", async () => {
    const doc = (await api.current.call(null, "GET", "/api/openapi.json")).body;
    // A real validator: the OpenAPI 3.0 JSON schema, every $ref resolved, and the spec's own rules.
    await SwaggerParser.validate(structuredClone(doc));
    const operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops as Record<string, { operationId?: string }>).map(([method, op]) => ({
        path,
        method,
        op,
      })),
    );
    expect(operations.length).toBeGreaterThan(60);
    const ids = operations.map((o) => o.op.operationId);
    expect(ids.filter((id) => !id)).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(
      expect.arrayContaining(["getConnection", "createConnection", "resetCredentialPassword", "signIn"]),
    );
    // Named component schemas, referred to by the operations that answer them.
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining(["Connection", "Credential", "Transfer", "Error", "Campaign"]),
    );
    expect(
      doc.paths["/api/v1/connections/{id}"].get.responses["200"].content["application/json"].schema,
    ).toEqual({
      $ref: "#/components/schemas/Connection",
    });
    // Files: the upload's body and the downloads' answers are bytes.
    const upload = doc.paths["/api/v1/connections/{id}/files"].post;
    expect(upload.requestBody.content["application/octet-stream"].schema).toEqual({
      type: "string",
      format: "binary",
    });
    const content = doc.paths["/api/v1/transfers/{id}/content"].get.responses["200"].content;
    expect(content["application/octet-stream"].schema.format).toBe("binary");
    expect(doc.paths["/api/v1/transfers/{id}/results/errors"].get.responses["200"].content).toHaveProperty([
      "text/csv; charset=utf-8",
    ]);
    // Public operations say so: the download link (its token is the credential) and signing in.
    expect(doc.paths["/downloads/{token}"].get.security).toEqual([]);
    expect(doc.paths["/api/v1/session"].post.security).toEqual([]);
    expect(doc.paths["/api/v1/connections"].get.security).toBeUndefined();
    expect(doc.security).toEqual([{ bearer: [] }]);
  });

  it("compresses JSON for clients that ask, and only them", async () => {
    for (const [encoding, unpack] of [
      ["gzip", gunzipSync],
      ["br", brotliDecompressSync],
    ] as const) {
      const res = await api.current.app.inject({
        method: "GET",
        url: "/api/openapi.json",
        headers: { "accept-encoding": encoding },
      });
      expect(res.headers["content-encoding"]).toBe(encoding);
      const json = JSON.parse(unpack(res.rawPayload).toString("utf8"));
      expect(json.openapi).toMatch(/^3\./);
      expect(res.rawPayload.length).toBeLessThan(JSON.stringify(json).length / 4);
    }
    const plain = await api.current.app.inject({ method: "GET", url: "/api/openapi.json" });
    expect(plain.headers["content-encoding"]).toBeUndefined();
  });

  it("reports health", async () => {
    const res = await api.current.call(null, "GET", "/healthz");
    expect(res).toMatchObject({ status: 200, body: { status: "ok" } });
  });

  it("exposes Prometheus metrics by route", async () => {
    await api.current.call(null, "GET", "/healthz");
    const res = await api.current.app.inject({ method: "GET", url: "/metrics" });
    expect(res.headers["content-type"]).toMatch(/text\/plain/);
    expect(res.body).toMatch(/ferry_http_requests_total\{method="GET",route="\/healthz",status="200"\} \d+/);
    expect(res.body).toMatch(/ferry_process_cpu_seconds_total/);
  });
});
