/**
 * Pull from a third party over SFTP, against a real OpenSSH sshd on a loopback port: new files taken and
 * processed, pattern, nothing pulled twice, a growing file left for later, delete after pull, wrong password,
 * unreachable host, missing folder, a changed host key (refused until accepted), and Ferry's own key pair.
 */
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  appendFile,
  chmod,
  chown,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  writeFile,
} from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../helpers/db.js";
import { apiCall, type RunningFerry, runCli, startServe } from "../helpers/ferry.js";
import { freePort } from "../helpers/ports.js";
import { clicksCsv, latestPull as latestPullOf, type PullOutcome, pullAndWait } from "../helpers/pulls.js";
import { type PrivateSshd, startSshd } from "../helpers/sshd.js";

const ADMIN = `pull_e2e_admin_${randomBytes(8).toString("hex")}`;

let dir: string;
let outgoing: string;
let database: { url: string; drop: () => Promise<void> };
let ferry: RunningFerry;
let sshd: PrivateSshd;
let token: string;
let campaignId: number;
let partnerId: number;

const api = (method: string, url: string, body?: unknown) => apiCall(ferry.url, token, method, url, body);

async function remoteFile(name: string, content: string): Promise<void> {
  const file = path.join(outgoing, name);
  await writeFile(file, content);
  const uid = Number(execFileSync("id", ["-u", sshd.user]).toString());
  await chown(file, uid, uid);
}

const clicks = (...ids: string[]) => clicksCsv({ campaignId, partnerId }, ...ids);

async function connection(name: string, details: Record<string, unknown>) {
  return api("POST", "/api/v1/connections", {
    name,
    direction: "inbound",
    dataType: "clicks",
    method: "sftp",
    methodology: "pull_from_third_party",
    details: {
      host: "127.0.0.1",
      port: sshd.port,
      username: sshd.user,
      password: sshd.password,
      folder: outgoing,
      filePattern: "*.csv",
      ...details,
    },
  });
}

const latestPull = (connectionId: string) => latestPullOf(ferry.url, token, connectionId);
const pull = (connectionId: string) => pullAndWait(ferry.url, token, connectionId);

async function transfers(connectionId: string) {
  return (await api("GET", `/api/v1/connections/${connectionId}/transfers?limit=200`)).items as {
    fileName: string;
    status: string;
    protocol: string;
    rows: { ok: number } | null;
  }[];
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "ferry-pull-e2e-"));
  await chmod(dir, 0o755);
  sshd = await startSshd(path.join(dir, "sshd"));
  outgoing = path.join(dir, "sshd", "outgoing");
  await mkdir(outgoing, { recursive: true });
  const uid = Number(execFileSync("id", ["-u", sshd.user]).toString());
  await chown(outgoing, uid, uid);
  database = await createTestDatabase();
  ferry = await startServe({
    // The third party's servers run on this machine (loopback), which Ferry refuses by default.
    FERRY_REMOTE_ALLOW_PRIVATE: "127.0.0.1",
    DATABASE_URL: database.url,
    FERRY_DATA_DIR: path.join(dir, "data"),
    FERRY_ADMIN_TOKEN: ADMIN,
    FERRY_PULL_SETTLE_MS: "1000",
    // Only the start-up tick schedules: the tests pull now themselves, so a scheduled pull cannot take the
    // files first.
    FERRY_SCHEDULER_SECONDS: "3600",
  });
  const account = await apiCall(ferry.url, ADMIN, "POST", "/api/v1/accounts", {
    name: "Puller",
    type: "brand",
  });
  token = (await apiCall(ferry.url, ADMIN, "POST", `/api/v1/accounts/${account.id}/tokens`, {})).token;
  campaignId = (await api("POST", "/api/v1/campaigns", { name: "Pulled", currency: "USD" })).id;
  partnerId = (await api("POST", "/api/v1/partners", { name: "Partner" })).id;
}, 120_000);

