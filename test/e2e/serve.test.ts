import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../helpers/db.js";
import { type RunningFerry, runCli, startServe } from "../helpers/ferry.js";
import { freePort } from "../helpers/ports.js";

let dataDir: string;
let database: { url: string; drop: () => Promise<void> };
let env: Record<string, string>;
let ferry: RunningFerry;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), "ferry-e2e-"));
  database = await createTestDatabase();
  env = { DATABASE_URL: database.url, FERRY_DATA_DIR: dataDir, FERRY_HTTP_PORT: String(await freePort()) };
  ferry = await startServe(env);
});

afterAll(async () => {
  await ferry?.stop();
  await database?.drop();
  await rm(dataDir, { recursive: true, force: true });
});

function firstStart(output: string): { login: string; password: string; token: string } | null {
  const login = /Login:\s+(\S+)/.exec(output)?.[1];
  const password = /Password:\s+(\S+)/.exec(output)?.[1];
  const token = /API token:\s+(\S+)/.exec(output)?.[1];
  return login && password && token ? { login, password, token } : null;
}

describe("ferry serve with DATABASE_URL", () => {
  it("uses that database and starts no embedded PostgreSQL", async () => {
    expect(existsSync(path.join(dataDir, "postgres"))).toBe(false);
    const health = await fetch(`${ferry.url}/healthz`);
    expect(await health.json()).toEqual({ status: "ok" });
  });

  it("is live and ready, and `ferry status` says so (exit 0), or that it cannot be reached (exit 1)", async () => {
    expect((await fetch(`${ferry.url}/livez`)).status).toBe(200);
    // The UI's bundle goes compressed to browsers (brotli here), and decompresses to what was built.
    const html = await (await fetch(`${ferry.url}/`)).text();
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const js = await fetch(`${ferry.url}${script}`, { headers: { "accept-encoding": "br" } });
    expect(js.headers.get("content-encoding")).toBe("br");
    expect((await js.text()).length).toBeGreaterThan(100_000);
    const ready = await fetch(`${ferry.url}/readyz`);
    expect(ready.status).toBe(200);
    expect((await ready.json()).checks.map((c: { name: string; ok: boolean }) => [c.name, c.ok])).toEqual([
      ["database", true],
      ["migrations", true],
      ["store", true],
      ["queue", true],
    ]);
    const status = await runCli(["status"], { FERRY_URL: ferry.url });
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^CHECK\s+STATE\s+DETAIL\ndatabase\s+ok\s+answers\n/);
    expect(status.stdout).toContain(`Ferry at ${ferry.url} is ready.`);
    const json = await runCli(["status", "--json"], { FERRY_URL: ferry.url });
    expect(json.json()).toMatchObject({ url: ferry.url, status: "ready" });
    const away = await runCli(["status"], { FERRY_URL: `http://127.0.0.1:${await freePort()}` });
    expect(away.code).toBe(6);
    expect(away.stderr).toMatch(/cannot be reached/);
  });

  it("prints the administrator's login once, on the first start only", async () => {
    const creds = firstStart(ferry.output());
    expect(creds).toMatchObject({ login: "admin", token: expect.stringMatching(/^fry_/) });
    // A line to copy as it is: this server's address (not the default port here) and the token.
    expect(ferry.output()).toContain(
      `Try:  export FERRY_URL=${ferry.url} FERRY_TOKEN=${creds!.token}; npx ferry credentials list`,
    );
    const me = await fetch(`${ferry.url}/api/v1/accounts`, {
      headers: { authorization: `Bearer ${creds!.token}` },
    });
    expect(me.status).toBe(200);
    // The log lines (JSON) never carry the secrets; only the human block does.
    const logLines = ferry
      .output()
      .split("\n")
      .filter((l) => l.startsWith("{"));
    expect(logLines.join("\n")).not.toContain(creds!.password);
    expect(logLines.join("\n")).not.toContain(creds!.token);

    await ferry.stop();
    ferry = await startServe(env);
    expect(firstStart(ferry.output())).toBeNull();
    expect(ferry.output()).not.toContain(creds!.password);
  });
});

