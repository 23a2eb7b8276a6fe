import { existsSync, statSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningFerry, runCli, startServe } from "../helpers/ferry.js";
import { freePort } from "../helpers/ports.js";

let dataDir: string;
let env: Record<string, string>;
let ferry: RunningFerry | undefined;
const token = `e2e_admin_token_${Date.now()}_abcdefghijkl`;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), "ferry-embedded-"));
  env = {
    FERRY_DATA_DIR: dataDir,
    FERRY_HTTP_PORT: String(await freePort()),
    FERRY_EMBEDDED_PG_PORT: String(await freePort()),
    FERRY_ADMIN_PASSWORD: "a-long-admin-password",
    FERRY_ADMIN_TOKEN: token,
  };
});

afterAll(async () => {
  await ferry?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

const api = (url: string, method: string, body?: unknown) =>
  fetch(`${ferry!.url}${url}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });

const portRefused = async (port: number) => {
  const net = await import("node:net");
  return new Promise<boolean>((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(true));
  });
};

/** A client of the embedded cluster's `ferry` database as `user`, with the password Ferry keeps in `file`. */
async function dbClient(user: string, file: string) {
  const pg = (await import("pg")).default;
  const password = (await readFile(path.join(dataDir, file), "utf8")).trim();
  const client = new pg.Client({
    host: "127.0.0.1",
    port: Number(env.FERRY_EMBEDDED_PG_PORT),
    database: "ferry",
    user,
    password,
  });
  await client.connect();
  return client;
}

/** Tables, sequences, functions and schemas of Ferry's database that the superuser still owns. */
async function ownedBySuperuser(client: import("pg").Client): Promise<string[]> {
  const r = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relowner = 'ferry'::regrole AND n.nspname IN ('public', 'ferry_jobs')
     UNION ALL SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE p.proowner = 'ferry'::regrole AND n.nspname IN ('public', 'ferry_jobs')
     UNION ALL SELECT nspname FROM pg_namespace WHERE nspowner = 'ferry'::regrole AND nspname IN ('public', 'ferry_jobs')
     UNION ALL SELECT datname FROM pg_database WHERE datdba = 'ferry'::regrole AND datname = 'ferry'`,
  );
  return r.rows.map((x) => x.name);
}

describe("ferry serve with no DATABASE_URL", () => {
  it("starts an embedded PostgreSQL in its data directory and takes the administrator from the environment", async () => {
    ferry = await startServe(env);
    expect(statSync(path.join(dataDir, "postgres", "PG_VERSION")).isFile()).toBe(true);
    expect(ferry.output()).toMatch(/Password:\s+\(from FERRY_ADMIN_PASSWORD\)/);
    expect(ferry.output()).toMatch(/API token:\s+\(from FERRY_ADMIN_TOKEN\)/);
    expect(ferry.output()).not.toContain("a-long-admin-password");
    expect(statSync(path.join(dataDir, "postgres.password")).mode & 0o777).toBe(0o600);
    const res = await api("/api/v1/credentials", "POST", { name: "Survives restarts", kind: "password" });
    expect(res.status).toBe(201);
  });

  it("works as a database role that is no superuser, and owns what it made", async () => {
    expect(statSync(path.join(dataDir, "postgres-app.password")).mode & 0o777).toBe(0o600);
    const app = await dbClient("ferry_app", "postgres-app.password");
    try {
      const me = await app.query(
        "SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user",
      );
      expect(me.rows).toEqual([{ rolsuper: false, rolcreaterole: false, rolcreatedb: false }]);
      await expect(app.query("COPY (SELECT 1) TO PROGRAM 'true'")).rejects.toThrow(
        /permission denied|must be superuser|pg_execute_server_program/,
      );
      await expect(app.query("SELECT pg_read_file('postgresql.conf')")).rejects.toThrow(/permission denied/);
      expect(await ownedBySuperuser(app)).toEqual([]);
    } finally {
      await app.end();
    }
  });

  it("restarts on the same data in well under 10 seconds, keeping everything", async () => {
    // A cluster from before Ferry stopped working as the superuser: everything owned by it. Handed over at start.
    const admin = await dbClient("ferry", "postgres.password");
    try {
      await admin.query("REASSIGN OWNED BY ferry_app TO ferry");
      expect((await ownedBySuperuser(admin)).length).toBeGreaterThan(20);
    } finally {
      await admin.end();
    }
    await ferry!.stop();
    ferry = await startServe(env);
    expect(ferry.readyMs).toBeLessThan(10_000);
    const app = await dbClient("ferry_app", "postgres-app.password");
    try {
      expect(await ownedBySuperuser(app)).toEqual([]);
    } finally {
      await app.end();
    }
    expect(ferry.output()).not.toMatch(/Ferry is set up/);
    const list = (await (await api("/api/v1/credentials", "GET")).json()) as { items: { name: string }[] };
    expect(list.items.map((c: { name: string }) => c.name)).toEqual(["Survives restarts"]);
  });

  it("starts again after a crash (SIGKILL) that left its PostgreSQL running, losing nothing", async () => {
    await ferry!.stop("SIGKILL");
    // What an upload cut by the crash leaves in the store: removed at the next start.
    const leftover = path.join(dataDir, "files", "tmp", "0190a0a0-0000-7000-8000-000000000000.upload");
    await mkdir(path.dirname(leftover), { recursive: true });
    await writeFile(leftover, "half a file");
    ferry = await startServe(env);
    expect(existsSync(leftover)).toBe(false);
    const list = (await (await api("/api/v1/credentials", "GET")).json()) as { items: { name: string }[] };
    expect(list.items.map((c) => c.name)).toEqual(["Survives restarts"]);
  });

  it("refuses a second start on the same data directory, and the first one keeps working", async () => {
    const second = await runCli(["serve"], {
      ...env,
      FERRY_HTTP_PORT: String(await freePort()),
      FERRY_SFTP_PORT: String(await freePort()),
      FERRY_FTP_PORT: String(await freePort()),
      FERRY_SMTP_PORT: String(await freePort()),
    });
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/is in use by another Ferry \(pid \d+\)/);
    expect((await api("/api/v1/credentials", "GET")).status).toBe(200);
    const migrate = await runCli(["migrate"], env);
    expect(migrate.stderr).toMatch(/is in use by another Ferry/);
    expect((await api("/api/v1/credentials", "GET")).status).toBe(200);
  });

  it("starts its PostgreSQL again when it dies, unhealthy meanwhile, and answers as before after", async () => {
    const pid = Number(
      (await readFile(path.join(dataDir, "postgres", "postmaster.pid"), "utf8")).split("\n")[0],
    );
    process.kill(pid, "SIGKILL");
    const seen = new Set<number>();
    let back = false;
    for (let i = 0; i < 300 && !back; i++) {
      const health = await fetch(`${ferry!.url}/healthz`).then((r) => r.status);
      seen.add(health);
      back = health === 200 && seen.has(503);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(seen.has(503)).toBe(true);
    expect(back).toBe(true);
    expect((await api("/api/v1/credentials", "GET")).status).toBe(200);
    expect(ferry!.output()).toMatch(/the embedded PostgreSQL is running again/);
  });

  it("stops on SIGTERM in the middle of processing: exit 0, its PostgreSQL stopped, the file done after restart", async () => {
    const c = await (
      await api("/api/v1/connections", "POST", {
        name: "Clicks",
        direction: "inbound",
        dataType: "clicks",
        method: "email",
        methodology: "push_to_platform",
      })
    ).json();
    const rows = Array.from({ length: 200_000 }, (_, i) => `c${i},1,1,2026-11-30T10:00:00Z`).join("\n");
    const up = await fetch(`${ferry!.url}/api/v1/connections/${c.id}/files?name=clicks.csv`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/octet-stream" },
      body: `ClickId,CampaignId,MediaId,EventDate\n${rows}\n`,
    });
    expect(up.status).toBe(201);
    const { id } = (await up.json()) as { id: string };
    for (let i = 0; i < 100; i++) {
      const t = (await (await api(`/api/v1/transfers/${id}`, "GET")).json()) as { status: string };
      if (t.status !== "received") break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await ferry!.stop("SIGTERM")).toBe(0);
    expect(await portRefused(Number(env.FERRY_EMBEDDED_PG_PORT))).toBe(true);
    ferry = await startServe(env);
    let status = "";
    for (let i = 0; i < 300 && !["processed", "partial", "rejected", "failed"].includes(status); i++) {
      status = ((await (await api(`/api/v1/transfers/${id}`, "GET")).json()) as { status: string }).status;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toMatch(/^(processed|partial|rejected|failed)$/);
  });

  it("stops its PostgreSQL when it stops", async () => {
    expect(await ferry!.stop()).toBe(0);
    ferry = undefined;
    const net = await import("node:net");
    const refused = await new Promise<boolean>((resolve) => {
      const socket = net.connect(Number(env.FERRY_EMBEDDED_PG_PORT), "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(false);
      });
      socket.once("error", () => resolve(true));
    });
    expect(refused).toBe(true);
  });
});

