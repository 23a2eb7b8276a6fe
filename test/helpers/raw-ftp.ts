/** A minimal plain-FTP client speaking the protocol by hand, for cases real clients will not produce on demand. */
import net from "node:net";

export interface RawFtp {
  /** Sends a command and waits for its next reply line (e.g. "230 User logged in"). */
  command(line: string): Promise<string>;
  /** Sends a command without waiting. */
  send(line: string): void;
  /** Waits for the next reply line. */
  reply(): Promise<string>;
  /** Opens the passive data connection (PASV). */
  openData(): Promise<net.Socket>;
  control: net.Socket;
}

export async function connectRawFtp(port: number, username: string, password: string): Promise<RawFtp> {
  const control = net.connect(port, "127.0.0.1");
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
  control.on("data", (d) => {
    buffer += d.toString();
    drain();
  });
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
  for (const c of [`USER ${username}`, `PASS ${password}`, "TYPE I"]) await command(c);
  return {
    command,
    send,
    reply,
    control,
    openData: async () => {
      const r = await command("PASV");
      const n = /\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)/.exec(r);
      if (!n) throw new Error(`PASV failed: ${r}`);
      const socket = net.connect(Number(n[5]) * 256 + Number(n[6]), "127.0.0.1");
      await new Promise((resolve, reject) => socket.once("connect", resolve).once("error", reject));
      return socket;
    },
  };
}