describe("the ferry CLI", () => {
  let admin: Record<string, string>;
  beforeAll(() => {
    // The first start's token was printed by the process that has since restarted; mint one with the API.
    admin = { FERRY_URL: ferry.url };
  });

  it("works through the API with an account's token, as JSON or for people", async () => {
    const token = await adminToken();
    const account = await runCli(["accounts", "create", "--name", "Brand A", "--type", "brand", "--json"], {
      ...admin,
      FERRY_TOKEN: token,
    });
    expect(account.code).toBe(0);
    const tokenA = (
      await runCli(["tokens", "create", "--account", account.json().id, "--json"], {
        ...admin,
        FERRY_TOKEN: token,
      })
    ).json().token;
    const asA = { ...admin, FERRY_TOKEN: tokenA };

    // A user for the web UI, made with the CLI, signs in; the UI itself is served on the same port.
    const user = await runCli(
      ["users", "create", "--account", account.json().id, "--login", "ops@brand-a.test"],
      asA,
    );
    expect(user.code).toBe(0);
    expect(user.stdout).toMatch(/never shown again/);
    const userPassword = /password:\s+(\S+)/.exec(user.stdout)![1]!;
    const signIn = await fetch(`${ferry.url}/api/v1/session`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ login: "ops@brand-a.test", password: userPassword }),
    });
    expect(signIn.status).toBe(200);
    expect(signIn.headers.get("set-cookie")).toMatch(/^ferry_session=.*HttpOnly/);
    for (const page of ["/", "/settings/technical/connections/new"]) {
      const html = await fetch(`${ferry.url}${page}`);
      expect(html.headers.get("content-type")).toMatch(/text\/html/);
      expect(html.headers.get("content-security-policy")).toMatch(/default-src 'self'/);
      expect(await html.text()).toContain('<div id="root">');
    }
    const missing = await fetch(`${ferry.url}/api/v1/nothing-here`);
    expect(missing.status).toBe(401);
    expect((await fetch(`${ferry.url}/downloads/nothing`)).headers.get("content-type")).toMatch(/json/);

    const cred = await runCli(["credentials", "create", "--name", "Uploads", "--kind", "password"], asA);
    expect(cred.code).toBe(0);
    expect(cred.stdout).toMatch(/password: [A-Za-z0-9]{24}/);
    expect(cred.stdout).toMatch(/never shown again/);
    const password = /password: (\S+)/.exec(cred.stdout)![1]!;
    const credId = /id:\s+(\S+)/.exec(cred.stdout)![1]!;

    const list = await runCli(["credentials", "list"], asA);
    expect(list.stdout).toMatch(/Uploads\s+password\s+uploads-/);
    expect(list.stdout).not.toContain(password);

    const keyFile = (name: string) => new URL(`../fixtures/keys/${name}`, import.meta.url).pathname;
    const keyCred = await runCli(
      [
        "credentials",
        "create",
        "--name",
        "Laptop",
        "--kind",
        "public_key",
        "--public-key-file",
        keyFile("ed25519.pub"),
        "--json",
      ],
      asA,
    );
    expect(keyCred.json().fingerprint).toBe("SHA256:Re3w0vaK+pd1nnpVDzFgtXijX9JBKU1c9smBWCOIFgE");
    const rotated = await runCli(
      [
        "credentials",
        "rotate-key",
        keyCred.json().id,
        "--public-key-file",
        keyFile("ecdsa521.pub"),
        "--json",
      ],
      asA,
    );
    expect(rotated.json().fingerprint).toBe("SHA256:6t71Oi6t+KHdJKm9jPwCz6H8B694IMM2mouOGKaTXtk");
    const weak = await runCli(
      ["credentials", "rotate-key", keyCred.json().id, "--public-key-file", keyFile("rsa1024.pub")],
      asA,
    );
    expect(weak.code).not.toBe(0);
    expect(weak.stderr).toMatch(/publicKey: Public key is RSA with 1024 bits/);
    expect(
      (await runCli(["credentials", "rename", keyCred.json().id, "Old laptop", "--json"], asA)).json().name,
    ).toBe("Old laptop");

    const reset = await runCli(["credentials", "reset", credId, "--json"], asA);
    expect(reset.json().password).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(reset.json().password).not.toBe(password);

    const conn = await runCli(
      [
        "connections",
        "create",
        "--name",
        "Orders",
        "--direction",
        "inbound",
        "--data-type",
        "conversions",
        "--method",
        "sftp",
        "--methodology",
        "push_to_platform",
        "--credential",
        credId,
        "--json",
      ],
      asA,
    );
    expect(conn.code).toBe(0);
    const connId = conn.json().id;
    expect((await runCli(["connections", "disable", connId, "--json"], asA)).json().status).toBe("disabled");
    expect((await runCli(["connections", "list", "--status", "disabled"], asA)).stdout).toMatch(
      /Orders\s+conversions\s+inbound\s+sftp\s+push_to_platform\s+disabled/,
    );
    expect((await runCli(["connections", "enable", connId, "--json"], asA)).json().status).toBe("active");
    expect((await runCli(["connections", "show", connId], asA)).stdout).toMatch(/status:\s+active/);
    // The account's audit trail: the table (newest first), and every event as CSV.
    const trail = await runCli(["audit", "--action", "connection."], asA);
    expect(trail.code).toBe(0);
    expect(trail.stdout).toMatch(
      /^AT\s+ACTION\s+BY\s+ACTOR\s+ON\s+OBJECT\s+IP\n\S+\s+connection\.enabled\s+token\s/,
    );
    expect(trail.stdout).toMatch(/connection\.created/);
    const csv = await runCli(["audit", "--csv", "--object", connId], asA);
    expect(csv.stdout.split("\r\n")[0]).toBe("at,action,actorType,actorId,objectType,objectId,ip,details");
    expect(csv.stdout).toMatch(/,connection\.disabled,token,/);
    // Pulling a connection that is pushed to: not possible in its state (409), exit status 5.
    const notPull = await runCli(["connections", "pull", connId], asA);
    expect(notPull.code).toBe(5);
    expect(notPull.stderr).toMatch(/Only connections that pull from a third party can pull now/);

    // Another account's token sees none of it.
    const accountB = (
      await runCli(["accounts", "create", "--name", "Partner B", "--type", "partner", "--json"], {
        ...admin,
        FERRY_TOKEN: token,
      })
    ).json();
    const asB = {
      ...admin,
      FERRY_TOKEN: (
        await runCli(["tokens", "create", "--account", accountB.id, "--json"], {
          ...admin,
          FERRY_TOKEN: token,
        })
      ).json().token,
    };
    const peek = await runCli(["connections", "show", connId], asB);
    expect(peek.code).toBe(4);
    expect(peek.stderr).toMatch(/Connection not found/);
    expect((await runCli(["credentials", "reset", credId], asB)).code).not.toBe(0);
    expect((await runCli(["connections", "list", "--json"], asB)).json()).toEqual([]);
  });

  it("lists and revokes API tokens, gives users roles and disables them", async () => {
    const admin2 = { ...admin, FERRY_TOKEN: await adminToken() };
    const account = (
      await runCli(["accounts", "create", "--name", "Brand T", "--type", "brand", "--json"], admin2)
    ).json();
    const made = await runCli(
      [
        "tokens",
        "create",
        "--account",
        account.id,
        "--name",
        "etl",
        "--expires-in-days",
        "7",
        "--role",
        "member",
      ],
      admin2,
    );
    expect(made.stdout).toMatch(/accountRole: member/);
    const list = await runCli(["tokens", "list", "--account", account.id], admin2);
    expect(list.stdout).toMatch(/NAME\s+PREFIX\s+ROLE\s+LAST USED\s+EXPIRES\s+REVOKED/);
    const id = (await runCli(["tokens", "list", "--account", account.id, "--json"], admin2)).json()[0].id;
    const revoked = await runCli(["tokens", "revoke", id, "--account", account.id, "--json"], admin2);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.json().revokedAt).not.toBeNull();
    const create = async (login: string, role?: string) =>
      (
        await runCli(
          [
            "users",
            "create",
            "--account",
            account.id,
            "--login",
            login,
            ...(role ? ["--role", role] : []),
            "--json",
          ],
          admin2,
        )
      ).json();
    // The account's first user is its admin; the next one, asked for, a member.
    const lead = await create("lead@brand-t.test");
    expect(lead.accountRole).toBe("admin");
    const user = await create("temp@brand-t.test", "member");
    expect(user.accountRole).toBe("member");
    const users = await runCli(["users", "list", "--account", account.id], admin2);
    expect(users.stdout).toMatch(/lead@brand-t\.test\s+admin/);
    expect(users.stdout).toMatch(/temp@brand-t\.test\s+member/);
    // The last admin stays one: exit code 5 (conflict), with the reason.
    const last = await runCli(["users", "set-role", lead.id, "member", "--account", account.id], admin2);
    expect(last.code).toBe(5);
    expect(last.stderr).toMatch(/last admin/);
    const promoted = await runCli(
      ["users", "set-role", user.id, "admin", "--account", account.id, "--json"],
      admin2,
    );
    expect(promoted.code, promoted.stderr).toBe(0);
    expect(promoted.json().accountRole).toBe("admin");
    const disabled = await runCli(["users", "disable", user.id, "--account", account.id, "--json"], admin2);
    expect(disabled.code, disabled.stderr).toBe(0);
    expect(disabled.json().disabledAt).not.toBeNull();
  });

  it("explains bad input and exits non-zero", async () => {
    const asAdmin = { ...admin, FERRY_TOKEN: await adminToken() };
    const bad = await runCli(
      [
        "connections",
        "create",
        "--name",
        "x",
        "--direction",
        "outbound",
        "--data-type",
        "clicks",
        "--method",
        "ftp",
        "--methodology",
        "pull_from_platform",
      ],
      asAdmin,
    );
    // Exit statuses tell scripts what went wrong (ferry --help lists them).
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(
      /dataType: "clicks" is not a data type of outbound connections; allowed: reports, performance_bonus_detail/,
    );
    const choice = await runCli(["connections", "list", "--method", "pigeon"], asAdmin);
    expect(choice.code).toBe(2);
    expect(choice.stderr).toMatch(/Allowed choices are sftp, ftp, email/);
    const noToken = await runCli(["credentials", "list"], admin);
    expect(noToken.code).toBe(3);
    expect(noToken.stderr).toMatch(/No API token/);
    const down = await runCli(["credentials", "list", "--url", "http://127.0.0.1:1"], { FERRY_TOKEN: "x" });
    expect(down.stderr).toMatch(/Cannot reach Ferry/);
    expect(down.code).toBe(6);
    const missing = await runCli(["connections", "show", "0190a0b0-0000-7000-8000-000000000000"], asAdmin);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toMatch(/Connection not found/);
    const bogus = await runCli(["credentials", "list"], { ...admin, FERRY_TOKEN: "fry_not_a_real_token" });
    expect(bogus.code).toBe(3);
    const help = await runCli(["credentials", "create", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--kind <kind>/);
    const top = await runCli(["--help"]);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/Exit status: 0 done; 1 failed; 2 wrong usage/);
    expect((await runCli(["--version"])).code).toBe(0);
  });

  /** A fresh administrator token, made the way an operator would: none is needed beyond the database. */
  async function adminToken(): Promise<string> {
    const pg = (await import("pg")).default;
    const { generateToken, hashToken, tokenPrefix } = await import("../../src/domain/secrets.js");
    const { newId } = await import("../../src/db/ids.js");
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const token = generateToken();
    await client.query(
      `INSERT INTO api_tokens (id, account_id, name, role, account_role, token_hash, prefix)
       SELECT $1, account_id, 'e2e', 'admin', 'admin', $2, $3 FROM users WHERE login = 'admin'`,
      [newId(), hashToken(token), tokenPrefix(token)],
    );
    await client.end();
    return token;
  }
});

