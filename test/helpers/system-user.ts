/** A throw-away system user for the third-party servers the tests start (sshd, vsftpd): random name and password. */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";

export interface SystemUser {
  name: string;
  uid: number;
  password: string;
  remove(): void;
}

export function createSystemUser(prefix: string, home = "/nonexistent"): SystemUser {
  if (process.getuid?.() !== 0)
    throw new Error("These tests create a system user for a test server: run them as root");
  const name = `${prefix}${randomBytes(4).toString("hex")}`;
  const password = randomBytes(12).toString("hex");
  execFileSync("useradd", ["--no-create-home", "--home-dir", home, "--shell", "/usr/sbin/nologin", name]);
  execFileSync("chpasswd", { input: `${name}:${password}\n` });
  const uid = Number(execFileSync("id", ["-u", name]).toString());
  return {
    name,
    uid,
    password,
    remove() {
      try {
        execFileSync("userdel", ["-f", name], { stdio: "ignore" });
      } catch {}
    },
  };
}
