/**
 * One hostile client against everyone else: while one login holds the most open SFTP files it may, 500
 * connections sit silent before logging in and HTTP request bodies trickle in a byte at a time, how long do
 * another account's 10 MiB SFTP upload (OpenSSH's sftp) and an API call take, against the same run without
 * the hostile load? Also Ferry's memory.
 *
 *   npm run bench:hostile [-- --runs 20]
 *
 * The hostile client uses other loopback addresses (127.0.0.2, .3) than the measured one (127.0.0.1), as an
 * attacker on the internet has an address of their own.
 */
import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Client, type SFTPWrapper } from "ssh2";
import { apiCall } from "../test/helpers/ferry.js";
import { sshClientOptions } from "../test/helpers/openssh.js";
import { memoryOf, sampleRss, startFerryForBench } from "./ferry.js";

const { values } = parseArgs({ options: { runs: { type: "string", default: "20" } } });
const RUNS = Number(values.runs);
const SILENT = 500;
const TRICKLES = 20;

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

async function main() {
  const dir = await mkdtemp(path.join(os.tmpdir(), "ferry-bench-hostile-"));
  await chmod(dir, 0o755);
  const key = path.join(dir, "id_ed25519");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
  const ferry = await startFerryForBench(dir, await readFile(`${key}.pub`, "utf8"));
  const sockets: net.Socket[] = [];
  const clients: Client[] = [];
  try {
    const file = path.join(dir, "upload.csv");
    await writeFile(file, randomBytes(10 * 1024 * 1024));

    // The hostile account: a password login with its own SFTP connection.
    const account = await apiCall(ferry.url, ferry.admin, "POST", "/api/v1/accounts", {
      name: "Hostile",
      type: "partner",
    });
    const hostileToken = (
      await apiCall(ferry.url, ferry.admin, "POST", `/api/v1/accounts/${account.id}/tokens`)
    ).token;
    const cred = await apiCall(ferry.url, hostileToken, "POST", "/api/v1/credentials", {
      name: "h",
      kind: "password",
    });
    const conn = await apiCall(ferry.url, hostileToken, "POST", "/api/v1/connections", {
      name: "Hostile",
      direction: "inbound",
      dataType: "clicks",
      method: "sftp",
      methodology: "push_to_platform",
      credentialId: cred.id,
    });

    const upload = () =>
      new Promise<number>((resolve, reject) => {
        const started = performance.now();
        const child = execFile(
          "sftp",
          [
            ...sshClientOptions(ferry.sftpPort),
            "-i",
            key,
            "-o",
            "IdentitiesOnly=yes",
            "-b",
            "-",
            `${ferry.username}@127.0.0.1`,
          ],
          { env: { PATH: process.env.PATH ?? "", HOME: dir }, timeout: 120_000 },
          (err) => (err ? reject(err) : resolve(performance.now() - started)),
        );
        child.stdin!.end(`put ${file} /${ferry.folder}/inbox/u_${randomBytes(4).toString("hex")}.csv\n`);
      });
    const apiTime = async () => {
      const started = performance.now();
      await apiCall(ferry.url, ferry.token, "GET", "/api/v1/connections");
      return performance.now() - started;
    };
    const measure = async () => {
      const uploads: number[] = [];
      const api: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        uploads.push(await upload());
        api.push(await apiTime());
      }
      return { uploads, api };
    };

    const idleRss = (await memoryOf(ferry.pid)).rss;
    const rss = sampleRss(ferry.pid);

    const quiet = await measure();

    // Hostile load 1: the hostile login opens files until refused, across sessions, and holds them.
    let held = 0;
    for (let s = 0; s < 3; s++) {
      const client = new Client();
      clients.push(client);
      await new Promise<void>((resolve, reject) => {
        client.once("ready", resolve).once("error", reject);
        client.connect({
          host: "127.0.0.1",
          localAddress: "127.0.0.3",
          port: ferry.sftpPort,
          username: cred.username,
          password: cred.password,
        });
      });
      const sftp = await new Promise<SFTPWrapper>((resolve, reject) =>
        client.sftp((err, w) => (err ? reject(err) : resolve(w))),
      );
      const opened = await Promise.all(
        Array.from(
          { length: 600 },
          (_, i) =>
            new Promise<boolean>((resolve) =>
              sftp.open(`/${conn.folder}/inbox/h${s}_${i}.csv`, "w", (err) => resolve(!err)),
            ),
        ),
      );
      held += opened.filter(Boolean).length;
    }
    // Hostile load 2: silent connections before login, from one address.
    let refusedAtOnce = 0;
    await Promise.all(
      Array.from({ length: SILENT }, async () => {
        const socket = net.connect({ host: "127.0.0.1", port: ferry.sftpPort, localAddress: "127.0.0.2" });
        sockets.push(socket);
        socket.on("error", () => {});
        socket.once("close", () => refusedAtOnce++);
        await new Promise((r) => socket.once("connect", r).once("error", r));
      }),
    );
    // Hostile load 3: request bodies trickled a byte every 2 s.
    const httpPort = Number(new URL(ferry.url).port);
    for (let i = 0; i < TRICKLES; i++) {
      const socket = net.connect({ host: "127.0.0.1", port: httpPort, localAddress: "127.0.0.2" }, () =>
        socket.write(
          `POST /api/v1/credentials HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${hostileToken}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{`,
        ),
      );
      socket.on("error", () => {});
      sockets.push(socket);
    }
    const trickle = setInterval(() => {
      for (const s of sockets.slice(-TRICKLES)) if (!s.destroyed) s.write(" ");
    }, 2000);

    const hostile = await measure();
    clearInterval(trickle);
    rss.stop();

    const row = (name: string, a: number[], b: number[]) => {
      const [a50, a99, b50, b99] = [
        percentile(a, 50),
        percentile(a, 99),
        percentile(b, 50),
        percentile(b, 99),
      ];
      console.log(
        `${name.padEnd(22)} quiet p50 ${a50.toFixed(0).padStart(6)} ms  p99 ${a99.toFixed(0).padStart(6)} ms   hostile p50 ${b50.toFixed(0).padStart(6)} ms  p99 ${b99.toFixed(0).padStart(6)} ms   p99 ratio ${(b99 / a99).toFixed(2)}x`,
      );
    };
    console.log(
      `\n${RUNS} runs each; hostile: ${held} open files held by one login, ${SILENT} silent connections (${refusedAtOnce} refused at once), ${TRICKLES} trickled HTTP bodies`,
    );
    row("10 MiB SFTP upload", quiet.uploads, hostile.uploads);
    row("API call", quiet.api, hostile.api);
    console.log(
      `Ferry RSS peak ${(Math.max(idleRss, rss.peak()) / 1024 ** 2).toFixed(0)} MiB (limit asked: 500 MiB)`,
    );
  } finally {
    for (const s of sockets) s.destroy();
    for (const c of clients) c.end();
    await ferry.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
