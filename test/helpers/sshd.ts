/**
 * A private OpenSSH sshd on a loopback port, as a third party's SFTP server: password logins for a system user
 * made for this run (system-user.ts: removed at stop, so concurrent runs never meet) and key logins from an authorized_keys file. Needs root (to run sshd and create the user) and the Debian package
 * openssh-server (scripts/install-test-tools.sh).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { freePort, waitForListen } from "./ports.js";
import { createSystemUser } from "./system-user.js";

export interface PrivateSshd {
  port: number;
  user: string;
  uid: number;
  password: string;
  /** The host key's fingerprint as `ssh-keygen -l` prints it. */
  fingerprint: string;
  authorizedKeys: string;
  /** Stops it and starts it again on the same port with a new host key. */
  newHostKey(): Promise<void>;
  /** Stops it and removes its user. */
  stop(): void;
}

export async function startSshd(dir: string): Promise<PrivateSshd> {
  const account = createSystemUser("ferrypull");
  const user = account.name;
  const password = account.password;
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
        `AllowUsers ${user}`,
        "Subsystem sftp internal-sftp",
        "ForceCommand internal-sftp",
      ].join("\n"),
    );
    await mkdir("/run/sshd", { recursive: true });
    const proc = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", config], { stdio: ["ignore", "ignore", "pipe"] });
    child = proc;
    let stderr = "";
    proc.stderr!.on("data", (d) => {
      stderr += String(d);
    });
    await waitForListen(port, proc, () => stderr, "sshd");
  };
  const stopSshd = async () => {
    const old = child;
    old?.kill();
    if (old && old.exitCode === null) await new Promise((r) => old.once("exit", r));
  };
  await start();
  return {
    port,
    user,
    uid: account.uid,
    password,
    get fingerprint() {
      return state.fingerprint;
    },
    authorizedKeys,
    async newHostKey() {
      await stopSshd();
      await start();
    },
    stop() {
      child?.kill();
      account.remove();
    },
  };
}
