/**
 * FERRY_ROLES: a front door (servers, http) and a worker (workers, scheduler) on one database, as a deployment
 * that scales them apart: the file uploaded through the front door is processed by the worker; the worker
 * runs no protocol servers and answers only /healthz and /metrics over HTTP.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../helpers/db.js";
import { apiCall, clicksLogin, type RunningFerry, runCli, startServe } from "../helpers/ferry.js";
import { sftpBatch } from "../helpers/openssh.js";
import { freePort } from "../helpers/ports.js";

const ADMIN = `roles_admin_${randomBytes(8).toString("hex")}`;
const MASTER_KEY = randomBytes(32).toString("base64");
let dir: string;
let database: { url: string; drop: () => Promise<void> };
let front: RunningFerry;
let worker: RunningFerry;
let ports: { front: number; worker: number };
let db: pg.Client;

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "ferry-roles-"));
  database = await createTestDatabase();
  ports = { front: await freePort(), worker: await freePort() };
  const common = {
    DATABASE_URL: database.url,
    FERRY_MASTER_KEY: MASTER_KEY,
    FERRY_ADMIN_TOKEN: ADMIN,
    FERRY_LOG_LEVEL: "warn",
  };
  // The front door's own data directory holds the files: the worker shares it (one machine, local store).
  front = await startServe({
    ...common,
    FERRY_DATA_DIR: path.join(dir, "data"),
    FERRY_SFTP_PORT: String(ports.front),
    FERRY_ROLES: "servers,http",
  });
  worker = await startServe({
    ...common,
    FERRY_DATA_DIR: path.join(dir, "data"),
    FERRY_SFTP_PORT: String(ports.worker),
    FERRY_ROLES: "workers,scheduler",
  });
  db = new pg.Client({ connectionString: database.url });
  await db.connect();
}, 120_000);

afterAll(async () => {
  await db?.end();
  await worker?.stop();
  await front?.stop();
  await database?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe("FERRY_ROLES", () => {
  it("runs the protocol servers and the API only where asked", async () => {
    expect(await listening(ports.front)).toBe(true);
    expect(await listening(ports.worker)).toBe(false);
    expect(worker.output()).toMatch(/Ferry is ready: http:\/\/[^ ]+\n/);
    expect((await fetch(`${worker.url}/healthz`)).status).toBe(200);
    expect(
      (await fetch(`${worker.url}/api/v1/accounts`, { headers: { authorization: `Bearer ${ADMIN}` } }))
        .status,
    ).toBe(404);
    expect((await apiCall(front.url, ADMIN, "GET", "/api/v1/accounts")).items.length).toBeGreaterThan(0);
  });

  it("has a file received by the front door processed by the worker", async () => {
    const { login, connections } = await clicksLogin(front.url, ADMIN, ["sftp"]);
    const local = path.join(dir, "clicks.csv");
    await writeFile(local, "ClickId,CampaignId,MediaId,EventDate\nr1,1,1,2026-11-30T10:00:00Z\n");
    const put = await sftpBatch({ port: ports.front, ...login, workDir: dir }, [
      `put ${local} /${connections.sftp.folder}/inbox/clicks.csv`,
    ]);
    expect(put.code, put.stderr).toBe(0);
    let status = "received";
    for (let i = 0; i < 200 && /received|processing/.test(status); i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await db.query("SELECT status FROM transfers WHERE file_name = 'clicks.csv'")).rows[0].status;
    }
    expect(status).toMatch(/^(processed|partial|rejected|failed)$/);
    // Stopping the worker leaves the front door's next file waiting: it was the worker that processed.
    await worker.stop();
    await writeFile(local, "ClickId,CampaignId,MediaId,EventDate\nr2,1,1,2026-11-30T10:00:00Z\n");
    const put2 = await sftpBatch({ port: ports.front, ...login, workDir: dir }, [
      `put ${local} /${connections.sftp.folder}/inbox/clicks2.csv`,
    ]);
    expect(put2.code, put2.stderr).toBe(0);
    await new Promise((r) => setTimeout(r, 2000));
    expect(
      (await db.query("SELECT status FROM transfers WHERE file_name = 'clicks2.csv'")).rows[0].status,
    ).toBe("received");
  });

  it("refuses an unknown role", async () => {
    const res = await runCli(["serve"], {
      FERRY_ROLES: "servers,cooking",
      FERRY_DATA_DIR: path.join(dir, "x"),
    });
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(
      /FERRY_ROLES: must be "all" or a comma-separated list of servers, http, workers, scheduler/,
    );
  });
});