describe("configuration", () => {
  it("stops start-up on a bad value, naming the variable and the reason", async () => {
    const res = await runCli(["serve"], { FERRY_HTTP_PORT: "eighty", FERRY_DATA_DIR: dataDir });
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/FERRY_HTTP_PORT: .*number/i);
  });

  it("migrates on demand and reports what it did", async () => {
    const res = await runCli(["migrate", "--json"], { DATABASE_URL: database.url, FERRY_DATA_DIR: dataDir });
    expect(res.code).toBe(0);
    expect(res.json()).toEqual([
      { id: 1, name: "foundation", status: "already_applied" },
      { id: 2, name: "transfers", status: "already_applied" },
      { id: 3, name: "platform", status: "already_applied" },
      { id: 4, name: "outbound", status: "already_applied" },
      { id: 5, name: "sessions", status: "already_applied" },
      { id: 6, name: "pulls", status: "already_applied" },
      { id: 7, name: "account_controls", status: "already_applied" },
      { id: 8, name: "status_vocabulary", status: "already_applied" },
      { id: 9, name: "storage_quota", status: "already_applied" },
      { id: 10, name: "credential_sessions", status: "already_applied" },
      { id: 11, name: "shared_login_state", status: "already_applied" },
      { id: 12, name: "server_secrets", status: "already_applied" },
      { id: 13, name: "history", status: "already_applied" },
      { id: 14, name: "bulk_children", status: "already_applied" },
      { id: 15, name: "audit_by_account", status: "already_applied" },
      { id: 16, name: "account_roles", status: "already_applied" },
      { id: 17, name: "honest_status", status: "already_applied" },
      { id: 18, name: "reprocess", status: "already_applied" },
      { id: 19, name: "webhooks", status: "already_applied" },
      { id: 20, name: "deadlines", status: "already_applied" },
      { id: 21, name: "notifications", status: "already_applied" },
      { id: 22, name: "pgp_keys", status: "already_applied" },
    ]);
  });
});
