/**
 * Ferry's own FTP server against clients that misbehave or probe: endless command lines, floods of
 * commands, silence after login, a stranger racing to a passive port, active mode aimed at another host (the
 * FTP bounce of RFC 2577) — and the commands of RFC 959/3659 the real clients of the interop tests do not all
 * send (FEAT, STOU, SIZE, MDTM, REST, RNFR/RNTO order, quoting in 257 replies).
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
import { connectRawFtp, type RawFtp } from "../helpers/raw-ftp.js";

const ADMIN = `ftp_security_admin_${randomBytes(8).toString("hex")}`;
const IDLE_S = 3;
let dir: string;
let database: { url: string; drop: () => Promise<void> };
let ferry: RunningFerry;
let port: number;
let login: { username: string; password: string };
let inbox: string;

/** Everything the server sent on a socket, as text. */
function transcript(socket: net.Socket): () => string {
  let text = "";
  socket.on("data", (d: Buffer) => {
    text += d.toString();
  });
  return () => text;
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  for (const start = Date.now(); !check(); ) {
    if (Date.now() - start > ms) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 25));
  }
}

const closed = (socket: net.Socket) =>
  new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once("close", () => resolve())));

async function session(): Promise<RawFtp> {
  return connectRawFtp(port, login.username, login.password);
}

/** Sends a data connection's bytes through a passive port and returns the STOR's final reply. */
async function upload(ftp: RawFtp, name: string, body: string): Promise<string> {
  const data = await ftp.openData();
  const started = await ftp.command(`STOR ${inbox}/${name}`);
  if (!started.startsWith("150")) return started;
  data.end(body);
  return ftp.reply();
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "ferry-ftp-security-"));
  database = await createTestDatabase();
  port = await freePort();
  ferry = await startServe({
    DATABASE_URL: database.url,
    FERRY_DATA_DIR: path.join(dir, "data"),
    FERRY_FTP_PORT: String(port),
    FERRY_FTP_REQUIRE_TLS: "false",
    FERRY_FTP_ACTIVE_MODE: "true",
    FERRY_IDLE_TIMEOUT_SECONDS: String(IDLE_S),
    FERRY_ADMIN_TOKEN: ADMIN,
    FERRY_WORKERS: "0",
    FERRY_LOG_LEVEL: "warn",
  });
  const account = await clicksLogin(ferry.url, ADMIN, ["ftp"]);
  login = account.login;
  inbox = `/${account.connections.ftp.folder}/inbox`;
});

