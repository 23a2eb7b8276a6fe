/**
 * Web sessions: sign-in with a user's login sets an http-only cookie that authenticates API calls (changes
 * need the CSRF header); sign-out ends it; users see only their own account. Also the UI's helpers: key
 * check, connection activity, per-day activity, newest-first history.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { useTestApi } from "../helpers/api.js";

const api = useTestApi();
let account: { id: string; token: string };
let user: { login: string; password: string };

const inject = (
  method: string,
  url: string,
  opts: { cookie?: string; body?: unknown; csrf?: boolean } = {},
) =>
  api.current.app.inject({
    method: method as "GET",
    url,
    headers: {
      ...(opts.cookie ? { cookie: `ferry_session=${opts.cookie}` } : {}),
      ...(opts.csrf ? { "x-ferry-csrf": "1" } : {}),
    },
    ...(opts.body !== undefined ? { payload: opts.body as object } : {}),
  });

async function signIn(login: string, password: string): Promise<string> {
  const res = await inject("POST", "/api/v1/session", { body: { login, password } });
  expect(res.statusCode).toBe(200);
  const cookie = res.cookies.find((c) => c.name === "ferry_session");
  expect(cookie).toBeDefined();
  return cookie!.value;
}

beforeAll(async () => {
  account = await api.current.newAccount("brand");
  const res = await api.current.call(account.token, "POST", `/api/v1/accounts/${account.id}/users`, {
    login: "Ops@Example.com",
  });
  expect(res.status).toBe(201);
  user = { login: res.body.login, password: res.body.password };
});

describe("sign-in", () => {
  it("creates users with a generated password shown once, lower-cased logins, unique", async () => {
    expect(user.login).toBe("ops@example.com");
    expect(user.password).toMatch(/^[A-Za-z0-9]{24}$/);
    const again = await api.current.call(account.token, "POST", `/api/v1/accounts/${account.id}/users`, {
      login: "ops@example.com",
    });
    expect(again.status).toBe(409);
    const list = await api.current.call(account.token, "GET", `/api/v1/accounts/${account.id}/users`);
    expect(list.body.items.map((u: { login: string }) => u.login)).toEqual(["ops@example.com"]);
    expect(JSON.stringify(list.body)).not.toContain(user.password);
    const other = await api.current.newAccount("partner");
    expect((await api.current.call(other.token, "GET", `/api/v1/accounts/${account.id}/users`)).status).toBe(
      404,
    );
  });

  it("sets an http-only, SameSite=Strict cookie that authenticates, and stores only its hash", async () => {
    const res = await inject("POST", "/api/v1/session", {
      body: { login: "OPS@example.com", password: user.password },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      account: { id: account.id },
      user: { login: user.login },
      via: "session",
    });
    const setCookie = String(res.headers["set-cookie"]);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    const token = res.cookies.find((c) => c.name === "ferry_session")!.value;
    const stored = await api.current.db.pool.query("SELECT token_hash FROM sessions");
    expect(JSON.stringify(stored.rows)).not.toContain(token);
    const me = await inject("GET", "/api/v1/session", { cookie: token });
    expect(me.json()).toMatchObject({ user: { login: user.login }, account: { id: account.id } });
  });

  it("refuses a wrong password and an unknown login alike", async () => {
    const wrong = await inject("POST", "/api/v1/session", { body: { login: user.login, password: "nope" } });
    const unknown = await inject("POST", "/api/v1/session", { body: { login: "nobody", password: "nope" } });
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(wrong.json().error.message).toBe(unknown.json().error.message);
    expect(wrong.headers["set-cookie"]).toBeUndefined();
  });

  it("needs the CSRF header for changes made with the cookie", async () => {
    const cookie = await signIn(user.login, user.password);
    const body = { name: "web", kind: "password" };
    const without = await inject("POST", "/api/v1/credentials", { cookie, body });
    expect(without.statusCode).toBe(403);
    expect(without.json().error.message).toMatch(/x-ferry-csrf/);
    const withHeader = await inject("POST", "/api/v1/credentials", { cookie, body, csrf: true });
    expect(withHeader.statusCode).toBe(201);
    // Audited as the user.
    const audit = await api.current.call(
      account.token,
      "GET",
      `/api/v1/credentials/${withHeader.json().id}/audit`,
    );
    expect(audit.body.items[0]).toMatchObject({ actorType: "user" });
  });

  it("sees only its own account's objects", async () => {
    const other = await api.current.newAccount("brand");
    const foreign = await api.current.call(other.token, "POST", "/api/v1/credentials", {
      name: "theirs",
      kind: "password",
    });
    const cookie = await signIn(user.login, user.password);
    const list = await inject("GET", "/api/v1/credentials", { cookie });
    expect(list.json().items.map((c: { id: string }) => c.id)).not.toContain(foreign.body.id);
    expect((await inject("GET", `/api/v1/credentials/${foreign.body.id}`, { cookie })).statusCode).toBe(404);
  });

  it("ends at sign-out: the cookie no longer works", async () => {
    const cookie = await signIn(user.login, user.password);
    const out = await inject("DELETE", "/api/v1/session", { cookie, csrf: true });
    expect(out.statusCode).toBe(204);
    const after = await inject("GET", "/api/v1/credentials", { cookie });
    expect(after.statusCode).toBe(401);
    expect(after.json().error.message).toMatch(/session has ended/);
  });

  it("bans a login after repeated failures, even with the right password", async () => {
    const res = await api.current.call(account.token, "POST", `/api/v1/accounts/${account.id}/users`, {
      login: "target",
    });
    for (let i = 0; i < 10; i++) {
      await inject("POST", "/api/v1/session", { body: { login: "target", password: `guess-${i}` } });
    }
    const banned = await inject("POST", "/api/v1/session", {
      body: { login: "target", password: res.body.password },
    });
    expect(banned.statusCode).toBe(429);
  });
});

describe("what the web UI reads", () => {
  it("checks a public key without storing it", async () => {
    const ok = await api.current.call(account.token, "POST", "/api/v1/credentials/check-key", {
      publicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl user@host",
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ keyType: "ssh-ed25519", keyBits: 256 });
    expect(ok.body.fingerprint).toMatch(/^SHA256:/);
    const bad = await api.current.call(account.token, "POST", "/api/v1/credentials/check-key", {
      publicKey: "ssh-rsa not-a-key",
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields[0].path).toBe("publicKey");
    expect(
      (await api.current.call(account.token, "GET", "/api/v1/credentials?kind=public_key")).body.items,
    ).toEqual([]);
  });

  it("gives connections their latest activity and per-day counts, and history newest first", async () => {
    const credential = (
      await api.current.call(account.token, "POST", "/api/v1/credentials", { name: "feed", kind: "password" })
    ).body;
    const connection = (
      await api.current.call(account.token, "POST", "/api/v1/connections", {
        name: "Clicks in",
        direction: "inbound",
        dataType: "clicks",
        method: "sftp",
        methodology: "push_to_platform",
        credentialId: credential.id,
      })
    ).body;
    expect(connection.activity).toEqual({ status: "none", lastActiveAt: null, problem: null });
    const to = { accountId: account.id, connectionId: connection.id };
    const first = await api.current.receive(to, "a.csv", "ClickId,CampaignId\n");
    const get = async () =>
      (await api.current.call(account.token, "GET", `/api/v1/connections/${connection.id}`)).body;
    expect((await get()).activity.status).toBe("in_progress");
    await api.current.process(first.transferId);
    expect((await get()).activity.status).toBe("failed");
    const second = await api.current.receive(to, "b.csv", "ClickId,CampaignId,EventDate\n");
    await api.current.process(second.transferId);
    const after = await get();
    expect(after.activity.status).toBe("failed");
    expect(new Date(after.activity.lastActiveAt).getTime()).toBeGreaterThan(Date.now() - 60_000);

    const days = (
      await api.current.call(account.token, "GET", `/api/v1/connections/${connection.id}/activity?days=30`)
    ).body.items;
    expect(days).toHaveLength(30);
    expect(days.at(-1)).toMatchObject({ files: 2, failed: 2 });
    expect(days.slice(0, -1).every((d: { files: number }) => d.files === 0)).toBe(true);

    const desc = (
      await api.current.call(
        account.token,
        "GET",
        `/api/v1/connections/${connection.id}/transfers?order=desc&limit=1`,
      )
    ).body;
    expect(desc.items[0].id).toBe(second.transferId);
    const next = (
      await api.current.call(
        account.token,
        "GET",
        `/api/v1/connections/${connection.id}/transfers?order=desc&limit=1&cursor=${desc.nextCursor}`,
      )
    ).body;
    expect(next.items[0].id).toBe(first.transferId);
  });
});
