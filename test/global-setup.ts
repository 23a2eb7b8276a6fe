/**
 * One PostgreSQL server for the whole run: DATABASE_URL when set (e.g. the machine's own), otherwise an
 * embedded one started here in a temporary directory. Test files then isolate themselves in a schema each.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { startEmbeddedPostgres } from "../src/db/embedded.js";
import { freePort } from "./helpers/ports.js";

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}

/** The real clients the end-to-end tests drive must be installed (scripts/install-test-tools.sh does it). */
function checkTools(): void {
  const tools = [
    "sftp",
    "scp",
    "ssh-keygen",
    "curl",
    "lftp",
    "swaks",
    "chromium",
    "rclone",
    "javac",
    "ncftpput",
  ];
  const missing = tools.filter((tool) => {
    try {
      execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
      return false;
    } catch {
      return true;
    }
  });
  if (!existsSync("/usr/sbin/sshd")) missing.push("sshd (openssh-server)");
  if (!existsSync("/usr/sbin/vsftpd")) missing.push("vsftpd");
  if (!existsSync("/usr/sbin/dovecot")) missing.push("dovecot (dovecot-imapd)");
  if (!existsSync("/usr/sbin/dnsmasq")) missing.push("dnsmasq (dnsmasq-base)");
  if (!existsSync("/usr/bin/radosgw")) missing.push("radosgw, ceph-mon, ceph-osd (Ceph)");
  if (!existsSync("/usr/share/java/jsch.jar")) missing.push("libjsch-java");
  if (!existsSync("/usr/share/java/commons-net.jar")) missing.push("libcommons-net-java");
  try {
    execFileSync("/usr/bin/python3", ["-c", "import paramiko"], { stdio: "ignore" });
  } catch {
    missing.push("python3-paramiko");
  }
  if (missing.length > 0) {
    throw new Error(
      `The tests need ${missing.join(", ")}: run "bash scripts/install-test-tools.sh" (as root).`,
    );
  }
}

export default async function setup(project: TestProject) {
  checkTools();
  if (process.env.DATABASE_URL) {
    project.provide("databaseUrl", process.env.DATABASE_URL);
    return;
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), "ferry-test-pg-"));
  const pg = await startEmbeddedPostgres({ dataDir: dir, port: await freePort() });
  project.provide("databaseUrl", pg.superuserUrl);
  return async () => {
    await pg.stop();
    await rm(dir, { recursive: true, force: true });
  };
}
