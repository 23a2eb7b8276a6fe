/**
 * The real clients and servers the end-to-end tests drive must be installed (scripts/install-test-tools.sh
 * does it): checked once before the e2e project runs, with one message naming all that is missing.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

/** The real clients the end-to-end tests drive must be installed (scripts/install-test-tools.sh does it). */
export default function checkTools(): void {
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
    "systemd-analyze",
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
