/**
 * Connections that never log in: silent TCP connections, a banner and nothing more, too many at once from
 * one address or from everywhere, and FTP logins abandoned half-way. Each must cost its server nothing
 * lasting, and leave room for everyone else.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../helpers/db.js";
import { clicksLogin, type RunningFerry, startServe } from "../helpers/ferry.js";
import { freePort } from "../helpers/ports.js";
import { connectRawFtp } from "../helpers/raw-ftp.js";
import { ssh2Login } from "../helpers/ssh2-login.js";

const ADMIN = `preauth_admin_${randomBytes(8).toString("hex")}`;
const GRACE_S = 2;
let dir: string;
let database: { url: string; drop: () => Promise<void> };
let ferry: RunningFerry;
let ports: { sftp: number; ftp: number; smtp: number };
let login: { username: string; password: string };
const sockets: net.Socket[] = [];

type Silent = net.Socket & { greeted: Promise<unknown> };

/** A TCP connection from `from` that sends nothing; resolves once connected. */
async function silent(port: number, from = "127.0.0.1"): Promise<Silent> {
  const socket = net.connect({ port, host: "127.0.0.1", localAddress: from }) as Silent;
  sockets.push(socket);
  socket.on("error", () => {});
  socket.greeted = new Promise((resolve) => socket.once("data", resolve));
  socket.on("data", () => {});
  await new Promise((resolve) => socket.once("connect", resolve));
  return socket;
}

const closedWithin = (socket: net.Socket, ms: number) =>
  new Promise<boolean>((resolve) => {
    if (socket.destroyed) return resolve(true);
    const timer = setTimeout(() => resolve(false), ms);
    socket.once("close", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });

/** Logs in over SFTP with ssh2's client from `from`; resolves "ok" or the error's message. */
const sftpLogin = (from: string) => ssh2Login({ port: ports.sftp, ...login, from });

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "ferry-preauth-"));
  database = await createTestDatabase();
  ports = { sftp: await freePort(), ftp: await freePort(), smtp: await freePort() };
  ferry = await startServe({
    DATABASE_URL: database.url,
    FERRY_DATA_DIR: path.join(dir, "data"),
    FERRY_SFTP_PORT: String(ports.sftp),
    FERRY_FTP_PORT: String(ports.ftp),
    FERRY_SMTP_PORT: String(ports.smtp),
    FERRY_ADMIN_TOKEN: ADMIN,
    FERRY_WORKERS: "0",
    FERRY_LOGIN_GRACE_SECONDS: String(GRACE_S),
    FERRY_PREAUTH_PER_IP: "4",
    FERRY_PREAUTH_TOTAL: "6",
    FERRY_FTP_REQUIRE_TLS: "false",
    FERRY_LOG_LEVEL: "error",
  });
  login = (await clicksLogin(ferry.url, ADMIN, ["sftp", "ftp"])).login;
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await ferry?.stop();
  await database?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe("login grace period", () => {
  it("closes an SFTP connection that never sends its SSH banner", async () => {
    const socket = await silent(ports.sftp);
    expect(await closedWithin(socket, (GRACE_S + 3) * 1000)).toBe(true);
  });

  it("closes an SFTP connection that sends its banner and never logs in", async () => {
    const socket = await silent(ports.sftp);
    socket.write("SSH-2.0-Hostile_1.0\r\n");
    expect(await closedWithin(socket, (GRACE_S + 3) * 1000)).toBe(true);
  });

  it("closes an FTP connection that never logs in, saying why", async () => {
    const socket = await silent(ports.ftp);
    let text = "";
    socket.on("data", (d) => {
      text += d;
    });
    expect(await closedWithin(socket, (GRACE_S + 3) * 1000)).toBe(true);
    expect(text).toMatch(/^421 Login time is over/m);
  });
});

describe("connections not logged in yet", () => {
  it("takes at most 4 from one address, while other addresses still log in", async () => {
    const held = await Promise.all(Array.from({ length: 4 }, () => silent(ports.sftp, "127.0.0.1")));
    const fifth = await silent(ports.sftp, "127.0.0.1");
    expect(await closedWithin(fifth, 1000)).toBe(true);
    expect(await sftpLogin("127.0.0.2")).toBe("ok");
    for (const s of held) s.destroy();
  });

  it("takes at most 6 in all", async () => {
    await new Promise((r) => setTimeout(r, 200));
    const held = [
      ...(await Promise.all(Array.from({ length: 3 }, () => silent(ports.sftp, "127.0.0.3")))),
      ...(await Promise.all(Array.from({ length: 3 }, () => silent(ports.sftp, "127.0.0.4")))),
    ];
    const seventh = await silent(ports.sftp, "127.0.0.5");
    expect(await closedWithin(seventh, 1000)).toBe(true);
    for (const s of held) s.destroy();
    await new Promise((r) => setTimeout(r, 200));
    expect(await sftpLogin("127.0.0.5")).toBe("ok");
  });

  it("answers SMTP's 5th connection from one address with 421", async () => {
    const held = await Promise.all(Array.from({ length: 4 }, () => silent(ports.smtp, "127.0.0.6")));
    // Each holds its place once greeted (the place is taken before the greeting).
    await Promise.all(held.map((s) => s.greeted));
    const fifth = await silent(ports.smtp, "127.0.0.6");
    let text = "";
    fifth.on("data", (d) => {
      text += d;
    });
    expect(await closedWithin(fifth, 2000)).toBe(true);
    expect(text).toMatch(/^421 .*too many connections from your address/m);
    for (const s of held) s.destroy();
  });
});

describe("FTP logins abandoned half-way", () => {
  it("give their session slot back: 15 clients that hang up after PASS, then a login works", async () => {
    for (let i = 0; i < 15; i++) {
      const socket = await silent(ports.ftp);
      socket.write(`USER ${login.username}\r\nPASS ${login.password}\r\n`);
      await new Promise((r) => setTimeout(r, 20));
      socket.destroy();
    }
    await new Promise((r) => setTimeout(r, 1500));
    const ftp = await connectRawFtp(ports.ftp, login.username, login.password);
    expect(await ftp.command("PWD")).toMatch(/^257/);
    ftp.control.destroy();
  });
});
