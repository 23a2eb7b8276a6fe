/**
 * Pull from a third party and delivery over FTP, against real vsftpd servers on loopback ports: explicit FTPS
 * (its self-signed certificate pinned at the first connection), implicit FTPS, plain FTP only when chosen (and
 * refused as a TLS error otherwise), wrong password, delete after pull, and a generated file delivered.
 */
import { randomBytes } from "node:crypto";
import { chmod, chown, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../helpers/db.js";
import { apiCall, type RunningFerry, startServe } from "../helpers/ferry.js";
import { clicksCsv, pullAndWait } from "../helpers/pulls.js";
import { type PrivateVsftpd, startVsftpd } from "../helpers/vsftpd.js";

const ADMIN = `ftp_pull_admin_${randomBytes(8).toString("hex")}`;

let dir: string;
let database: { url: string; drop: () => Promise<void> };
let ferry: RunningFerry;
let explicit: PrivateVsftpd;
let implicit: PrivateVsftpd;
let plain: PrivateVsftpd;
let token: string;
let program: { campaignId: number; partnerId: number };

const api = (method: string, url: string, body?: unknown) => apiCall(ferry.url, token, method, url, body);

async function remoteFile(server: PrivateVsftpd, name: string, content: string): Promise<void> {
  const file = path.join(server.root, name);
  await writeFile(file, content);
  await chown(file, server.user.uid, server.user.uid);
}

const clicks = (...ids: string[]) => clicksCsv(program, ...ids);

async function connection(name: string, server: PrivateVsftpd, details: Record<string, unknown> = {}) {
  return api("POST", "/api/v1/connections", {
    name,
    direction: "inbound",
    dataType: "clicks",
    method: "ftp",
    methodology: "pull_from_third_party",
    details: {
      host: "127.0.0.1",
      port: server.port,
      username: server.user.name,
      password: server.user.password,
      folder: server.root,
      filePattern: "clicks_*.csv",
      ...details,
    },
  });
}

const pull = (connectionId: string) => pullAndWait(ferry.url, token, connectionId);

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "ferry-ftp-pull-e2e-"));
  await chmod(dir, 0o755); // the servers' users must reach their homes inside
  explicit = await startVsftpd(path.join(dir, "explicit"), "explicit");
  implicit = await startVsftpd(path.join(dir, "implicit"), "implicit");
  plain = await startVsftpd(path.join(dir, "plain"), "none");
  database = await createTestDatabase();
  ferry = await startServe({
    // The third party's servers run on this machine (loopback), which Ferry refuses by default.
    FERRY_REMOTE_ALLOW_PRIVATE: "127.0.0.1",
    DATABASE_URL: database.url,
    FERRY_DATA_DIR: path.join(dir, "data"),
    FERRY_ADMIN_TOKEN: ADMIN,
    FERRY_PULL_SETTLE_MS: "500",
    FERRY_SCHEDULER_SECONDS: "3600",
  });
  const account = await apiCall(ferry.url, ADMIN, "POST", "/api/v1/accounts", { name: "FTP", type: "brand" });
  token = (await apiCall(ferry.url, ADMIN, "POST", `/api/v1/accounts/${account.id}/tokens`, {})).token;
  program = {
    campaignId: (await api("POST", "/api/v1/campaigns", { name: "C", currency: "USD" })).id,
    partnerId: (await api("POST", "/api/v1/partners", { name: "P" })).id,
  };
}, 120_000);

