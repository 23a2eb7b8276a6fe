/**
 * FTP throughput: curl uploading and downloading one large file to Ferry and, in the same run, to vsftpd on a
 * loopback port, over plain FTP and over explicit FTPS. Same client, same file, same disk. Prints MB/s and
 * Ferry's ratio.
 *
 *   npm run bench:ftp [-- --mib 512 --runs 3]
 *
 * Needs the Debian package vsftpd; installs it with apt-get when missing.
 */
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import { chmod, chown, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import selfsigned from "selfsigned";
import { freePort } from "../test/helpers/ports.js";
import { startFerryForBench } from "./ferry.js";

const { values } = parseArgs({
  options: { mib: { type: "string", default: "512" }, runs: { type: "string", default: "3" } },
});
const MIB = Number(values.mib);
const RUNS = Number(values.runs);

function ensureVsftpd(): void {
  if (existsSync("/usr/sbin/vsftpd")) return;
  console.log("installing vsftpd (apt-get) for the reference server...");
  execFileSync("apt-get", ["install", "-y", "-qq", "vsftpd"], {
    stdio: "inherit",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
}

async function startVsftpd(dir: string): Promise<{ port: number; stop: () => void }> {
  const port = await freePort();
  const root = path.join(dir, "vsftpd-root");
  const up = path.join(root, "up");
  mkdirSync(up, { recursive: true });
  const ftpUser = Number(execFileSync("id", ["-u", "ftp"], { encoding: "utf8" }).trim());
  await chown(up, ftpUser, ftpUser);
  await chmod(root, 0o755); // vsftpd refuses a writable anonymous root
  mkdirSync("/var/run/vsftpd/empty", { recursive: true });
  const pems = await selfsigned.generate([{ name: "commonName", value: "localhost" }], { keyType: "ec" });
  await writeFile(path.join(dir, "vsftpd.pem"), `${pems.private}\n${pems.cert}`, { mode: 0o600 });
  const config = path.join(dir, "vsftpd.conf");
  await writeFile(
    config,
    [
      "listen=YES",
      "listen_address=127.0.0.1",
      `listen_port=${port}`,
      "background=NO",
      "anonymous_enable=YES",
      "no_anon_password=YES",
      `anon_root=${root}`,
      "write_enable=YES",
      "anon_upload_enable=YES",
      "anon_other_write_enable=YES",
      "anon_umask=022",
      "local_enable=NO",
      "pasv_enable=YES",
      "pasv_address=127.0.0.1",
      "pasv_min_port=41000",
      "pasv_max_port=41100",
      "seccomp_sandbox=NO",
      "xferlog_enable=NO",
      "ssl_enable=YES",
      "allow_anon_ssl=YES",
      "force_anon_logins_ssl=NO",
      "force_anon_data_ssl=NO",
      "require_ssl_reuse=NO",
      `rsa_cert_file=${path.join(dir, "vsftpd.pem")}`,
      `rsa_private_key_file=${path.join(dir, "vsftpd.pem")}`,
    ].join("\n"),
  );
  const child = spawn("/usr/sbin/vsftpd", [config], { stdio: ["ignore", "ignore", "inherit"] });
  await new Promise((r) => setTimeout(r, 500));
  if (child.exitCode !== null) throw new Error("vsftpd did not start");
  return { port, stop: () => child.kill() };
}

function curl(args: string[]): number {
  const started = process.hrtime.bigint();
  execFileSync("curl", ["-sS", "--fail", ...args], { stdio: ["ignore", "ignore", "inherit"] });
  return Number(process.hrtime.bigint() - started) / 1e9;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main() {
  ensureVsftpd();
  const dir = await mkdtemp(path.join(os.tmpdir(), "ferry-bench-ftp-"));
  await chmod(dir, 0o755); // vsftpd's ftp user and the embedded PostgreSQL's postgres user must get in
  const file = path.join(dir, "payload.bin");
  console.log(`writing a ${MIB} MiB file of random bytes...`);
  execFileSync("dd", ["if=/dev/urandom", `of=${file}`, "bs=1M", `count=${MIB}`, "status=none"]);

  const vsftpd = await startVsftpd(dir);
  const ferry = await startFerryForBench(dir, "", { FERRY_FTP_REQUIRE_TLS: "false" }, "ftp");
  const results: Record<string, number[]> = {};
  const add = (key: string, secs: number) => {
    results[key] ??= [];
    results[key]!.push(secs);
  };
  try {
    for (let run = 1; run <= RUNS; run++) {
      for (const tls of [false, true]) {
        const mode = tls ? "ftps" : "ftp";
        const flags = tls ? ["--ssl-reqd", "-k"] : [];
        const name = `run${run}-${mode}-${randomBytes(3).toString("hex")}.bin`;
        const got = path.join(dir, `got-${name}`);
        const v = `ftp://127.0.0.1:${vsftpd.port}/up/${name}`;
        add(`vsftpd ${mode} up`, curl([...flags, "--user", "anonymous:", "-T", file, v]));
        add(`vsftpd ${mode} down`, curl([...flags, "--user", "anonymous:", "-o", got, v]));
        await rm(got);
        const f = `ftp://127.0.0.1:${ferry.ftpPort}/${ferry.folder}/inbox/${name}`;
        add(
          `ferry ${mode} up`,
          curl([...flags, "--user", `${ferry.username}:${ferry.password}`, "-T", file, f]),
        );
        add(
          `ferry ${mode} down`,
          curl([...flags, "--user", `${ferry.username}:${ferry.password}`, "-o", got, f]),
        );
        execFileSync("cmp", [file, got]);
        await rm(got);
      }
      console.log(`run ${run}/${RUNS} done`);
    }
  } finally {
    vsftpd.stop();
    await ferry.stop();
  }
  const mbs = (key: string) => (MIB * 1.048576) / median(results[key]!);
  console.log(`\nFTP with curl, ${MIB} MiB file, median of ${RUNS} runs, loopback:`);
  for (const mode of ["ftp", "ftps"]) {
    for (const dirn of ["up", "down"]) {
      const v = mbs(`vsftpd ${mode} ${dirn}`);
      const f = mbs(`ferry ${mode} ${dirn}`);
      console.log(
        `  ${mode.padEnd(4)} ${(dirn === "up" ? "upload" : "download").padEnd(8)}  vsftpd ${v.toFixed(0).padStart(5)} MB/s   Ferry ${f.toFixed(0).padStart(5)} MB/s   ratio ${(f / v).toFixed(2)}x`,
      );
    }
  }
  await rm(dir, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
