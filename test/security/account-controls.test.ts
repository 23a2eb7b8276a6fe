/**
 * Account controls: API tokens listed (never shown again), revoked, expiring, capped; users disabled (their
 * sessions and tokens end), passwords changed (other sessions end), sign-out everywhere; roles in the account
 * (admins manage users, tokens and settings; members cannot, and it always keeps an admin); all audited.
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

type NewUser = { id: string; login: string; password: string; accountRole: "admin" | "member" };

async function newUser(
  login: string,
  accountRole: "admin" | "member" | "default" = "member",
  into: { id: string; token: string } = account,
): Promise<NewUser> {
  const res = await api.current.call(into.token, "POST", `/api/v1/accounts/${into.id}/users`, {
    login,
    ...(accountRole === "default" ? {} : { accountRole }),
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
    const bob = await newUser("bob@example.com", "admin");
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

describe("roles in the account", () => {
  /** A fresh account with an admin and a member, each signed in. */
  async function team() {
    const acc = await api.current.newAccount("brand");
    const admin = await newUser(`admin-${acc.id}@example.com`, "default", acc);
    const member = await newUser(`member-${acc.id}@example.com`, "default", acc);
    return {
      acc,
      admin: { ...admin, cookie: (await signIn(admin.login, admin.password))! },
      member: { ...member, cookie: (await signIn(member.login, member.password))! },
    };
  }

  it("default to admin for an account's first user and member after; the session says which", async () => {
    const t = await team();
    expect(t.admin.accountRole).toBe("admin");
    expect(t.member.accountRole).toBe("member");
    const asked = await newUser(`second-admin-${t.acc.id}@example.com`, "admin", t.acc);
    expect(asked.accountRole).toBe("admin");
    const who = await inject("GET", "/api/v1/session", { cookie: t.member.cookie });
    expect(who.json()).toMatchObject({ accountRole: "member", platformAdmin: false });
    const whoAdmin = await inject("GET", "/api/v1/session", { cookie: t.admin.cookie });
    expect(whoAdmin.json()).toMatchObject({ accountRole: "admin", platformAdmin: false });
  });

  it("members cannot manage users, admins' tokens or the account's settings; they do the rest", async () => {
    const t = await team();
    const base = `/api/v1/accounts/${t.acc.id}`;
    const asMember = (method: string, url: string, body?: unknown) =>
      inject(method, url, { cookie: t.member.cookie, ...(body !== undefined ? { body } : {}) });
    const refused = [
      await asMember("POST", `${base}/users`, { login: `x-${t.acc.id}@example.com` }),
      await asMember("POST", `${base}/users/${t.admin.id}/disable`),
      await asMember("PUT", `${base}/users/${t.member.id}/role`, { accountRole: "admin" }),
      await asMember("PATCH", base, { name: "Renamed by a member" }),
      await asMember("PATCH", base, { retention: { inboundDays: 1 } }),
      await asMember("POST", `${base}/tokens`, { name: "sneaky", accountRole: "admin" }),
    ];
    expect(refused.map((r) => r.statusCode)).toEqual([403, 403, 403, 403, 403, 403]);
    expect(refused[0]!.json().error.message).toBe("Only an admin of the account can add users");
    // The account is as it was.
    const acc = await api.current.call(t.acc.token, "GET", base);
    expect(acc.body.name).not.toBe("Renamed by a member");
    expect(acc.body.retention.inboundDays).toBeNull();
    // What members do: credentials, their own tokens (member tokens, by default), the lists.
    expect(
      (await asMember("POST", "/api/v1/credentials", { name: "ERP", kind: "password" })).statusCode,
    ).toBe(201);
    const made = await asMember("POST", `${base}/tokens`, { name: "mine" });
    expect(made.statusCode).toBe(201);
    expect(made.json()).toMatchObject({ accountRole: "member", userId: t.member.id });
    expect((await asMember("GET", `${base}/users`)).statusCode).toBe(200);
    // A member's token is no more than a member: it cannot change the settings either.
    const viaToken = await inject("PATCH", base, { token: made.json().token, body: { name: "Via token" } });
    expect(viaToken.statusCode).toBe(403);
    // An admin's token cannot be revoked by a member; their own can.
    const adminToken = await inject("POST", `${base}/tokens`, {
      cookie: t.admin.cookie,
      body: { name: "admin's" },
    });
    expect(adminToken.json().accountRole).toBe("admin");
    expect((await asMember("POST", `${base}/tokens/${adminToken.json().id}/revoke`)).statusCode).toBe(403);
    expect(await whoAmI({ token: adminToken.json().token })).toBe(200);
    expect((await asMember("POST", `${base}/tokens/${made.json().id}/revoke`)).statusCode).toBe(200);
    expect(await whoAmI({ token: made.json().token })).toBe(401);
  });

  it("change at once; a demoted admin's tokens lose their rights; each change is audited", async () => {
    const t = await team();
    const base = `/api/v1/accounts/${t.acc.id}`;
    const promoted = await inject("PUT", `${base}/users/${t.member.id}/role`, {
      cookie: t.admin.cookie,
      body: { accountRole: "admin" },
    });
    expect(promoted.statusCode).toBe(200);
    expect(promoted.json().accountRole).toBe("admin");
    // The member's session carries the new role from its next request.
    const renamed = await inject("PATCH", base, { cookie: t.member.cookie, body: { name: "Renamed" } });
    expect(renamed.statusCode).toBe(200);
    const token = (
      await inject("POST", `${base}/tokens`, { cookie: t.member.cookie, body: { name: "while admin" } })
    ).json();
    expect(token.accountRole).toBe("admin");
    const demoted = await inject("PUT", `${base}/users/${t.member.id}/role`, {
      cookie: t.admin.cookie,
      body: { accountRole: "member" },
    });
    expect(demoted.statusCode).toBe(200);
    expect(
      (await inject("PATCH", base, { cookie: t.member.cookie, body: { name: "Again" } })).statusCode,
    ).toBe(403);
    expect((await inject("PATCH", base, { token: token.token, body: { name: "Again" } })).statusCode).toBe(
      403,
    );
    const tokens = (await api.current.call(t.acc.token, "GET", `${base}/tokens`)).body.items;
    expect(tokens.find((x: { id: string }) => x.id === token.id).accountRole).toBe("member");
    const events = await api.current.db.db
      .selectFrom("audit_events")
      .select(["action", "details"])
      .where("account_id", "=", t.acc.id)
      .where("action", "=", "user.role_changed")
      .orderBy("id")
      .execute();
    expect(events.map((e) => e.details)).toEqual([
      expect.objectContaining({ from: "member", to: "admin" }),
      expect.objectContaining({ from: "admin", to: "member", tokensDemoted: 1 }),
    ]);
  });

  it("leave the account an admin: the last one cannot be demoted or disabled, even by two at once", async () => {
    const t = await team();
    const base = `/api/v1/accounts/${t.acc.id}`;
    // By the account's admin token (not a user): the last admin user stays.
    const demote = await api.current.call(t.acc.token, "PUT", `${base}/users/${t.admin.id}/role`, {
      accountRole: "member",
    });
    expect(demote.status).toBe(409);
    expect(demote.body.error.message).toMatch(/last admin/);
    const disable = await api.current.call(t.acc.token, "POST", `${base}/users/${t.admin.id}/disable`);
    expect(disable.status).toBe(409);
    // Two admins demote each other at the same moment: one wins, one admin remains.
    const second = await newUser(`admin2-${t.acc.id}@example.com`, "admin", t.acc);
    const secondCookie = (await signIn(second.login, second.password))!;
    const both = await Promise.all([
      inject("PUT", `${base}/users/${second.id}/role`, {
        cookie: t.admin.cookie,
        body: { accountRole: "member" },
      }),
      inject("PUT", `${base}/users/${t.admin.id}/role`, {
        cookie: secondCookie,
        body: { accountRole: "member" },
      }),
    ]);
    expect(both.map((r) => r.statusCode).sort()).toEqual([200, 403]);
    const users = (await api.current.call(t.acc.token, "GET", `${base}/users`)).body.items;
    expect(users.filter((u: { accountRole: string }) => u.accountRole === "admin")).toHaveLength(1);
  });

  it("of another account cannot be changed", async () => {
    const t = await team();
    const other = await team();
    const res = await inject("PUT", `/api/v1/accounts/${t.acc.id}/users/${t.member.id}/role`, {
      cookie: other.admin.cookie,
      body: { accountRole: "admin" },
    });
    expect(res.statusCode).toBe(404);
    const users = (await api.current.call(t.acc.token, "GET", `/api/v1/accounts/${t.acc.id}/users`)).body
      .items;
    expect(users.find((u: { id: string }) => u.id === t.member.id).accountRole).toBe("member");
  });
});
