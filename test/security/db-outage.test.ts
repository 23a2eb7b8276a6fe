/**
 * The database unreachable (network cut between Ferry and PostgreSQL): every server answers with a temporary
 * failure, never with a misleading one ("Permission denied", "530 Login incorrect", a 500), and all work
 * again once the database is back. The cut is a TCP relay in front of PostgreSQL that this test breaks.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../helpers/db.js";
import { apiCall, clicksLogin, type RunningFerry, startServe } from "../helpers/ferry.js";
import { freePort } from "../helpers/ports.js";
import { connectRawFtp } from "../helpers/raw-ftp.js";
import { connectSmtp } from "../helpers/smtp.js";
import { ssh2Login } from "../helpers/ssh2-login.js";

const ADMIN = `outage_admin_${randomBytes(8).toString("hex")}`;
let dir: string;
let database: { url: string; drop: () => Promise<void> };
let relay: { port: number; cut(): void; restore(): void; close(): Promise<void> };
let ferry: RunningFerry;
let ports: { sftp: number; ftp: number; smtp: number };
let account: Awaited<ReturnType<typeof clicksLogin<"sftp" | "ftp">>>;
let address: string;

/** A TCP relay to host:port that can be cut: open connections reset, new ones closed at once. */
async function tcpRelay(host: string, port: number): Promise<typeof relay> {
  const open = new Set<net.Socket>();
  let down = false;
  const server = net.createServer((client) => {
    if (down) return void client.destroy();
    const upstream = net.connect(port, host);
    for (const [a, b] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      open.add(a);
      a.on("error", () => b.destroy());
      a.on("close", () => {
        open.delete(a);
        b.destroy();
      });
      a.pipe(b);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    cut: () => {
      down = true;
      for (const s of open) s.resetAndDestroy();
    },
    restore: () => {
      down = false;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "ferry-outage-"));
  database = await createTestDatabase();
  const target = new URL(database.url);
  relay = await tcpRelay(target.hostname, Number(target.port || 5432));
  const relayed = new URL(database.url);
  relayed.host = `127.0.0.1:${relay.port}`;
  ports = { sftp: await freePort(), ftp: await freePort(), smtp: await freePort() };
  ferry = await startServe({
    DATABASE_URL: relayed.toString(),
    FERRY_DATA_DIR: path.join(dir, "data"),
    FERRY_SFTP_PORT: String(ports.sftp),
    FERRY_FTP_PORT: String(ports.ftp),
    FERRY_SMTP_PORT: String(ports.smtp),
    FERRY_EMAIL_DOMAIN: "in.ferry.test",
    FERRY_ADMIN_TOKEN: ADMIN,
    FERRY_WORKERS: "0",
    FERRY_FTP_REQUIRE_TLS: "false",
    FERRY_LOG_LEVEL: "fatal",
  });
  account = await clicksLogin(ferry.url, ADMIN, ["sftp", "ftp"]);
  address = (
    await apiCall(ferry.url, account.token, "POST", "/api/v1/connections", {
      name: "Clicks by email",
      direction: "inbound",
      dataType: "clicks",
      method: "email",
      methodology: "push_to_platform",
    })
  ).address;
});

afterAll(async () => {
  relay?.restore();
  await ferry?.stop();
  await relay?.close();
  await database?.drop();
  await rm(dir, { recursive: true, force: true });
});

const ftpLogin = async () => {
  const ftp = await connectRawFtp(ports.ftp, account.login.username, account.login.password).catch(
    (err: Error) => err,
  );
  if (ftp instanceof Error) return ftp.message;
  ftp.control.destroy();
  return "ok";
};

/** The FTP server's answer to USER + PASS, by hand (connectRawFtp would treat a 421 as a failed connect). */
async function ftpPassReply(): Promise<string> {
  const socket = net.connect(ports.ftp, "127.0.0.1");
  let text = "";
  socket.setEncoding("utf8");
  socket.on("data", (d: string) => {
    text += d;
  });
  /** The next final reply line ("NNN text") after `from` characters of the conversation. */
  const replyAfter = async (from: number) => {
    for (let i = 0; i < 400; i++) {
      const line = /^\d{3} [^\r\n]*\r\n/m.exec(text.slice(from));
      if (line) return { line: line[0].trim(), end: from + line.index + line[0].length };
      await new Promise((r) => setTimeout(r, 25));
    }
    return { line: "", end: text.length };
  };
  const greeting = await replyAfter(0);
  socket.write(`USER ${account.login.username}\r\n`);
  const user = await replyAfter(greeting.end);
  socket.write(`PASS ${account.login.password}\r\n`);
  const pass = await replyAfter(user.end);
  socket.destroy();
  return pass.line;
}

describe("when Ferry cannot reach its database", () => {
  it("logs in normally before the cut", async () => {
    expect(await ssh2Login({ port: ports.sftp, ...account.login, from: "127.0.0.1" })).toBe("ok");
    expect(await ftpLogin()).toBe("ok");
  });

  it("answers temporary failures on every protocol, then works again once the database is back", async () => {
    relay.cut();
    // HTTP: 503 with Retry-After, for the API and the health check.
    const api = await fetch(`${ferry.url}/api/v1/credentials`, {
      headers: { authorization: `Bearer ${account.token}` },
    });
    expect(api.status).toBe(503);
    expect(api.headers.get("retry-after")).toBe("5");
    expect(((await api.json()) as { error: { code: string } }).error.code).toBe("UNAVAILABLE");
    expect((await fetch(`${ferry.url}/healthz`)).status).toBe(503);
    // SFTP: disconnected as "service not available" with words, not "Permission denied".
    const sftp = await ssh2Login({ port: ports.sftp, ...account.login, from: "127.0.0.1" });
    expect(sftp).toMatch(/cannot check logins right now; try again shortly/);
    // FTP: 421 (RFC 959's "service not available"), not 530 "Login incorrect".
    expect(await ftpPassReply()).toMatch(/^421 Service not available, try again shortly/);
    // SMTP: 451 at RCPT (the sending MTA queues the message and retries), not 550.
    const smtp = await connectSmtp(ports.smtp);
    expect((await smtp.command("EHLO erp.brand.test")).code).toBe(250);
    expect((await smtp.command("MAIL FROM:<erp@brand.test>")).code).toBe(250);
    const rcpt = await smtp.command(`RCPT TO:<${address}>`);
    smtp.close();
    expect(rcpt.code).toBe(451);

    relay.restore();
    let health = 0;
    for (let i = 0; i < 100 && health !== 200; i++) {
      health = (await fetch(`${ferry.url}/healthz`)).status;
      if (health !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(health).toBe(200);
    // The failures were no failed logins: nobody was banned for them.
    expect(await ssh2Login({ port: ports.sftp, ...account.login, from: "127.0.0.1" })).toBe("ok");
    expect(await ftpLogin()).toBe("ok");
    const again = await fetch(`${ferry.url}/api/v1/credentials`, {
      headers: { authorization: `Bearer ${account.token}` },
    });
    expect(again.status).toBe(200);
  });
});
