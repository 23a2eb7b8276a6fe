/**
 * SFTP throughput: OpenSSH's sftp client uploading and downloading one large file to Ferry and, in the same
 * run, to OpenSSH's own sftp-server behind a private sshd on a loopback port. Same client, same cipher, same
 * disk. Prints MB/s for both and Ferry's ratio.
 *
 *   npm run bench:sftp [-- --mib 512 --runs 3 --cipher aes128-gcm@openssh.com]
 *
 * Needs the Debian package openssh-server (for /usr/sbin/sshd); installs it with apt-get when missing.
 */
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { sshClientOptions } from "../test/helpers/openssh.js";
import { freePort } from "../test/helpers/ports.js";
import { startFerryForBench } from "./ferry.js";

const { values } = parseArgs({
  options: {
    mib: { type: "string", default: "512" },
    runs: { type: "string", default: "3" },
    cipher: { type: "string", default: "aes128-gcm@openssh.com" },
  },
});
const MIB = Number(values.mib);
const RUNS = Number(values.runs);
const CIPHER = values.cipher!;

function ensureSshd(): void {
  if (existsSync("/usr/sbin/sshd")) return;
  console.log("installing openssh-server (apt-get) for the reference server...");
  execFileSync("apt-get", ["install", "-y", "-qq", "openssh-server"], {
    stdio: "inherit",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
}

async function startSshd(dir: string, publicKey: string): Promise<{ port: number; stop: () => void }> {
  const port = await freePort();
  const hostKey = path.join(dir, "sshd_host_ed25519_key");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", hostKey]);
  const authorized = path.join(dir, "authorized_keys");
  await writeFile(authorized, publicKey, { mode: 0o600 });
  const config = path.join(dir, "sshd_config");
  await writeFile(
    config,
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${authorized}`,
      `PidFile ${path.join(dir, "sshd.pid")}`,
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "StrictModes no",
      "PermitRootLogin prohibit-password",
      "Subsystem sftp /usr/lib/openssh/sftp-server",
    ].join("\n"),
  );
  mkdirSync("/run/sshd", { recursive: true });
  const child = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", config], { stdio: ["ignore", "ignore", "pipe"] });
  await new Promise((r) => setTimeout(r, 500));
  if (child.exitCode !== null) throw new Error("sshd did not start");
  return { port, stop: () => child.kill() };
}

function sftp(port: number, user: string, key: string, commands: string): number {
  const started = process.hrtime.bigint();
  execFileSync(
    "sftp",
    ["-q", "-c", CIPHER, ...sshClientOptions(port), "-i", key, "-b", "-", `${user}@127.0.0.1`],
    { input: commands, stdio: ["pipe", "ignore", "inherit"] },
  );
  return Number(process.hrtime.bigint() - started) / 1e9;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main() {
  ensureSshd();
  const dir = await mkdtemp(path.join(os.tmpdir(), "ferry-bench-sftp-"));
  await chmod(dir, 0o755); // the embedded PostgreSQL runs as "postgres" when we are root
  const key = path.join(dir, "id_ed25519");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
  const publicKey = execFileSync("cat", [`${key}.pub`], { encoding: "utf8" });
  const file = path.join(dir, "payload.bin");
  console.log(`writing a ${MIB} MiB file of random bytes...`);
  execFileSync("dd", ["if=/dev/urandom", `of=${file}`, "bs=1M", `count=${MIB}`, "status=none"]);
  const remoteDir = path.join(dir, "openssh-remote");
  mkdirSync(remoteDir);

  const sshd = await startSshd(dir, publicKey);
  const ferry = await startFerryForBench(dir, publicKey);
  const results: Record<string, { up: number[]; down: number[] }> = {
    openssh: { up: [], down: [] },
    ferry: { up: [], down: [] },
  };
  // Ferry's CPU time (user + system) per transfer, of all threads and of the main thread (the event loop, the
  // one that limits): steadier than wall time on a shared machine.
  const cpu: Record<"up" | "down", { all: number[]; main: number[] }> = {
    up: { all: [], main: [] },
    down: { all: [], main: [] },
  };
  const cpuSeconds = (stat: string) => {
    const f = readFileSync(stat, "utf8").split(") ")[1]!.split(" ");
    return (Number(f[11]) + Number(f[12])) / 100;
  };
  const allThreads = `/proc/${ferry.pid}/stat`;
  const mainThread = `/proc/${ferry.pid}/task/${ferry.pid}/stat`;
  const measured = (into: { all: number[]; main: number[] }, transfer: () => number) => {
    const [all, main] = [cpuSeconds(allThreads), cpuSeconds(mainThread)];
    const secs = transfer();
    into.all.push(cpuSeconds(allThreads) - all);
    into.main.push(cpuSeconds(mainThread) - main);
    return secs;
  };
  try {
    for (let run = 1; run <= RUNS; run++) {
      const name = `run${run}-${randomBytes(3).toString("hex")}.bin`;
      const got = path.join(dir, `got-${name}`);
      // OpenSSH reference
      results.openssh!.up.push(
        sftp(sshd.port, os.userInfo().username, key, `put ${file} ${remoteDir}/${name}\n`),
      );
      results.openssh!.down.push(
        sftp(sshd.port, os.userInfo().username, key, `get ${remoteDir}/${name} ${got}\n`),
      );
      await rm(got);
      await rm(path.join(remoteDir, name));
      // Ferry
      results.ferry!.up.push(
        measured(cpu.up, () =>
          sftp(ferry.sftpPort, ferry.username, key, `put ${file} /${ferry.folder}/inbox/${name}\n`),
        ),
      );
      results.ferry!.down.push(
        measured(cpu.down, () =>
          sftp(ferry.sftpPort, ferry.username, key, `get /${ferry.folder}/inbox/${name} ${got}\n`),
        ),
      );
      execFileSync("cmp", [file, got]);
      await rm(got);
      console.log(`run ${run}/${RUNS} done`);
    }
  } finally {
    sshd.stop();
    await ferry.stop();
  }
  const mbs = (secs: number[]) => (MIB * 1.048576) / median(secs);
  const rows = (["up", "down"] as const).map((dirn) => {
    const o = mbs(results.openssh![dirn]);
    const f = mbs(results.ferry![dirn]);
    const perGib = (xs: number[]) => (median(xs) / MIB) * 1024;
    return {
      direction: dirn === "up" ? "upload" : "download",
      openssh: o,
      ferry: f,
      ratio: f / o,
      all: perGib(cpu[dirn].all),
      main: perGib(cpu[dirn].main),
    };
  });
  console.log(`\nSFTP, ${MIB} MiB file, cipher ${CIPHER}, median of ${RUNS} runs, loopback:`);
  for (const r of rows) {
    console.log(
      `  ${r.direction.padEnd(8)}  OpenSSH ${r.openssh.toFixed(0).padStart(5)} MB/s   Ferry ${r.ferry.toFixed(0).padStart(5)} MB/s   ratio ${r.ratio.toFixed(2)}x   (Ferry CPU ${r.all.toFixed(1)} s/GiB, main thread ${r.main.toFixed(1)})`,
    );
  }
  await rm(dir, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
