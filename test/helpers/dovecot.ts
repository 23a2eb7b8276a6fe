/**
 * A private Dovecot IMAP server on loopback ports, as a customer's mailbox: IMAP over TLS (a self-signed
 * certificate) and plain IMAP, one throw-away user (system-user.ts) whose Maildir the test writes messages into.
 * Needs root and the Debian package dovecot-imapd (scripts/install-test-tools.sh).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chown, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import selfsigned from "selfsigned";
import { freePort, waitForListen } from "./ports.js";
import { createSystemUser, type SystemUser } from "./system-user.js";

export interface PrivateDovecot {
  /** IMAP over TLS. */
  tlsPort: number;
  /** Plain IMAP. */
  plainPort: number;
  user: SystemUser;
  /** Puts a message with attachments into the user's INBOX (or another folder). */
  deliver(
    message: { subject: string; attachments: { name: string; content: string }[] },
    folder?: string,
  ): Promise<void>;
  stop(): void;
}

export async function startDovecot(dir: string): Promise<PrivateDovecot> {
  const home = path.join(dir, "home");
  await mkdir(home, { recursive: true });
  const user = createSystemUser("ferrymail", home);
  await chown(home, user.uid, user.uid);
  const [tlsPort, plainPort] = [await freePort(), await freePort()];
  const pems = await selfsigned.generate([{ name: "commonName", value: "localhost" }], { keyType: "ec" });
  await writeFile(path.join(dir, "cert.pem"), pems.cert);
  await writeFile(path.join(dir, "key.pem"), pems.private, { mode: 0o600 });
  await writeFile(path.join(dir, "passwd"), `${user.name}:{PLAIN}${user.password}\n`, { mode: 0o644 });
  await mkdir(path.join(dir, "run"), { recursive: true });
  const config = path.join(dir, "dovecot.conf");
  await writeFile(
    config,
    [
      `base_dir = ${path.join(dir, "run")}`,
      `state_dir = ${path.join(dir, "state")}`,
      "log_path = /dev/stderr",
      "listen = 127.0.0.1",
      "protocols = imap",
      "ssl = yes",
      `ssl_cert = <${path.join(dir, "cert.pem")}`,
      `ssl_key = <${path.join(dir, "key.pem")}`,
      "disable_plaintext_auth = no",
      "auth_mechanisms = plain login",
      "passdb {",
      "  driver = passwd-file",
      `  args = scheme=PLAIN username_format=%u ${path.join(dir, "passwd")}`,
      "}",
      "userdb {",
      "  driver = static",
      `  args = uid=${user.uid} gid=${user.uid} home=${home}`,
      "}",
      "mail_location = maildir:~/Maildir",
      "service imap-login {",
      "  inet_listener imap {",
      `    port = ${plainPort}`,
      "  }",
      "  inet_listener imaps {",
      `    port = ${tlsPort}`,
      "    ssl = yes",
      "  }",
      "}",
      "service stats {",
      "  unix_listener stats-reader {",
      "    mode = 0666",
      "  }",
      "  unix_listener stats-writer {",
      "    mode = 0666",
      "  }",
      "}",
    ].join("\n"),
  );
  await mkdir(path.join(dir, "state"), { recursive: true });
  const child: ChildProcess = spawn("/usr/sbin/dovecot", ["-F", "-c", config], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (d) => {
    stderr += String(d);
  });
  await waitForListen(tlsPort, child, () => stderr, "dovecot");
  const maildir = path.join(home, "Maildir");
  return {
    tlsPort,
    plainPort,
    user,
    async deliver(message, folder) {
      const box = folder ? path.join(maildir, `.${folder}`) : maildir;
      for (const sub of ["cur", "new", "tmp"]) {
        await mkdir(path.join(box, sub), { recursive: true });
      }
      for (const d of [maildir, box, ...["cur", "new", "tmp"].map((s) => path.join(box, s))]) {
        await chown(d, user.uid, user.uid);
      }
      const boundary = `b${randomBytes(8).toString("hex")}`;
      const parts = [
        `--${boundary}\r\nContent-Type: text/plain\r\n\r\nFiles attached.\r\n`,
        ...message.attachments.map(
          (a) =>
            `--${boundary}\r\nContent-Type: text/csv; name="${a.name}"\r\nContent-Disposition: attachment; filename="${a.name}"\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.from(a.content).toString("base64").replace(/.{76}/g, "$&\r\n")}\r\n`,
        ),
      ];
      const text = `From: partner@example.com\r\nTo: ${user.name}@example.com\r\nSubject: ${message.subject}\r\nDate: ${new Date().toUTCString()}\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="${boundary}"\r\n\r\n${parts.join("")}--${boundary}--\r\n`;
      const file = path.join(box, "new", `${Date.now()}.${randomBytes(6).toString("hex")}.test`);
      await writeFile(file, text);
      await chown(file, user.uid, user.uid);
    },
    stop() {
      child.kill();
      user.remove();
    },
  };
}