afterAll(async () => {
  explicit?.stop();
  implicit?.stop();
  plain?.stop();
  await ferry?.stop();
  await database?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe("pull over FTP", () => {
  it("takes files over explicit FTPS, pins the certificate, processes them, and deletes them when asked", async () => {
    await remoteFile(explicit, "clicks_1.csv", clicks("f-1", "f-2"));
    await remoteFile(explicit, "other.csv", "not matching");
    const c = await connection("Clicks by FTPS", explicit, { deleteAfterPull: true });
    const first = await pull(c.id);
    expect(first).toMatchObject({ status: "succeeded", filesFound: 1, filesTaken: 1, error: null });
    expect(first.hostKey).toMatch(/^SHA256:/);
    expect((await api("GET", `/api/v1/connections/${c.id}`)).details.hostKeyFingerprint).toBe(first.hostKey);
    expect((await readdir(explicit.root)).sort()).toEqual(["other.csv"]);
    let t: { status: string; rows: { ok: number } | null; protocol: string } | undefined;
    for (let i = 0; i < 100 && t?.status !== "processed"; i++) {
      await new Promise((r) => setTimeout(r, 200));
      [t] = (await api("GET", `/api/v1/connections/${c.id}/transfers`)).items;
    }
    expect(t).toMatchObject({ status: "processed", protocol: "pull", rows: { ok: 2 } });
    expect(await pull(c.id)).toMatchObject({ status: "succeeded", filesFound: 0, filesTaken: 0 });
  });

  it("takes files over implicit FTPS, and over plain FTP only when chosen", async () => {
    await remoteFile(implicit, "clicks_2.csv", clicks("i-1"));
    const imp = await connection("Clicks by implicit FTPS", implicit, { security: "implicit" });
    expect(await pull(imp.id)).toMatchObject({ status: "succeeded", filesTaken: 1 });

    await remoteFile(plain, "clicks_3.csv", clicks("p-1"));
    const refused = await connection("Clicks by FTP, TLS expected", plain);
    const tls = await pull(refused.id);
    expect(tls).toMatchObject({ status: "failed", errorCode: "TLS_ERROR" });
    expect(tls.error).toMatch(/^TLS error/);
    const chosen = await connection("Clicks by plain FTP", plain, { security: "none" });
    expect(await pull(chosen.id)).toMatchObject({ status: "succeeded", filesTaken: 1 });
  });

  it("stops at a changed certificate until a user accepts it", async () => {
    await remoteFile(implicit, "cert_1.csv", clicks("c-1"));
    const c = await connection("Certificate changes", implicit, {
      security: "implicit",
      filePattern: "cert_*.csv",
    });
    const first = await pull(c.id);
    expect(first).toMatchObject({ status: "succeeded", filesTaken: 1 });
    await implicit.newCertificate();
    await remoteFile(implicit, "cert_2.csv", clicks("c-2"));
    const refused = await pull(c.id);
    expect(refused).toMatchObject({ status: "failed", errorCode: "TLS_ERROR", filesTaken: 0 });
    expect(refused.error).toContain(`expects ${first.hostKey}`);
    expect(refused.hostKey).not.toBe(first.hostKey);
    const accepted = await api("POST", `/api/v1/connections/${c.id}/accept-host-key`);
    expect(accepted.hostKeyFingerprint).toBe(refused.hostKey);
    expect(await pull(c.id)).toMatchObject({ status: "succeeded", filesTaken: 1 });
  });

  it("says authentication failed for a wrong password", async () => {
    const wrong = await connection("Wrong FTP password", explicit, { password: "not-it" });
    const r = await pull(wrong.id);
    expect(r).toMatchObject({ status: "failed", errorCode: "AUTH_FAILED" });
    expect(r.error).toMatch(/^authentication failed/);
  });

  it("delivers a generated file to an FTPS server, under a temporary name until complete", async () => {
    const out = await api("POST", "/api/v1/connections", {
      name: "Report to FTPS",
      direction: "outbound",
      dataType: "reports",
      method: "ftp",
      methodology: "pull_from_platform",
      credentialId: (await api("POST", "/api/v1/credentials", { name: "ftp out", kind: "password" })).id,
      details: {
        report: "performance_by_partner",
        deliverToServer: true,
        host: "127.0.0.1",
        port: implicit.port,
        username: implicit.user.name,
        password: implicit.user.password,
        security: "implicit",
        folder: implicit.root,
      },
    });
    const run = await api("POST", `/api/v1/connections/${out.id}/runs`, {});
    let transfer: { status: string; fileName: string } | undefined;
    for (let i = 0; i < 150 && transfer?.status !== "delivered"; i++) {
      await new Promise((r) => setTimeout(r, 200));
      const id = (await api("GET", `/api/v1/connections/${out.id}/runs`)).items.find(
        (x: { id: string }) => x.id === run.id,
      )?.transferId;
      if (id) transfer = await api("GET", `/api/v1/transfers/${id}`);
    }
    expect(transfer?.status).toBe("delivered");
    const names = await readdir(implicit.root);
    expect(names).toContain(transfer!.fileName);
    expect(names.filter((n) => n.endsWith(".ferry-part"))).toEqual([]);
    expect(await readFile(path.join(implicit.root, transfer!.fileName), "utf8")).toMatch(/^MediaId,/);
  });
});
