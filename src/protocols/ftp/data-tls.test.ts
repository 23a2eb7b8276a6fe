/**
 * The FTPS data connection's TLS over the RecordTap, with a network whose writes take a while to finish (as
 * under load), when the tap holds incoming bytes back while a write is pending: the handshake and the
 * upload still complete, whole, and the end is still told apart. (The crash the holding prevents — Node's
 * stream assertion, nodejs/node#35384 — showed under rclone's 16 parallel FTPS uploads in the interop matrix;
 * no small program here reproduced it on demand.)
 */
import { createHash, randomBytes } from "node:crypto";
import net from "node:net";
import { Duplex } from "node:stream";
import tls from "node:tls";
import selfsigned from "selfsigned";
import { afterEach, describe, expect, it } from "vitest";
import { secureDataSocket, uploadEnd } from "./data-tls.js";

/** A TCP socket whose writes report completion `delayMs` late (the bytes themselves go at once). */
class SlowWrites extends Duplex {
  constructor(
    private socket: net.Socket,
    private delayMs: number,
  ) {
    super({ allowHalfOpen: true });
    socket.on("data", (d: Buffer) => {
      if (!this.push(d)) socket.pause();
    });
    socket.on("end", () => this.push(null));
    socket.on("error", (err) => this.destroy(err));
    socket.on("close", () => this.destroy());
  }
  override _read(): void {
    this.socket.resume();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.socket.write(chunk);
    setTimeout(done, this.delayMs);
  }
  override _final(done: () => void): void {
    this.socket.end();
    done();
  }
  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.socket.destroy();
    done(err);
  }
}

const servers: net.Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

describe("RecordTap under slow network writes", () => {
  it("completes the handshake and an upload whole, and tells its orderly end", async () => {
    const pems = await selfsigned.generate([{ name: "commonName", value: "localhost" }], { keyType: "ec" });
    const crashes: Error[] = [];
    const onCrash = (err: Error) => crashes.push(err);
    process.on("uncaughtException", onCrash);
    try {
      const data = randomBytes(4 * 1024 * 1024);
      const received = new Promise<{ bytes: Buffer; end: string }>((resolve, reject) => {
        const server = net.createServer((socket) => {
          const secure = secureDataSocket(new SlowWrites(socket, 15) as unknown as net.Socket, {
            key: pems.private,
            cert: pems.cert,
          });
          const parts: Buffer[] = [];
          secure.on("data", (d: Buffer) => parts.push(d));
          secure.on("error", reject);
          secure.on("end", () => {
            resolve({ bytes: Buffer.concat(parts), end: uploadEnd(secure) });
            secure.end();
          });
        });
        servers.push(server);
        server.listen(0, "127.0.0.1", () => {
          const port = (server.address() as net.AddressInfo).port;
          const client = tls.connect({ port, host: "127.0.0.1", rejectUnauthorized: false }, () => {
            client.end(data);
          });
          client.on("error", () => {});
        });
      });
      const { bytes, end } = await received;
      expect(crashes).toEqual([]);
      expect(createHash("sha256").update(bytes).digest("hex")).toBe(
        createHash("sha256").update(data).digest("hex"),
      );
      expect(end).toBe("complete");
    } finally {
      process.off("uncaughtException", onCrash);
    }
  });
});