afterAll(async () => {
  sshd?.stop();
  await ferry?.stop();
  await database?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe("pull from a third party over SFTP", () => {
  let c: { id: string };

  it("takes the new files that match, pins the host key, processes them, and never takes them twice", async () => {
    await remoteFile("clicks_1.csv", clicks("p-1", "p-2"));
    await remoteFile("clicks_2.csv", clicks("p-3"));
    await remoteFile("readme.txt", "not a data file");
    c = await connection("Clicks from partner SFTP", {});
    expect(c).toMatchObject({ address: null, details: { passwordSet: true } });
    expect(JSON.stringify(c)).not.toContain(sshd.password);

    const first = await pull(c.id);
    expect(first).toMatchObject({
      status: "succeeded",
      filesFound: 2,
      filesTaken: 2,
      filesWaiting: 0,
      error: null,
    });
    expect(first.hostKey).toBe(sshd.fingerprint);
    expect((await api("GET", `/api/v1/connections/${c.id}`)).details.hostKeyFingerprint).toBe(
      sshd.fingerprint,
    );

    let list = await transfers(c.id);
    for (let i = 0; i < 100 && list.some((t) => t.status !== "processed"); i++) {
      await new Promise((r) => setTimeout(r, 200));
      list = await transfers(c.id);
    }
    expect(list.map((t) => [t.fileName, t.status, t.protocol, t.rows?.ok]).sort()).toEqual([
      ["clicks_1.csv", "processed", "pull", 2],
      ["clicks_2.csv", "processed", "pull", 1],
    ]);
    // Not deleted by default.
    expect((await readdir(outgoing)).sort()).toEqual(["clicks_1.csv", "clicks_2.csv", "readme.txt"]);

    const again = await pull(c.id);
    expect(again).toMatchObject({ status: "succeeded", filesFound: 2, filesTaken: 0 });
    expect(await transfers(c.id)).toHaveLength(2);
    expect((await api("GET", `/api/v1/connections/${c.id}`)).activity.status).toBe("completed");

    // The node's metrics (loopback needs no token): two pulls, two files received by pull, both processed.
    const metrics = await (await fetch(`${ferry.url}/metrics`)).text();
    expect(metrics).toMatch(/^ferry_pulls_total\{method="sftp",status="succeeded"\} 2$/m);
    expect(metrics).toMatch(/^ferry_files_received_total\{protocol="pull"\} 2$/m);
    expect(metrics).toMatch(/^ferry_files_processed_total\{data_type="clicks",status="processed"\} 2$/m);
    expect(metrics).toMatch(/^ferry_rows_total\{data_type="clicks",result="ok"\} 3$/m);
  });

  it("leaves a file that is still growing for a later pull", async () => {
    await remoteFile("clicks_3.csv", clicks("g-0"));
    let writing = true;
    const writer = (async () => {
      for (let i = 1; writing; i++) {
        await appendFile(
          path.join(outgoing, "clicks_3.csv"),
          `g-${i},${campaignId},${new Date().toISOString()}\n`,
        );
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const during = await pull(c.id);
    writing = false;
    await writer;
    expect(during).toMatchObject({ status: "succeeded", filesTaken: 0, filesWaiting: 1 });
    const after = await pull(c.id);
    expect(after).toMatchObject({ status: "succeeded", filesTaken: 1, filesWaiting: 0 });
  });

  it("deletes remote files after they are received, when asked to", async () => {
    await api("PATCH", `/api/v1/connections/${c.id}`, { details: { deleteAfterPull: true } });
    await remoteFile("clicks_4.csv", clicks("d-1"));
    const result = await pull(c.id);
    expect(result).toMatchObject({ status: "succeeded", filesTaken: 1 });
    // Only the file taken by this pull is removed; those taken before stay.
    expect((await readdir(outgoing)).sort()).toEqual([
      "clicks_1.csv",
      "clicks_2.csv",
      "clicks_3.csv",
      "readme.txt",
    ]);
    await api("PATCH", `/api/v1/connections/${c.id}`, { details: { deleteAfterPull: false } });
  });

  it("says in words what went wrong: authentication, unreachable host, missing folder", async () => {
    await api("PATCH", `/api/v1/connections/${c.id}`, { details: { password: "wrong-password" } });
    const wrong = await pull(c.id);
    expect(wrong).toMatchObject({ status: "failed", errorCode: "AUTH_FAILED" });
    expect(wrong.error).toMatch(/^authentication failed/);
    expect((await api("GET", `/api/v1/connections/${c.id}`)).activity.status).toBe("failed");
    await api("PATCH", `/api/v1/connections/${c.id}`, { details: { password: sshd.password } });
    expect(await pull(c.id)).toMatchObject({ status: "succeeded" });
    expect((await api("GET", `/api/v1/connections/${c.id}`)).activity.status).toBe("completed");

    const closed = await connection("Nobody home", { port: await freePort() });
    const unreachable = await pull(closed.id);
    expect(unreachable).toMatchObject({ status: "failed", errorCode: "UNREACHABLE" });
    expect(unreachable.error).toMatch(/^host unreachable/);

    // Only 127.0.0.1 is allowed here (FERRY_REMOTE_ALLOW_PRIVATE): another loopback or private address is
    // refused before any packet is sent (names resolving to one too: src/protocols/remote/egress.test.ts).
    for (const host of ["127.0.0.2", "10.0.0.1"]) {
      const inside = await connection(`Inside ${host}`, { host });
      const refused = await pull(inside.id);
      expect(refused).toMatchObject({ status: "failed", errorCode: "UNREACHABLE" });
      expect(refused.error).toMatch(/is a local or private address, which Ferry does not connect to/);
    }

    const nofolder = await connection("No such folder", { folder: path.join(outgoing, "missing") });
    const missing = await pull(nofolder.id);
    expect(missing).toMatchObject({ status: "failed", errorCode: "FOLDER_MISSING" });
    expect(missing.error).toMatch(/^folder missing/);
  });

  it("tests a login before it is saved: logs in, lists, reports the host key; nothing is taken", async () => {
    const test = async (body: Record<string, unknown>) => {
      const res = await fetch(`${ferry.url}/api/v1/connections/test`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as any };
    };
    // The folder holds the files earlier tests left there.
    const before = (await readdir(outgoing)).sort();
    expect(before.length).toBeGreaterThan(0);
    const login = {
      method: "sftp",
      host: "127.0.0.1",
      port: sshd.port,
      username: sshd.user,
      folder: outgoing,
    };
    const ok = await test({ ...login, password: sshd.password });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ ok: true, host: "127.0.0.1", folder: outgoing, error: null });
    expect(ok.body.hostKey).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(ok.body.files).toBe(before.length);
    expect(ok.body.sample).toEqual(before.slice(0, 10));
    // Nothing was taken or changed there.
    expect((await readdir(outgoing)).sort()).toEqual(before);
    // Wrong password, missing folder, another key pinned: each in words, as a pull would say it.
    const wrong = await test({ ...login, password: "wrong-password" });
    expect(wrong.body).toMatchObject({ ok: false, error: { code: "AUTH_FAILED" } });
    expect(wrong.body.error.message).toMatch(/^authentication failed/);
    const missing = await test({ ...login, password: sshd.password, folder: path.join(outgoing, "missing") });
    expect(missing.body.error.code).toBe("FOLDER_MISSING");
    const pinned = await test({
      ...login,
      password: sshd.password,
      hostKeyFingerprint: `SHA256:${"A".repeat(43)}`,
    });
    expect(pinned.body.error.code).toBe("HOST_KEY_MISMATCH");
    // Private addresses stay refused, as for pulls.
    const inside = await test({ ...login, host: "10.0.0.1", password: sshd.password });
    expect(inside.body.error.message).toMatch(/local or private address/);
    // A saved connection tests with its own sealed password.
    const saved = await connection("Tested later", {});
    expect((await test({ connectionId: saved.id })).body).toMatchObject({ ok: true, username: sshd.user });
    expect((await test({ method: "sftp" })).status).toBe(400);
    const events = (await api("GET", "/api/v1/audit?action=connection.tested&limit=50")).items;
    expect(events.length).toBeGreaterThanOrEqual(6);
    // The CLI: a saved connection (exit 0), a typed login with the password from the environment (exit 1).
    const cli = (args: string[], env: Record<string, string> = {}) =>
      runCli(["connections", "test", ...args], { FERRY_URL: ferry.url, FERRY_TOKEN: token, ...env });
    const good = await cli([saved.id, "--json"]);
    expect(good.code, good.stderr).toBe(0);
    expect(good.json().ok).toBe(true);
    const bad = await cli(
      ["--method", "sftp", "--host", "127.0.0.1", "--port", String(sshd.port), "--username", sshd.user],
      {},
    );
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/authentication failed/);
    // Each test is a connection Ferry makes: a few a minute per account.
    const codes: number[] = [];
    for (let i = 0; i < 10; i++) codes.push((await test({ ...login, password: "x" })).status);
    expect(codes).toContain(429);
  });

  it("stops at a changed host key until a user accepts it", async () => {
    // Webhooks hear of the change of state once, not of every failed pull (the endpoint's address does not
    // resolve: its deliveries stay in the log, which is what is read here).
    const hook = await api("POST", "/api/v1/webhooks", {
      url: "https://hooks.example.invalid/ferry",
      events: ["pull.failing", "pull.recovered", "connection.host_key_changed"],
    });
    const pinned = sshd.fingerprint;
    await sshd.newHostKey();
    expect(sshd.fingerprint).not.toBe(pinned);
    await remoteFile("clicks_5.csv", clicks("h-1"));
    const refused = await pull(c.id);
    expect(refused).toMatchObject({ status: "failed", errorCode: "HOST_KEY_MISMATCH", filesTaken: 0 });
    expect(refused.error).toContain(sshd.fingerprint);
    expect(refused.error).toContain(pinned);
    expect(await pull(c.id)).toMatchObject({ status: "failed", errorCode: "HOST_KEY_MISMATCH" });
    const cli = await runCli(["connections", "pulls", c.id], { FERRY_URL: ferry.url, FERRY_TOKEN: token });
    expect(cli.stdout).toMatch(/failed\s+0\s+0\s+0\s+host key mismatch/);
    const accepted = await api("POST", `/api/v1/connections/${c.id}/accept-host-key`);
    expect(accepted.hostKeyFingerprint).toBe(sshd.fingerprint);
    expect(await pull(c.id)).toMatchObject({ status: "succeeded", filesTaken: 1 });
    const told = (await api("GET", `/api/v1/webhooks/${hook.id}/deliveries`)).items
      .filter((d: { payload: { data: { connectionId: string } } }) => d.payload.data.connectionId === c.id)
      .map((d: { eventType: string }) => d.eventType)
      .reverse();
    expect(told).toHaveLength(3);
    expect(told.slice(0, 2).sort()).toEqual(["connection.host_key_changed", "pull.failing"]);
    expect(told[2]).toBe("pull.recovered");
  });

  it("logs in with the account's own key pair once its public key is installed", async () => {
    const key = await api("GET", "/api/v1/ssh-key");
    expect(key.publicKey).toMatch(/^ssh-ed25519 /);
    expect(await api("GET", "/api/v1/ssh-key")).toEqual(key);
    const byKey = await connection("Clicks by key", { authMethod: "key", password: undefined });
    const before = await pull(byKey.id);
    expect(before).toMatchObject({ status: "failed", errorCode: "AUTH_FAILED" });
    await writeFile(sshd.authorizedKeys, `${key.publicKey}\n`);
    expect(await pull(byKey.id)).toMatchObject({ status: "succeeded", filesFound: 4 });
  });

  it("uploads each pulled file's results to the result folder on the server", async () => {
    const results = path.join(dir, "sshd", "results");
    await mkdir(results);
    const uid = Number(execFileSync("id", ["-u", sshd.user]).toString());
    await chown(results, uid, uid);
    await api("PATCH", `/api/v1/connections/${c.id}`, { details: { resultFolder: results } });
    await remoteFile("clicks_6.csv", `${clicks("r-1")}bad-row-without-fields\n`);
    expect(await pull(c.id)).toMatchObject({ status: "succeeded", filesTaken: 1 });
    let names: string[] = [];
    for (let i = 0; i < 100 && names.length < 3; i++) {
      await new Promise((r) => setTimeout(r, 200));
      names = (await readdir(results)).sort();
    }
    expect(names).toEqual(["clicks_6_errors.csv", "clicks_6_summary.json", "receipt_clicks_6.txt"]);
    const summary = JSON.parse(await readFile(path.join(results, "clicks_6_summary.json"), "utf8"));
    expect(summary).toMatchObject({ rows: { total: 2, ok: 1, error: 1 } });
  });

  it("delivers generated outbound files to the customer's server, under a temporary name until complete", async () => {
    const incoming = path.join(dir, "sshd", "incoming");
    await mkdir(incoming);
    const uid = Number(execFileSync("id", ["-u", sshd.user]).toString());
    await chown(incoming, uid, uid);
    const out = await api("POST", "/api/v1/connections", {
      name: "Actions to partner server",
      direction: "outbound",
      dataType: "reports",
      method: "sftp",
      methodology: "pull_from_platform",
      credentialId: (await api("POST", "/api/v1/credentials", { name: "outbox", kind: "password" })).id,
      details: {
        report: "action_listing",
        deliverToServer: true,
        host: "127.0.0.1",
        port: sshd.port,
        username: sshd.user,
        password: sshd.password,
        folder: incoming,
      },
    });
    expect(JSON.stringify(out)).not.toContain(sshd.password);
    const run = await api("POST", `/api/v1/connections/${out.id}/runs`, {});
    let transfer: { status: string; fileName: string; error: string | null } | undefined;
    for (let i = 0; i < 150 && transfer?.status !== "delivered"; i++) {
      await new Promise((r) => setTimeout(r, 200));
      const runs = (await api("GET", `/api/v1/connections/${out.id}/runs`)).items;
      const id = runs.find((r: { id: string }) => r.id === run.id)?.transferId;
      if (id) transfer = await api("GET", `/api/v1/transfers/${id}`);
    }
    expect(transfer).toMatchObject({ status: "delivered", error: null });
    expect(await readdir(incoming)).toEqual([transfer!.fileName]);
    expect(await readFile(path.join(incoming, transfer!.fileName), "utf8")).toMatch(/^ActionId,/);
    expect((await api("GET", `/api/v1/connections/${out.id}`)).details.hostKeyFingerprint).toBe(
      sshd.fingerprint,
    );

    // Refused without where to deliver.
    const incomplete = await fetch(`${ferry.url}/api/v1/connections`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({
        name: "Incomplete push",
        direction: "outbound",
        dataType: "reports",
        method: "sftp",
        methodology: "pull_from_platform",
        credentialId: out.credentialId,
        details: {
          report: "action_listing",
          deliverToServer: true,
          host: "x.example",
          username: "u",
          password: "p",
        },
      }),
    });
    expect(incomplete.status).toBe(400);
    expect((await incomplete.json()).error.fields).toEqual([
      { path: "details.folder", message: "is required to deliver files to your server" },
    ]);
  });

  it("keeps nothing of a download cut by the server, and takes the file whole at the next pull", async () => {
    const big = path.join(dir, "sshd", "big");
    await mkdir(big);
    await chown(big, sshd.uid, sshd.uid);
    const content = Buffer.alloc(128 * 1024 * 1024, "clicks,");
    await writeFile(path.join(big, "clicks_big.csv"), content);
    await chown(path.join(big, "clicks_big.csv"), sshd.uid, sshd.uid);
    const b = await connection("Big file", { folder: big, hostKeyFingerprint: sshd.fingerprint });
    const started = await api("POST", `/api/v1/connections/${b.id}/pulls`);
    // Once the download is under way (its upload object grows in Ferry's store), kill the server's session.
    const tmp = path.join(dir, "data", "files", "tmp");
    for (let i = 0; ; i++) {
      const names = await readdir(tmp).catch(() => [] as string[]);
      const sizes = await Promise.all(
        names.map((n) =>
          stat(path.join(tmp, n)).then(
            (s) => s.size,
            () => 0,
          ),
        ),
      );
      if (sizes.some((size) => size > 4 * 1024 * 1024)) break;
      if (i > 600) throw new Error("the download did not start");
      await new Promise((r) => setTimeout(r, 25));
    }
    execFileSync("pkill", ["-KILL", "-u", sshd.user]);
    let cut: { id: string; status: string; errorCode: string | null } | undefined;
    for (let i = 0; i < 150 && !(cut?.id === started.id && cut?.status === "failed"); i++) {
      await new Promise((r) => setTimeout(r, 200));
      cut = await latestPull(b.id);
    }
    expect(cut).toMatchObject({ id: started.id, status: "failed", errorCode: "DISCONNECTED" });
    expect(await transfers(b.id)).toEqual([]);
    expect(await readdir(tmp)).toEqual([]);

    expect(await pull(b.id)).toMatchObject({ status: "succeeded", filesTaken: 1 });
    const [whole] = (await api("GET", `/api/v1/connections/${b.id}/transfers`)).items;
    expect(whole).toMatchObject({ fileName: "clicks_big.csv", size: content.length });
    expect(whole.sha256).toBe(createHash("sha256").update(content).digest("hex"));
  }, 120_000);

  it("runs one account's pulls one at a time, and another account's pull starts at once", async () => {
    const uid = Number(execFileSync("id", ["-u", sshd.user]).toString());
    const folderWithAFile = async (name: string) => {
      const folder = path.join(dir, "sshd", name);
      await mkdir(folder);
      await chown(folder, uid, uid);
      await writeFile(path.join(folder, `${name}.csv`), clicks(name));
      await chown(path.join(folder, `${name}.csv`), uid, uid);
      return folder;
    };
    // Each pull with a new file waits FERRY_PULL_SETTLE_MS (1 s): a slow remote server, as far as fairness goes.
    const mine = [];
    for (const i of [1, 2, 3])
      mine.push(await connection(`Busy ${i}`, { folder: await folderWithAFile(`busy_${i}`) }));
    const neighbour = await apiCall(ferry.url, ADMIN, "POST", "/api/v1/accounts", {
      name: "Neighbour",
      type: "brand",
    });
    const theirToken = (
      await apiCall(ferry.url, ADMIN, "POST", `/api/v1/accounts/${neighbour.id}/tokens`, {})
    ).token;
    const theirs = await apiCall(ferry.url, theirToken, "POST", "/api/v1/connections", {
      name: "Neighbour's pull",
      direction: "inbound",
      dataType: "clicks",
      method: "sftp",
      methodology: "pull_from_third_party",
      details: {
        host: "127.0.0.1",
        port: sshd.port,
        username: sshd.user,
        password: sshd.password,
        folder: await folderWithAFile("neighbour"),
        filePattern: "*.csv",
      },
    });
    const start = async (t: string, id: string) =>
      expect(
        (
          await fetch(`${ferry.url}/api/v1/connections/${id}/pulls`, {
            method: "POST",
            headers: { authorization: `Bearer ${t}` },
          })
        ).status,
      ).toBe(202);
    for (const c of mine) await start(token, c.id);
    await start(theirToken, theirs.id);
    const done = async (t: string, id: string) => {
      for (let i = 0; i < 300; i++) {
        const p = await latestPullOf(ferry.url, t, id);
        if (p.status === "succeeded" || p.status === "failed")
          return p as PullOutcome & { startedAt: string; finishedAt: string };
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error("pull did not finish");
    };
    const ours = [];
    for (const c of mine) ours.push(await done(token, c.id));
    const their = await done(theirToken, theirs.id);
    expect([...ours, their].map((p) => [p.status, p.filesTaken])).toEqual(Array(4).fill(["succeeded", 1]));
    // One account's pulls never overlap (FERRY_PULLS_PER_ACCOUNT=1) ...
    const at = (s: string) => new Date(s).getTime();
    const sorted = ours.sort((a, b) => at(a.startedAt) - at(b.startedAt));
    for (let i = 1; i < sorted.length; i++)
      expect(at(sorted[i]!.startedAt)).toBeGreaterThanOrEqual(at(sorted[i - 1]!.finishedAt));
    // ... and the other account's pull, asked for last, did not wait for them (a second pull worker took it).
    expect(at(their.startedAt)).toBeLessThan(at(sorted[0]!.finishedAt));
  });

  it("leaves files on the server while the account is at its storage quota, and takes them once there is room", async () => {
    const accountId = (await api("GET", "/api/v1/accounts")).items[0].id;
    const used = (await api("GET", `/api/v1/accounts/${accountId}`)).storageUsedBytes;
    await apiCall(ferry.url, ADMIN, "PATCH", `/api/v1/accounts/${accountId}`, {
      storageQuotaBytes: used + 10,
    });
    await remoteFile("clicks_quota.csv", clicks("q-1"));
    const refused = await pull(c.id);
    expect(refused).toMatchObject({ status: "failed", filesTaken: 0 });
    expect(refused.error).toMatch(
      /Storage quota exceeded: the account's files take \d+ of its \d+ bytes, and this file needs \d+ more/,
    );
    expect(await readdir(outgoing)).toContain("clicks_quota.csv");
    await apiCall(ferry.url, ADMIN, "PATCH", `/api/v1/accounts/${accountId}`, { storageQuotaBytes: null });
    expect(await pull(c.id)).toMatchObject({ status: "succeeded", filesTaken: 1 });
  });

  it("refuses pull now for connections that do not pull", async () => {
    const push = await api("POST", "/api/v1/connections", {
      name: "Pushed",
      direction: "inbound",
      dataType: "clicks",
      method: "email",
      methodology: "push_to_platform",
    });
    const res = await fetch(`${ferry.url}/api/v1/connections/${push.id}/pulls`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(409);
    expect((await res.json()).error.message).toMatch(/Only connections that pull/);
  });
});
