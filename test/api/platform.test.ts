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
    expect(create.requestBody.content["application/json"].schema.properties.direction.enum).toEqual([
      "inbound",
      "outbound",
    ]);
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
