/**
 * A raw SMTP client over one TCP connection, for tests that need what ordinary clients hide: several
 * messages on one connection (as an MTA that caches its connection does), RSET, many RCPTs, a message cut
 * at a chosen point.
 */
import net from "node:net";

export interface SmtpReply {
  code: number;
  text: string;
}

export interface RawSmtp {
  /** Sends one command line and resolves with the reply (all lines of a multi-line reply joined). */
  command(line: string): Promise<SmtpReply>;
  /** DATA, then the message (dot-stuffed here), then the final reply. */
  data(message: string | Buffer): Promise<SmtpReply>;
  /** The greeting the server sent on connect. */
  greeting: SmtpReply;
  socket: net.Socket;
  close(): void;
}

export async function connectSmtp(port: number, host = "127.0.0.1"): Promise<RawSmtp> {
  const socket = net.connect(port, host);
  let buffered = "";
  const waiting: ((r: SmtpReply) => void)[] = [];
  const replies: SmtpReply[] = [];
  let lines: string[] = [];
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => {
    buffered += chunk;
    for (let nl = buffered.indexOf("\r\n"); nl >= 0; nl = buffered.indexOf("\r\n")) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 2);
      lines.push(line.slice(4));
      // RFC 5321 §4.2.1: "250-" continues a reply, "250 " ends it.
      if (line[3] !== "-") {
        const reply = { code: Number(line.slice(0, 3)), text: lines.join("\n") };
        lines = [];
        const next = waiting.shift();
        if (next) next(reply);
        else replies.push(reply);
      }
    }
  });
  const closed = new Promise<SmtpReply>((resolve) =>
    socket.once("close", () => resolve({ code: 0, text: "connection closed" })),
  );
  socket.on("error", () => {});
  const nextReply = () =>
    Promise.race([
      replies.length ? Promise.resolve(replies.shift()!) : new Promise<SmtpReply>((r) => waiting.push(r)),
      closed,
    ]);
  const greeting = await nextReply();
  const command = (line: string) => {
    socket.write(`${line}\r\n`);
    return nextReply();
  };
  return {
    greeting,
    socket,
    command,
    async data(message) {
      const go = await command("DATA");
      if (go.code !== 354) return go;
      const text = Buffer.isBuffer(message) ? message.toString("latin1") : message;
      const stuffed = text.replace(/\r?\n/g, "\r\n").replace(/^\./gm, "..");
      socket.write(Buffer.from(stuffed.endsWith("\r\n") ? stuffed : `${stuffed}\r\n`, "latin1"));
      socket.write(".\r\n");
      return nextReply();
    },
    close: () => socket.destroy(),
  };
}

/** A MIME message with one text/csv attachment. */
export function mailWithAttachment(from: string, to: string, fileName: string, content: string): string {
  const boundary = "ferry-test-boundary";
  return [
    `From: ${from}`,
    `To: ${to}`,
    "Subject: feed",
    "MIME-Version: 1.0",
    `Content-Type: multipart/mixed; boundary="${boundary}"`,
    "",
    `--${boundary}`,
    "Content-Type: text/plain",
    "",
    "see attached",
    `--${boundary}`,
    `Content-Type: text/csv; name="${fileName}"`,
    `Content-Disposition: attachment; filename="${fileName}"`,
    "Content-Transfer-Encoding: base64",
    "",
    Buffer.from(content).toString("base64").replace(/.{76}/g, "$&\n"),
    `--${boundary}--`,
    "",
  ].join("\n");
}
