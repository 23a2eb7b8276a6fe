import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localStore } from "../../src/store/local.js";
import { createTestDatabase } from "../helpers/db.js";
import { apiCall, type RunningFerry, runCli, startServe } from "../helpers/ferry.js";
import { type SshLogin, scp, sftpBatch, sftpSpawn } from "../helpers/openssh.js";
import { freePort } from "../helpers/ports.js";

const ADMIN = `sftp_e2e_admin_${randomBytes(8).toString("hex")}`;
const MAX_UPLOAD = 8 * 1024 * 1024;

let dir: string;
let database: { url: string; drop: () => Promise<void> };
let ferry: RunningFerry;
let sftpPort: number;
let db: pg.Client;
let keyLogin: SshLogin & { credentialId: string };
let passwordLogin: SshLogin;
let otherLogin: SshLogin;
let inbound: { id: string; folder: string };
let tokenA: string;
let outbound: { id: string; folder: string };

const api = (token: string, method: string, url: string, body?: unknown) =>
  apiCall(ferry.url, token, method, url, body);

async function newAccount(name: string) {
  const account = await api(ADMIN, "POST", "/api/v1/accounts", { name, type: "brand" });
  return (await api(ADMIN, "POST", `/api/v1/accounts/${account.id}/tokens`, {})).token as string;
}

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

const transfers = async (connectionId: string) =>
  (
    await db.query(
      "SELECT file_name, size::int, sha256, status, protocol, host(remote_ip) AS ip FROM transfers WHERE connection_id = $1 ORDER BY id",
      [connectionId],
    )
  ).rows;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "ferry-sftp-e2e-"));
  database = await createTestDatabase();
  sftpPort = await freePort();
  ferry = await startServe({
    DATABASE_URL: database.url,
    FERRY_DATA_DIR: path.join(dir, "data"),
    FERRY_HTTP_PORT: String(await freePort()),
    FERRY_SFTP_PORT: String(sftpPort),
    FERRY_ADMIN_TOKEN: ADMIN,
    FERRY_MAX_UPLOAD_BYTES: String(MAX_UPLOAD),
    FERRY_LOGIN_MAX_FAILURES: "3",
    // Transport only: these files are not data files; processing has its own end-to-end test.
    FERRY_WORKERS: "0",
    FERRY_LOG_LEVEL: "warn",
  });
  db = new pg.Client({ connectionString: database.url });
  await db.connect();

  tokenA = await newAccount("Brand A");
  const keyFile = path.join(dir, "id_ed25519");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", keyFile]);
  const keyCred = await api(tokenA, "POST", "/api/v1/credentials", {
    name: "Key",
    kind: "public_key",
    publicKey: await readFile(`${keyFile}.pub`, "utf8"),
  });
  const pwCred = await api(tokenA, "POST", "/api/v1/credentials", { name: "Password", kind: "password" });
  inbound = await api(tokenA, "POST", "/api/v1/connections", {
    name: "Conversions In",
    direction: "inbound",
    dataType: "conversions",
    method: "sftp",
    methodology: "push_to_platform",
    credentialId: keyCred.id,
  });
  await api(tokenA, "POST", "/api/v1/connections", {
    name: "Clicks In",
    direction: "inbound",
    dataType: "clicks",
    method: "sftp",
    methodology: "push_to_platform",
    credentialId: pwCred.id,
  });
  outbound = await api(tokenA, "POST", "/api/v1/connections", {
    name: "Reports Out",
    direction: "outbound",
    dataType: "reports",
    method: "sftp",
    methodology: "pull_from_platform",
    credentialId: pwCred.id,
    details: { report: "action_listing" },
  });
  keyLogin = { port: sftpPort, username: keyCred.username, keyFile, workDir: dir, credentialId: keyCred.id };
  passwordLogin = { port: sftpPort, username: pwCred.username, password: pwCred.password, workDir: dir };

  const tokenB = await newAccount("Brand B");
  const credB = await api(tokenB, "POST", "/api/v1/credentials", { name: "B", kind: "password" });
  await api(tokenB, "POST", "/api/v1/connections", {
    name: "B feed",
    direction: "inbound",
    dataType: "clicks",
    method: "sftp",
    methodology: "push_to_platform",
    credentialId: credB.id,
  });
  otherLogin = { port: sftpPort, username: credB.username, password: credB.password, workDir: dir };
});