describe("ferry admin reset-password", () => {
  it("gives the administrator new secrets offline, printed once; the old token stops working", async () => {
    const reset = await runCli(["admin", "reset-password", "--new-token"], env);
    expect(reset.code, reset.stderr).toBe(0);
    const password = /Password:\s+(\S+)/.exec(reset.stdout)![1]!;
    const newToken = /API token:\s+(\S+)/.exec(reset.stdout)![1]!;
    ferry = await startServe(env);
    const signIn = await fetch(`${ferry.url}/api/v1/session`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ login: "admin", password }),
    });
    expect(signIn.status).toBe(200);
    const asAdmin = (t: string) =>
      fetch(`${ferry!.url}/api/v1/accounts`, { headers: { authorization: `Bearer ${t}` } }).then(
        (r) => r.status,
      );
    expect(await asAdmin(newToken)).toBe(200);
    expect(await asAdmin(token)).toBe(401);
    // While Ferry runs on the data directory, the offline command refuses (it would start a second PostgreSQL).
    const busy = await runCli(["admin", "reset-password"], env);
    expect(busy.stderr).toMatch(/is in use by another Ferry/);
    await ferry.stop();
    ferry = undefined;
    // For automation: the same as JSON (no new token unless asked).
    const json = await runCli(["admin", "reset-password", "--json"], env);
    expect(json.code, json.stderr).toBe(0);
    expect(json.json()).toEqual({ login: "admin", password: expect.any(String), token: null });
    expect(json.json().password).not.toBe(password);
  });
});

describe("the embedded PostgreSQL as root", () => {
  it.runIf(process.getuid?.() === 0)(
    "explains a data directory that the postgres user cannot reach",
    async () => {
      const closed = await mkdtemp(path.join(os.tmpdir(), "ferry-closed-")); // mode 0700
      try {
        const res = await runCli(["serve"], {
          FERRY_DATA_DIR: path.join(closed, "data"),
          FERRY_HTTP_PORT: String(await freePort()),
          FERRY_EMBEDDED_PG_PORT: String(await freePort()),
        });
        expect(res.code).not.toBe(0);
        expect(res.stderr).toContain(`cannot enter ${closed} (mode 700)`);
        expect(res.stderr).toMatch(/FERRY_DATA_DIR|chmod o\+x|DATABASE_URL/);
      } finally {
        await rm(closed, { recursive: true, force: true });
      }
    },
  );
});
