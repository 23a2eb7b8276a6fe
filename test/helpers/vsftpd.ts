/**
 * A private vsftpd on a loopback port, as a third party's FTP server: a throw-away local user whose home is
 * the served folder; FTPS explicit (required), implicit, or plain. Needs root and the Debian package vsftpd
 * (scripts/install-test-tools.sh). Logins go through a PAM service of its own (pam_unix only): Debian's
 * "vsftpd" service also requires a login shell, which the test user has not.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, chown, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import selfsigned from "selfsigned";
import { freePort, waitForListen } from "./ports.js";
import { createSystemUser, type SystemUser } from "./system-user.js";

const PAM_SERVICE = "ferry-test-ftp";

export interface PrivateVsftpd {
  port: number;
  user: SystemUser;
  /** The served folder (the user's home). */
  root: string;
  /** Gives the server a new self-signed certificate (for new connections). */
  newCertificate(): Promise<void>;
  stop(): void;
}

export async function startVsftpd(
  dir: string,
  security: "explicit" | "implicit" | "none",
): Promise<PrivateVsftpd> {
  const pam = `/etc/pam.d/${PAM_SERVICE}`;
  if (!existsSync(pam)) {
    await writeFile(
      pam,
      "auth required pam_unix.so\naccount required pam_unix.so\nsession required pam_permit.so\n",
    );
  }
  const root = path.join(dir, "home");
  await mkdir(root, { recursive: true });
  await chmod(dir, 0o755);
  const user = createSystemUser("ferryftp", root);
  await chown(root, user.uid, user.uid);
  const port = await freePort();
  // Passive ports below the ephemeral range and away from Ferry's own test ranges (20000-29999).
  const passive = 30_000 + Math.floor(Math.random() * 130) * 20;
  const pem = path.join(dir, "vsftpd.pem");
  const newCertificate = async () => {
    const pems = await selfsigned.generate([{ name: "commonName", value: "localhost" }], { keyType: "ec" });
    await writeFile(pem, `${pems.private}\n${pems.cert}`, { mode: 0o600 });
  };
  await newCertificate();
  await mkdir("/var/run/vsftpd/empty", { recursive: true });
  const config = path.join(dir, "vsftpd.conf");
  await writeFile(
    config,
    [
      "listen=YES",
      "listen_address=127.0.0.1",
      `listen_port=${port}`,
      "background=NO",
      "anonymous_enable=NO",
      "local_enable=YES",
      "write_enable=YES",
      "local_umask=022",
      `pam_service_name=${PAM_SERVICE}`,
      `userlist_enable=NO`,
      "pasv_enable=YES",
      "pasv_address=127.0.0.1",
      `pasv_min_port=${passive}`,
      `pasv_max_port=${passive + 19}`,
      "seccomp_sandbox=NO",
      "xferlog_enable=NO",
      "secure_chroot_dir=/var/run/vsftpd/empty",
      `ssl_enable=${security === "none" ? "NO" : "YES"}`,
      ...(security === "none"
        ? []
        : [
            `implicit_ssl=${security === "implicit" ? "YES" : "NO"}`,
            "force_local_logins_ssl=YES",
            "force_local_data_ssl=YES",
            "require_ssl_reuse=NO",
            `rsa_cert_file=${pem}`,
            `rsa_private_key_file=${pem}`,
          ]),
    ].join("\n"),
  );
  let child: ChildProcess | undefined;
  const start = async () => {
    const proc = spawn("/usr/sbin/vsftpd", [config], { stdio: ["ignore", "ignore", "pipe"] });
    child = proc;
    let stderr = "";
    proc.stderr!.on("data", (d) => {
      stderr += String(d);
    });
    await waitForListen(port, proc, () => stderr, "vsftpd");
  };
  await start();
  return {
    port,
    user,
    root,
    // vsftpd reads its certificate once, at start: a new one needs a restart on the same port.
    async newCertificate() {
      const old = child;
      old?.kill();
      if (old && old.exitCode === null) await new Promise((r) => old.once("exit", r));
      await newCertificate();
      await start();
    },
    stop() {
      child?.kill();
      user.remove();
    },
  };
}