afterAll(async () => {
  await db?.end();
  await ferry?.stop();
  await database?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe("SFTP with OpenSSH's sftp and scp", () => {
  it("shows a key login one folder per connection of its credential, with an inbox and results", async () => {
    const res = await sftpBatch(keyLogin, ["ls -1", "cd conversions-in", "ls -1"]);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(
      /sftp> ls -1\nconversions-in\nsftp> cd conversions-in\nsftp> ls -1\ninbox\nresults\n/,
    );
  });

  it("receives an upload as a Transfer with its size and SHA-256, and gives it back", async () => {
    const data = randomBytes(3 * 1024 * 1024 + 123);
    await writeFile(path.join(dir, "orders.csv"), data);
    const res = await sftpBatch(keyLogin, [
      "cd /conversions-in/inbox",
      `put ${path.join(dir, "orders.csv")}`,
      "ls -l",
      `get orders.csv ${path.join(dir, "orders-back.csv")}`,
    ]);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/-rw-r--r-- .* 3145851 .* orders\.csv/);
    expect((await readFile(path.join(dir, "orders-back.csv"))).equals(data)).toBe(true);
    expect(await transfers(inbound.id)).toEqual([
      {
        file_name: "orders.csv",
        size: data.length,
        sha256: sha256(data),
        status: "received",
        protocol: "sftp",
        ip: "127.0.0.1",
      },
    ]);
  });

  it("shows the upload with the CLI, which downloads it byte for byte", async () => {
    const env = { FERRY_URL: ferry.url, FERRY_TOKEN: tokenA };
    const list = await runCli(["transfers", "list", "--connection", inbound.id, "--json"], env);
    expect(list.code).toBe(0);
    const [t] = list.json();
    expect(t).toMatchObject({
      fileName: "orders.csv",
      status: "received",
      protocol: "sftp",
      username: keyLogin.username,
    });
    const out = path.join(dir, "via-cli.csv");
    const dl = await runCli(["transfers", "download", t.id, "-o", out], env);
    expect(dl.code).toBe(0);
    expect(sha256(await readFile(out))).toBe(t.sha256);
    expect((await runCli(["transfers", "download", t.id, "-o", out], env)).stderr).toMatch(/EEXIST|exists/);
    // Without -o: saved under the file's own name (from Content-Disposition), in the current directory.
    const here = path.join(dir, "cli-cwd");
    await mkdir(here);
    const saved = await runCli(["transfers", "download", t.id, "--progress"], env, { cwd: here });
    expect(saved.code).toBe(0);
    expect(sha256(await readFile(path.join(here, "orders.csv")))).toBe(t.sha256);
    // The progress line goes to stderr (asked for here; by default when stderr is a terminal).
    expect(saved.stderr).toMatch(/downloading [\d.]+ MiB of [\d.]+ MiB \(100%\) [\d.]+ MiB\/s\n/);
    expect((await runCli(["transfers", "show", t.id], env)).stdout).toMatch(/sha256:\s+[0-9a-f]{64}/);
  });

  it("records the same content again as a duplicate", async () => {
    const res = await sftpBatch(keyLogin, [
      `put ${path.join(dir, "orders.csv")} /conversions-in/inbox/orders-again.csv`,
    ]);
    expect(res.code).toBe(0);
    expect((await transfers(inbound.id)).map((t) => [t.file_name, t.status])).toEqual([
      ["orders.csv", "received"],
      ["orders-again.csv", "duplicate"],
    ]);
  });

  it("takes a file written under a temporary name only when it is renamed", async () => {
    await writeFile(path.join(dir, "clicks.csv"), "ClickId,CampaignId\nabc,1\n");
    const before = (await transfers(inbound.id)).length;
    const staged = await sftpBatch(keyLogin, [
      `put ${path.join(dir, "clicks.csv")} /conversions-in/inbox/clicks.csv.part`,
      "ls -1 /conversions-in/inbox",
    ]);
    expect(staged.stdout).toMatch(/clicks\.csv\.part/);
    expect((await transfers(inbound.id)).length).toBe(before);
    const renamed = await sftpBatch(keyLogin, [
      "rename /conversions-in/inbox/clicks.csv.part /conversions-in/inbox/clicks.csv",
    ]);
    expect(renamed.code).toBe(0);
    expect((await transfers(inbound.id)).at(-1)).toMatchObject({
      file_name: "clicks.csv",
      status: "received",
      size: 25,
    });
  });

  it("accepts RSA keys with SHA-2 signatures, and refuses SHA-1 (ssh-rsa) signatures", async () => {
    const rsaKey = path.join(dir, "id_rsa");
    execFileSync("ssh-keygen", ["-q", "-t", "rsa", "-b", "3072", "-N", "", "-f", rsaKey]);
    const cred = await api(tokenA, "POST", "/api/v1/credentials", {
      name: "RSA key",
      kind: "public_key",
      publicKey: await readFile(`${rsaKey}.pub`, "utf8"),
    });
    await api(tokenA, "PATCH", `/api/v1/connections/${inbound.id}`, { credentialId: cred.id });
    const rsaLogin = { port: sftpPort, username: cred.username, keyFile: rsaKey, workDir: dir };
    try {
      expect((await sftpBatch(rsaLogin, ["ls -1 /"])).stdout).toMatch(/conversions-in/);
      const sha1 = await sftpBatch(rsaLogin, ["ls -1 /"], ["-o", "PubkeyAcceptedAlgorithms=ssh-rsa"]);
      expect(sha1.code).not.toBe(0);
    } finally {
      await api(tokenA, "PATCH", `/api/v1/connections/${inbound.id}`, {
        credentialId: keyLogin.credentialId,
      });
    }
  });

  it("works with scp (uploads and downloads) and with password logins", async () => {
    await writeFile(path.join(dir, "scp.csv"), "a,b\n1,2\n");
    const up = await scp(passwordLogin, path.join(dir, "scp.csv"), "remote:/clicks-in/inbox/scp.csv");
    expect(up, JSON.stringify(up)).toMatchObject({ code: 0 });
    const down = await scp(passwordLogin, "remote:/clicks-in/inbox/scp.csv", path.join(dir, "scp-back.csv"));
    expect(down.code).toBe(0);
    expect(await readFile(path.join(dir, "scp-back.csv"), "utf8")).toBe("a,b\n1,2\n");
  });

  it("keeps every byte of parallel sessions over each cipher, re-keying every MiB", async () => {
    // AES-GCM sessions read into one shared buffer once their SFTP session starts (sftp/ssh2/reads.ts): parallel
    // uploads and re-key exchanges (new deciphers mid-stream) are where a kept view of a read would show.
    const ciphers = [
      "aes128-gcm@openssh.com",
      "aes256-gcm@openssh.com",
      "aes128-gcm@openssh.com",
      "chacha20-poly1305@openssh.com",
      "aes128-ctr",
    ];
    const files = ciphers.map((_, i) => randomBytes(5 * 1024 * 1024 + i * 4099));
    await Promise.all(files.map((data, i) => writeFile(path.join(dir, `rekey-${i}.bin`), data)));
    const results = await Promise.all(
      ciphers.map((cipher, i) =>
        sftpBatch(
          keyLogin,
          [
            "cd /conversions-in/inbox",
            `put ${path.join(dir, `rekey-${i}.bin`)}`,
            `get rekey-${i}.bin ${path.join(dir, `rekey-${i}-back.bin`)}`,
          ],
          ["-c", cipher, "-o", "RekeyLimit=1M"],
        ),
      ),
    );
    for (const [i, data] of files.entries()) {
      expect(results[i], JSON.stringify(results[i])).toMatchObject({ code: 0 });
      expect(sha256(await readFile(path.join(dir, `rekey-${i}-back.bin`)))).toBe(sha256(data));
      const recorded = (await transfers(inbound.id)).find((t) => t.file_name === `rekey-${i}.bin`);
      expect(recorded).toMatchObject({ size: data.length, sha256: sha256(data), status: "received" });
    }
  });

  it("lets a client download a generated file from outbox, counting and auditing it", async () => {
    // Outbound files are generated by the scheduler (a later issue); put one in place the way it will.
    const store = localStore(path.join(dir, "data", "files"));
    const upload = await store.create();
    await upload.write(Buffer.from("ActionId,Payout\n1,2.50\n"), 0);
    const obj = await upload.commit();
    const { rows } = await db.query("SELECT account_id FROM connections WHERE id = $1", [outbound.id]);
    await db.query(
      `INSERT INTO transfers (id, account_id, connection_id, direction, file_name, store_key, size, sha256, status, protocol)
       VALUES ($1, $2, $3, 'outbound', 'actions_20261124.csv', $4, $5, $6, 'generated', 'schedule')`,
      [
        "01a20000-0000-7000-8000-000000000001",
        rows[0].account_id,
        outbound.id,
        obj.key,
        obj.size,
        obj.sha256,
      ],
    );
    const res = await sftpBatch(passwordLogin, [
      `get /reports-out/outbox/actions_20261124.csv ${path.join(dir, "actions.csv")}`,
    ]);
    expect(res.code).toBe(0);
    expect(await readFile(path.join(dir, "actions.csv"), "utf8")).toBe("ActionId,Payout\n1,2.50\n");
    const t = (
      await db.query(
        "SELECT status, download_count, first_downloaded_at FROM transfers WHERE file_name = 'actions_20261124.csv'",
      )
    ).rows[0];
    expect(t).toMatchObject({
      status: "downloaded",
      download_count: 1,
      first_downloaded_at: expect.any(Date),
    });
    const audit = (
      await db.query(
        "SELECT actor_type, details FROM audit_events WHERE action = 'transfer.downloaded' AND actor_type = 'credential'",
      )
    ).rows;
    expect(audit).toEqual([
      {
        actor_type: "credential",
        details: expect.objectContaining({ fileName: "actions_20261124.csv", protocol: "sftp" }),
      },
    ]);
  });
});

describe("SFTP refuses", () => {
  it("paths outside the view: cd ../.., absolute paths, links", async () => {
    const res = await sftpBatch(keyLogin, [
      "cd /conversions-in/inbox",
      "cd ../../..",
      "pwd",
      "-get /etc/passwd /dev/null",
      "-get ../../../../etc/passwd /dev/null",
      "-symlink /etc/passwd /conversions-in/inbox/pw",
      "-ls /etc",
      "-mkdir /conversions-in/inbox/sub",
      "-put /etc/hostname /outside.txt",
    ]);
    expect(res.stdout).toMatch(/Remote working directory: \/\n/);
    expect(res.stderr).toMatch(/File "\/etc\/passwd" not found/);
    expect(res.stderr).toMatch(/File "\/\.\.\/\.\.\/\.\.\/\.\.\/etc\/passwd" not found/);
    expect(res.stderr).toMatch(/symlink .*: Permission denied/);
    expect(res.stderr).toMatch(/Can't ls: "\/etc" not found/);
    expect(res.stderr).toMatch(/mkdir .*Permission denied/i);
    expect(res.stderr).toMatch(/dest open "\/outside.txt": Permission denied/);
  });

  it("reserved and forbidden file names", async () => {
    await writeFile(path.join(dir, "x.csv"), "x\n");
    const res = await sftpBatch(keyLogin, [
      `-put ${path.join(dir, "x.csv")} /conversions-in/inbox/result_x.csv`,
      `-put ${path.join(dir, "x.csv")} "/conversions-in/inbox/a:b.csv"`,
    ]);
    expect(res.stderr.match(/Permission denied/g)?.length).toBe(2);
    expect((await transfers(inbound.id)).map((t) => t.file_name)).not.toContain("result_x.csv");
  });

  it("another account's folders, even by exact path", async () => {
    const res = await sftpBatch(otherLogin, [
      "ls -1",
      "-ls /conversions-in/inbox",
      "-get /conversions-in/inbox/orders.csv /dev/null",
    ]);
    expect(res.stdout).toMatch(/sftp> ls -1\nb-feed\n/);
    expect(res.stderr).toMatch(/Can't ls: "\/conversions-in\/inbox" not found/);
    expect(res.stderr).toMatch(/File "\/conversions-in\/inbox\/orders.csv" not found/);
  });

  it("an upload over the size limit, leaving no Transfer", async () => {
    await writeFile(path.join(dir, "huge.bin"), randomBytes(MAX_UPLOAD + 1));
    const res = await sftpBatch(keyLogin, [
      `put ${path.join(dir, "huge.bin")} /conversions-in/inbox/huge.bin`,
    ]);
    expect(res.code).not.toBe(0);
    expect((await transfers(inbound.id)).map((t) => t.file_name)).not.toContain("huge.bin");
  });

  it("to record an upload interrupted by a killed client", async () => {
    await writeFile(path.join(dir, "slow.bin"), randomBytes(6 * 1024 * 1024));
    // -l: 4000 Kbit/s, so that the upload is still running when the client dies.
    const child = await sftpSpawn(
      keyLogin,
      [`put ${path.join(dir, "slow.bin")} /conversions-in/inbox/slow.bin`],
      ["-l", "4000"],
    );
    await new Promise((r) => setTimeout(r, 1500));
    child.kill("SIGKILL");
    await new Promise((r) => setTimeout(r, 1000));
    expect((await transfers(inbound.id)).map((t) => t.file_name)).not.toContain("slow.bin");
    expect(await readdir(path.join(dir, "data", "files", "tmp"))).toEqual([]);
    const ls = await sftpBatch(keyLogin, ["ls -1 /conversions-in/inbox"]);
    expect(ls.stdout).not.toContain("slow.bin");
  });

  it("a wrong password, then bans the address with that username after repeated failures", async () => {
    const wrong = await sftpBatch({ ...passwordLogin, password: "wrong" }, ["ls"]);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/Permission denied/);
    const unknown = await sftpBatch({ ...passwordLogin, username: "nobody-here", password: "wrong" }, ["ls"]);
    expect(unknown.stderr.replace("nobody-here", passwordLogin.username)).toBe(wrong.stderr);
    const failures = (
      await db.query("SELECT count(*)::int AS n FROM audit_events WHERE action = 'login.failed'")
    ).rows[0].n;
    expect(failures).toBe(1);
    // FERRY_LOGIN_MAX_FAILURES=3: two more failures ban this address with this username, even with the right
    // password (test/security/bans.test.ts: other addresses, and the address alone after 3 × 3 failures).
    await sftpBatch({ ...passwordLogin, password: "wrong" }, ["ls"]);
    await sftpBatch({ ...passwordLogin, password: "wrong" }, ["ls"]);
    const banned = await sftpBatch(passwordLogin, ["ls"]);
    expect(banned.code).not.toBe(0);
    // Another login from the same address is not banned: 4 failures are under the address's own limit (9).
    const sameAddress = await sftpBatch(keyLogin, ["ls /"]);
    expect(sameAddress.code, sameAddress.stderr).toBe(0);
  });
});

describe("the CLI", () => {
  it("uploads a file through the API with a progress line, as SFTP would have delivered it", async () => {
    const env = { FERRY_URL: ferry.url, FERRY_TOKEN: tokenA };
    const target = await api(tokenA, "POST", "/api/v1/connections", {
      name: "API uploads",
      direction: "inbound",
      dataType: "conversions",
      method: "sftp",
      methodology: "push_to_platform",
      credentialId: keyLogin.credentialId,
    });
    const file = path.join(dir, "api-upload.csv");
    await writeFile(file, "OrderId\napi-1\n".repeat(1000));
    const up = await runCli(
      [
        "transfers",
        "upload",
        file,
        "--connection",
        target.id,
        "--name",
        "via-api.csv",
        "--progress",
        "--json",
      ],
      env,
    );
    expect(up.code).toBe(0);
    expect(up.json()).toMatchObject({ fileName: "via-api.csv", protocol: "http", size: 14000 });
    expect(up.stderr).toMatch(/uploading [\d.]+ MiB of [\d.]+ MiB \(100%\)/);

    // This Ferry has no workers: the file waits for processing, so it cannot be processed again yet.
    const again = await runCli(["transfers", "reprocess", up.json().id], env);
    expect(again.code).toBe(5);
    expect(again.stderr).toMatch(/The file is being processed now; wait for its result/);
  });
});
