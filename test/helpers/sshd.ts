/**
 * A private OpenSSH sshd on a loopback port, as a third party's SFTP server: password logins for a system user
 * (created once, password set per run) and key logins from an authorized_keys file. Needs root (to run sshd and
 * set the user's password) and the Debian package openssh-server (scripts/install-test-tools.sh).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { freePort } from "./ports.js";

export const SSHD_USER = "ferrypull";

export interface PrivateSshd {
  port: number;
  user: string;
  password: string;
  /** The host key's fingerprint as `ssh-keygen -l` prints it. */
  fingerprint: string;
  authorizedKeys: string;
  /** Stops it and starts it again on the same port with a new host key. */
  newHostKey(): Promise<void>;
  stop(): void;
}

function ensureUser(password: string): void {
  if (process.getuid?.() !== 0)
    throw new Error("The pull tests run sshd and set a user's password: run them as root");
  try {
    execFileSync("id", [SSHD_USER], { stdio: "ignore" });
  } catch {
    execFileSync("useradd", [
      "--no-create-home",
      "--home-dir",
      "/nonexistent",
      "--shell",
      "/usr/sbin/nologin",
      SSHD_USER,
    ]);
  }
  execFileSync("chpasswd", { input: `${SSHD_USER}:${password}\n` });
}

export async function startSshd(dir: string): Promise<PrivateSshd> {
  const password = randomBytes(12).toString("hex");
  ensureUser(password);
  await mkdir(dir, { recursive: true });
  await chmod(dir, 0o755);
  const port = await freePort();
  const authorizedKeys = path.join(dir, "authorized_keys");
  await writeFile(authorizedKeys, "", { mode: 0o644 });
  let child: ChildProcess | undefined;
  let generation = 0;
  const state = { fingerprint: "" };
  const start = async () => {
    generation++;
    const hostKey = path.join(dir, `host_key_${generation}`);
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", hostKey]);
    state.fingerprint = execFileSync("ssh-keygen", ["-lf", `${hostKey}.pub`])
      .toString()
      .split(" ")[1]!;
    const config = path.join(dir, "sshd_config");
    await writeFile(
      config,
      [
        `Port ${port}`,
        "ListenAddress 127.0.0.1",
        `HostKey ${hostKey}`,
        `AuthorizedKeysFile ${authorizedKeys}`,
        `PidFile ${path.join(dir, "sshd.pid")}`,
        "PasswordAuthentication yes",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",
        `AllowUsers ${SSHD_USER}`,
        "Subsystem sftp internal-sftp",
        "ForceCommand internal-sftp",
      ].join("\n"),
    );
    await mkdir("/run/sshd", { recursive: true });
    child = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", config], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (d) => {
      stderr += String(d);
    });
    // Ready when the port accepts connections.
    for (let i = 0; i < 50; i++) {
      if (child.exitCode !== null) throw new Error(`sshd did not start: ${stderr}`);
      const open = await new Promise<boolean>((resolve) => {
        const s = net.connect(port, "127.0.0.1");
        s.on("connect", () => {
          s.destroy();
          resolve(true);
        });
        s.on("error", () => resolve(false));
      });
      if (open) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`sshd did not listen: ${stderr}`);
  };
  const stop = () => {
    child?.kill();
  };
  await start();
  return {
    port,
    user: SSHD_USER,
    password,
    get fingerprint() {
      return state.fingerprint;
    },
    authorizedKeys,
    async newHostKey() {
      const old = child;
      stop();
      if (old && old.exitCode === null) await new Promise((r) => old.once("exit", r));
      await start();
    },
    stop,
  };
}
