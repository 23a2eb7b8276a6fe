/**
 * The HTTP API against hostile and careless input: bodies trickled byte by byte, NUL characters, ids that are
 * not UUIDs, empty JSON bodies, download-link tokens in the logs.
 */
import { randomBytes } from "node:crypto";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LoginGuard } from "../../src/domain/login-guard.js";
import { secretBox } from "../../src/domain/secretbox.js";
import { buildApp } from "../../src/http/app.js";
import { createMetrics } from "../../src/http/metrics.js";
import { TEST_GUARD, useTestApi } from "../helpers/api.js";

const api = useTestApi();
let port: number;
let account: { id: string; token: string };

beforeAll(async () => {
  await api.current.app.listen({ port: 0, host: "127.0.0.1" });
  port = (api.current.app.server.address() as net.AddressInfo).port;
  account = await api.current.newAccount();
});

afterAll(async () => {
  await api.current?.app.close();
});

/** Sends `head` then one byte of body every `everyMs`; resolves with how long until the server closed. */
function trickle(head: string, everyMs: number, maxMs: number): Promise<number> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = net.connect(port, "127.0.0.1", () => socket.write(head));
    socket.on("error", () => {});
    socket.on("data", () => {});
    const timer = setInterval(() => {
      if (Date.now() - started > maxMs) {
        clearInterval(timer);
        socket.destroy();
        resolve(Number.POSITIVE_INFINITY);
      } else if (!socket.destroyed) socket.write("x");
    }, everyMs);
    socket.once("close", () => {
      clearInterval(timer);
      resolve(Date.now() - started);
    });
  });
}

describe("slow request bodies", () => {
  it("closes a JSON body still arriving after the body time limit", async () => {
    const head = `POST /api/v1/credentials HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${account.token}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"name":"`;
    // Limits in this test app: 1 s for a JSON body.
    expect(await trickle(head, 100, 10_000)).toBeLessThan(4000);
  });

  it("closes an upload slower than the minimum rate", async () => {
    const connection = await api.current.call(account.token, "POST", "/api/v1/connections", {
      name: "Slow",
      direction: "inbound",
      dataType: "clicks",
      method: "email",
      methodology: "push_to_platform",
    });
    expect(connection.status, JSON.stringify(connection.body)).toBe(201);
    const head = `POST /api/v1/connections/${connection.body.id}/files?name=slow.csv HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${account.token}\r\nContent-Type: application/octet-stream\r\nContent-Length: 500000\r\n\r\n`;
    // 10 bytes/s against a minimum of 1 KiB/s checked every second.
    expect(await trickle(head, 100, 10_000)).toBeLessThan(4000);
  });
});

describe("malformed input", () => {
  it("answers a NUL character in a name with 400 naming the field", async () => {
    const res = await api.current.call(account.token, "POST", "/api/v1/credentials", {
      name: "bad\u0000name",
      kind: "password",
    });
    expect(res.status).toBe(400);
    expect(res.body.error.fields).toEqual([{ path: "name", message: "must not contain NUL characters" }]);
  });

  it("answers an id that is not a UUID with 400 naming the field", async () => {
    const res = await api.current.call(account.token, "GET", "/api/v1/connections/not-a-uuid");
    expect(res.status).toBe(400);
    expect(res.body.error.fields).toEqual([{ path: "params.id", message: "must be a UUID" }]);
  });

  it("takes an empty JSON body as no body: DELETE of a connection is 405, not 400", async () => {
    const connection = await api.current.call(account.token, "POST", "/api/v1/connections", {
      name: "Kept",
      direction: "inbound",
      dataType: "clicks",
      method: "email",
      methodology: "push_to_platform",
    });
    expect(connection.status, JSON.stringify(connection.body)).toBe(201);
    const res = await api.current.app.inject({
      method: "DELETE",
      url: `/api/v1/connections/${connection.body.id}`,
      headers: { authorization: `Bearer ${account.token}`, "content-type": "application/json" },
      payload: "",
    });
    expect(res.statusCode, res.body).toBe(405);
  });
});

describe("logs", () => {
  it("never hold a download link's token", async () => {
    const token = randomBytes(32).toString("base64url");
    const res = await fetch(`http://127.0.0.1:${port}/downloads/${token}`);
    expect(res.status).toBe(404);
    const logs = api.current.logs.join("");
    expect(logs).toContain("/downloads/[redacted]");
    expect(logs).not.toContain(token);
  });
});

describe("behind an https address", () => {
  it("reads /metrics only from loopback or with its token, and marks session cookies Secure", async () => {
    const metricsToken = randomBytes(16).toString("hex");
    const app = await buildApp({
      db: api.current.db.db,
      box: secretBox(randomBytes(32)),
      store: api.current.store,
      endpoints: { publicHost: "ferry.test", sftpPort: 2222, ftpPort: 2121, emailDomain: "in.ferry.test" },
      metrics: createMetrics(),
      queue: api.current.queue,
      maxUploadBytes: 1024,
      metricsToken,
      secureCookies: true,
      loginGuard: new LoginGuard(api.current.db.pool, TEST_GUARD),
    });
    const metrics = (headers: Record<string, string>, remoteAddress: string) =>
      app.inject({ method: "GET", url: "/metrics", headers, remoteAddress });
    expect((await metrics({}, "203.0.113.9")).statusCode).toBe(404);
    expect((await metrics({ authorization: "Bearer wrong-token-000000" }, "203.0.113.9")).statusCode).toBe(
      404,
    );
    expect((await metrics({ authorization: `Bearer ${metricsToken}` }, "203.0.113.9")).statusCode).toBe(200);
    const user = await api.current.call(account.token, "POST", `/api/v1/accounts/${account.id}/users`, {
      login: "secure@example.com",
    });
    const signIn = await app.inject({
      method: "POST",
      url: "/api/v1/session",
      payload: { login: "secure@example.com", password: user.body.password },
    });
    expect(signIn.statusCode).toBe(200);
    expect(signIn.cookies.find((c) => c.name === "ferry_session")?.secure).toBe(true);
    await app.close();
  });

  it("answers /metrics to loopback clients without a token when none is set", async () => {
    const local = await api.current.app.inject({ method: "GET", url: "/metrics" });
    expect(local.statusCode).toBe(200);
    const remote = await api.current.app.inject({
      method: "GET",
      url: "/metrics",
      remoteAddress: "198.51.100.4",
    });
    expect(remote.statusCode).toBe(404);
  });
});