afterAll(async () => {
  await ferry?.stop();
  await database?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe("FTP clients that would hold the server", () => {
  it("closes a connection whose command line never ends, saying why", async () => {
    const socket = net.connect(port, "127.0.0.1");
    const text = transcript(socket);
    await until(() => /^220 /m.test(text()));
    socket.write(`USER ${"x".repeat(10_000)}`);
    await closed(socket);
    expect(text()).toMatch(/^500 Command line too long \(at most 4096 bytes\)/m);
  });

  it("answers a flood of commands in order, reading no faster than it answers", async () => {
    const socket = net.connect(port, "127.0.0.1");
    const text = transcript(socket);
    await until(() => /^220 /m.test(text()));
    socket.write("NOOP\r\n".repeat(5000));
    await until(() => (text().match(/^200 /gm) ?? []).length === 5000, 20_000);
    socket.write("QUIT\r\n");
    await closed(socket);
    expect(text()).toMatch(/^221 Goodbye/m);
  });

  it("answers commands before login with 530, unknown ones with 502", async () => {
    const socket = net.connect(port, "127.0.0.1");
    const text = transcript(socket);
    await until(() => /^220 /m.test(text()));
    socket.write("PWD\r\nRETR /etc/passwd\r\nXYZZY now\r\nSYST\r\n");
    await until(() => /^215 /m.test(text()));
    socket.destroy();
    expect(text()).toMatch(/^530 Please log in with USER and PASS first\r\n530 Please log in/m);
    expect(text()).toMatch(/^502 Command not implemented: XYZZY/m);
  });

  it("closes a logged-in connection silent for the idle timeout with 421", async () => {
    const ftp = await session();
    const text = transcript(ftp.control);
    const started = Date.now();
    await closed(ftp.control);
    expect(Date.now() - started).toBeGreaterThanOrEqual(IDLE_S * 1000 - 200);
    expect(text()).toMatch(/^421 No command for 3 s; closing the connection/m);
  });

  it("drops a data connection from another address; the client's own then carries the file", async () => {
    const ftp = await session();
    const pasv = await ftp.command("PASV");
    const [, p1, p2] = /,(\d+),(\d+)\)/.exec(pasv)!;
    const dataPort = Number(p1) * 256 + Number(p2);
    const stranger = net.connect({ port: dataPort, host: "127.0.0.1", localAddress: "127.0.0.2" });
    stranger.on("error", () => {});
    await closed(stranger);
    const own = net.connect(dataPort, "127.0.0.1");
    await new Promise((r) => own.once("connect", r));
    expect(await ftp.command(`STOR ${inbox}/raced.csv`)).toMatch(/^150/);
    own.end("ClickId\nraced\n");
    expect(await ftp.reply()).toMatch(/^226 /);
    expect(await ftp.command(`SIZE ${inbox}/raced.csv`)).toBe("213 14");
    ftp.control.destroy();
  });
});

describe("active mode, when an operator turns it on", () => {
  it("connects to the client's own address, and to no other host (no FTP bounce)", async () => {
    const ftp = await session();
    expect(await ftp.command("PORT 10,0,0,1,0,25")).toMatch(
      /^504 PORT: data connections go to your own address only/,
    );
    expect(await ftp.command("EPRT |1|192.0.2.1|25|")).toMatch(/^504 EPRT/);
    expect(await ftp.command("PORT 1,2,3")).toMatch(/^501/);

    const received = new Promise<string>((resolve) => {
      const server = net.createServer((socket) => {
        socket.end("ClickId\nactive\n");
        server.close();
        resolve("connected");
      });
      server.listen(0, "127.0.0.1", async () => {
        const { port: p } = server.address() as net.AddressInfo;
        expect(await ftp.command(`EPRT |1|127.0.0.1|${p}|`)).toBe("200 EPRT command successful");
        expect(await ftp.command(`STOR ${inbox}/active.csv`)).toMatch(/^150/);
      });
    });
    expect(await received).toBe("connected");
    expect(await ftp.reply()).toMatch(/^226 /);
    expect(await ftp.command(`SIZE ${inbox}/active.csv`)).toBe("213 15");
    ftp.control.destroy();
  });
});

describe("RFC 959/3659 details", () => {
  it("lists its features, quotes paths, names STOU's file, reads sizes and times, resumes downloads", async () => {
    const ftp = await session();
    const text = transcript(ftp.control);
    expect(await ftp.command("FEAT")).toBe("211 End");
    for (const feature of ["AUTH TLS", "PBSZ", "PROT", "EPSV", "SIZE", "MDTM", "REST STREAM", "UTF8"]) {
      expect(text()).toContain(`\r\n ${feature}\r\n`);
    }
    expect(text()).toContain("\r\n MLST type*;size*;modify*;\r\n");
    expect(await ftp.command(`CWD ${inbox}`)).toBe(`250 Folder is now ${inbox}`);
    expect(await ftp.command("PWD")).toBe(`257 "${inbox}" is the current folder`);
    expect(await ftp.command('MKD a"b')).toMatch(/^550 /);

    expect(await upload(ftp, "rest.csv", "ClickId\n0123456789\n")).toMatch(/^226 /);
    expect(await ftp.command("SIZE rest.csv")).toBe("213 19");
    expect(await ftp.command("MDTM rest.csv")).toMatch(/^213 \d{14}$/);
    expect(await ftp.command("MFMT 20250102030405 rest.csv")).toBe("213 Modify=20250102030405; rest.csv");
    expect(await ftp.command("MDTM rest.csv")).toBe("213 20250102030405");
    expect(await ftp.command("SIZE .")).toMatch(/^550 Not a file/);

    const data = await ftp.openData();
    let tail = "";
    data.on("data", (d: Buffer) => {
      tail += d;
    });
    expect(await ftp.command("REST 8")).toBe("350 Restarting at 8; send RETR");
    expect(await ftp.command("RETR rest.csv")).toMatch(/^150/);
    expect(await ftp.reply()).toMatch(/^226 /);
    await closed(data);
    expect(tail).toBe("0123456789\n");

    const unique = await ftp.openData();
    const stou = await ftp.command("STOU clicks.csv");
    expect(stou).toMatch(new RegExp(`^150 FILE: ${inbox}/[0-9a-f]{8}-clicks\\.csv$`));
    unique.end("ClickId\nu\n");
    expect(await ftp.reply()).toMatch(/^226 /);

    expect(await ftp.command("RNTO nowhere.csv")).toBe("503 Send RNFR first");
    expect(await ftp.command("RNFR rest.csv")).toBe("350 Ready for RNTO");
    expect(await ftp.command("NOOP")).toBe("200 OK");
    expect(await ftp.command("RNTO renamed.csv")).toBe("503 Send RNFR first");
    expect(await ftp.command("TYPE E")).toMatch(/^504/);
    expect(await ftp.command("MODE B")).toMatch(/^504/);
    expect(await ftp.command("PROT P")).toMatch(/^503 PROT comes after AUTH TLS/);
    expect(await ftp.command("RETR missing.csv")).toMatch(/^425|^550/);
    ftp.control.destroy();
  });
});
