/**
 * Account controls: API tokens listed (never shown again), revoked, expiring, capped; users disabled (their
 * sessions and tokens end), passwords changed (other sessions end), sign-out everywhere; all audited.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { MAX_ACTIVE_TOKENS } from "../../src/domain/accounts.js";
import { useTestApi } from "../helpers/api.js";

const api = useTestApi();
let account: { id: string; token: string };

const inject = (
  method: string,
  url: string,
  opts: { cookie?: string; token?: string; body?: unknown } = {},
) =>
  api.current.app.inject({
    method: method as "GET",
    url,
    headers: {
      ...(opts.cookie ? { cookie: `ferry_session=${opts.cookie}`, "x-ferry-csrf": "1" } : {}),
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
    },
    ...(opts.body !== undefined ? { payload: opts.body as object } : {}),
  });

async function newUser(login: string): Promise<{ id: string; login: string; password: string }> {
  const res = await api.current.call(account.token, "POST", `/api/v1/accounts/${account.id}/users`, {
    login,
  });
  expect(res.status).toBe(201);
  return res.body;
}

async function signIn(login: string, password: string): Promise<string | null> {
  const res = await inject("POST", "/api/v1/session", { body: { login, password } });
  return res.statusCode === 200 ? res.cookies.find((c) => c.name === "ferry_session")!.value : null;
}

const whoAmI = async (auth: { cookie?: string; token?: string }) =>
  (await inject("GET", "/api/v1/session", auth)).statusCode;

async function auditActions(): Promise<string[]> {
  const rows = await api.current.db.db
    .selectFrom("audit_events")
    .select("action")
    .where("account_id", "=", account.id)
    .execute();
  return rows.map((r) => r.action);
}

beforeAll(async () => {
  account = await api.current.newAccount("brand");
});

describe("API tokens", () => {
  it("are listed with name, prefix, last use and expiry, never the token", async () => {
    const made = await api.current.call(account.token, "POST", `/api/v1/accounts/${account.id}/tokens`, {
      name: "ETL",
      expiresInDays: 30,
    });
    expect(made.status).toBe(201);
    expect(await whoAmI({ token: made.body.token })).toBe(200);
    const list = await api.current.call(account.token, "GET", `/api/v1/accounts/${account.id}/tokens`);
    const etl = list.body.items.find((t: { id: string }) => t.id === made.body.id);
    expect(etl).toMatchObject({ name: "ETL", prefix: made.body.prefix, revokedAt: null });
    expect(etl.lastUsedAt).not.toBeNull();
    const days = (new Date(etl.expiresAt).getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThanOrEqual(30);
    expect(JSON.stringify(list.body)).not.toContain(made.body.token);
  });

  it("stop working at once when revoked, and the revocation is audited", async () => {
    const made = await api.current.call(account.token, "POST", `/api/v1/accounts/${account.id}/tokens`, {
      name: "Leaked",
    });
    const revoked = await api.current.call(
      account.token,
      "POST",
      `/api/v1/accounts/${account.id}/tokens/${made.body.id}/revoke`,
    );
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).not.toBeNull();
    expect(await whoAmI({ token: made.body.token })).toBe(401);
    expect(await auditActions()).toContain("token.revoked");
  });

  it("stop working when they expire", async () => {
    const made = await api.current.call(account.token, "POST", `/api/v1/accounts/${account.id}/tokens`, {
      name: "Short",
      expiresInDays: 1,
    });
    await api.current.db.db
      .updateTable("api_tokens")
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where("id", "=", made.body.id)
      .execute();
    expect(await whoAmI({ token: made.body.token })).toBe(401);
  });

  it("made by members always expire, and an account has at most 25 working", async () => {
    const never = await api.current.call(account.token, "POST", `/api/v1/accounts/${account.id}/tokens`, {
      expiresInDays: null,
    });
    expect(never.status).toBe(403);
    const other = await api.current.newAccount("partner");
    const codes: number[] = [];
    for (let i = 0; i < MAX_ACTIVE_TOKENS + 1; i++) {
      codes.push(
        (
          await api.current.call(other.token, "POST", `/api/v1/accounts/${other.id}/tokens`, {
            name: `t${i}`,
          })
        ).status,
      );
    }
    // The account's first token (made by the administrator) counts too.
    expect(codes.filter((c) => c === 201)).toHaveLength(MAX_ACTIVE_TOKENS - 1);
    expect(codes.at(-1)).toBe(409);
  });

  it("of another account cannot be listed or revoked", async () => {
    const other = await api.current.newAccount("partner");
    const list = await api.current.call(other.token, "GET", `/api/v1/accounts/${account.id}/tokens`);
    expect(list.status).toBe(404);
    const mine = await api.current.call(account.token, "GET", `/api/v1/accounts/${account.id}/tokens`);
    const id = mine.body.items[0].id;
    const revoke = await api.current.call(
      other.token,
      "POST",
      `/api/v1/accounts/${account.id}/tokens/${id}/revoke`,
    );
    expect(revoke.status).toBe(404);
    const wrongAccount = await api.current.call(
      other.token,
      "POST",
      `/api/v1/accounts/${other.id}/tokens/${id}/revoke`,
    );
    expect(wrongAccount.status).toBe(404);
  });
});

describe("users", () => {
  it("disabled cannot sign in; their sessions end and the tokens they made are revoked", async () => {
    const alice = await newUser("alice@example.com");
    const session = (await signIn(alice.login, alice.password))!;
    const made = await inject("POST", `/api/v1/accounts/${account.id}/tokens`, {
      cookie: session,
      body: { name: "alice's" },
    });
    expect(made.statusCode).toBe(201);
    const token = made.json().token;
    const disabled = await api.current.call(
      account.token,
      "POST",
      `/api/v1/accounts/${account.id}/users/${alice.id}/disable`,
    );
    expect(disabled.status).toBe(200);
    expect(disabled.body.disabledAt).not.toBeNull();
    expect(await whoAmI({ cookie: session })).toBe(401);
    expect(await whoAmI({ token })).toBe(401);
    expect(await signIn(alice.login, alice.password)).toBeNull();
    await api.current.call(account.token, "POST", `/api/v1/accounts/${account.id}/users/${alice.id}/enable`);
    expect(await signIn(alice.login, alice.password)).not.toBeNull();
    expect(await whoAmI({ token })).toBe(401);
    expect(await auditActions()).toEqual(expect.arrayContaining(["user.disabled", "user.enabled"]));
  });

  it("cannot disable themselves", async () => {
    const bob = await newUser("bob@example.com");
    const session = (await signIn(bob.login, bob.password))!;
    const res = await inject("POST", `/api/v1/accounts/${account.id}/users/${bob.id}/disable`, {
      cookie: session,
    });
    expect(res.statusCode).toBe(409);
  });

  it("change their password with the current one, which ends their other sessions", async () => {
    const carol = await newUser("carol@example.com");
    const here = (await signIn(carol.login, carol.password))!;
    const elsewhere = (await signIn(carol.login, carol.password))!;
    const wrong = await inject("POST", "/api/v1/session/password", {
      cookie: here,
      body: { currentPassword: "not-it", newPassword: "a-new-password-long-enough" },
    });
    expect(wrong.statusCode).toBe(401);
    const short = await inject("POST", "/api/v1/session/password", {
      cookie: here,
      body: { currentPassword: carol.password, newPassword: "short" },
    });
    expect(short.statusCode).toBe(400);
    const changed = await inject("POST", "/api/v1/session/password", {
      cookie: here,
      body: { currentPassword: carol.password, newPassword: "a-new-password-long-enough" },
    });
    expect(changed.statusCode).toBe(200);
    expect(changed.json()).toEqual({ sessionsEnded: 1 });
    expect(await whoAmI({ cookie: here })).toBe(200);
    expect(await whoAmI({ cookie: elsewhere })).toBe(401);
    expect(await signIn(carol.login, carol.password)).toBeNull();
    expect(await signIn(carol.login, "a-new-password-long-enough")).not.toBeNull();
    expect(await auditActions()).toContain("user.password_changed");
  });

  it("sign out everywhere", async () => {
    const dave = await newUser("dave@example.com");
    const sessions = [(await signIn(dave.login, dave.password))!, (await signIn(dave.login, dave.password))!];
    const res = await inject("POST", "/api/v1/session/sign-out-everywhere", { cookie: sessions[0] });
    expect(res.json()).toEqual({ sessionsEnded: 2 });
    for (const s of sessions) expect(await whoAmI({ cookie: s })).toBe(401);
    expect(await auditActions()).toContain("user.signed_out_everywhere");
  });
});
