/**
 * A minimal FTP client speaking the protocol by hand, for cases real clients will not produce on demand
 * (a data connection reset mid-file, a TCP end without the TLS close). Plain FTP, or explicit FTPS.
 */
import net from "node:net";
import tls from "node:tls";

export interface RawFtp {
  /** Sends a command and waits for its next reply line (e.g. "230 User logged in"). */
  command(line: string): Promise<string>;
  /** Sends a command without waiting. */
  send(line: string): void;
  /** Waits for the next reply line. */
  reply(): Promise<string>;
  /** Opens the passive data connection (PASV); over FTPS, `secure` is its TLS socket over `raw`. */
  openData(): Promise<net.Socket>;
  openSecureData(): Promise<{ secure: tls.TLSSocket; raw: net.Socket }>;
  control: net.Socket;
}

export interface RawFtpOptions {
  /** Explicit FTPS (AUTH TLS, PROT P), with this highest TLS version on the control connection. */
  tls?: { maxVersion: tls.SecureVersion };
}

export async function connectRawFtp(
  port: number,
  username: string,
  password: string,
  options: RawFtpOptions = {},
): Promise<RawFtp> {
  let control: net.Socket = net.connect(port, "127.0.0.1");
  let buffer = "";
  const waiters: ((line: string) => void)[] = [];
  const drain = () => {
    for (;;) {
      const match = /^\d{3} [^\r\n]*\r?\n/m.exec(buffer);
      if (!match || waiters.length === 0) return;
      buffer = buffer.slice((match.index ?? 0) + match[0].length);
      waiters.shift()!(match[0].trim());
    }
  };
  const onData = (d: Buffer) => {
    buffer += d.toString();
    drain();
  };
  control.on("data", onData);
  const reply = () =>
    new Promise<string>((resolve) => {
      waiters.push(resolve);
      drain();
    });
  const send = (line: string) => void control.write(`${line}\r\n`);
  const command = (line: string) => {
    send(line);
    return reply();
  };
  await reply(); // 220 greeting
  if (options.tls) {
    const r = await command("AUTH TLS");
    if (!r.startsWith("234")) throw new Error(`AUTH TLS failed: ${r}`);
    control.off("data", onData);
    const secure = tls.connect({ socket: control, rejectUnauthorized: false, ...options.tls });
    await new Promise((resolve, reject) => secure.once("secureConnect", resolve).once("error", reject));
    secure.on("data", onData);
    control = secure;
  }
  const setup = options.tls ? ["PBSZ 0", "PROT P"] : [];
  for (const c of [`USER ${username}`, `PASS ${password}`, ...setup, "TYPE I"]) await command(c);
  const openData = async () => {
    const r = await command("PASV");
    const n = /\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)/.exec(r);
    if (!n) throw new Error(`PASV failed: ${r}`);
    const socket = net.connect(Number(n[5]) * 256 + Number(n[6]), "127.0.0.1");
    await new Promise((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    return socket;
  };
  return {
    command,
    send,
    reply,
    control,
    openData,
    openSecureData: async () => {
      const raw = await openData();
      const secure = tls.connect({ socket: raw, rejectUnauthorized: false });
      secure.on("error", () => {});
      await new Promise((resolve, reject) => secure.once("secureConnect", resolve).once("error", reject));
      return { secure, raw };
    },
  };
}
