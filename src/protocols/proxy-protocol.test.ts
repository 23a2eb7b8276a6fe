/**
 * PROXY protocol headers (versions 1 and 2) as HAProxy writes them, read from real sockets: split across
 * packets, followed at once by the client's bytes, malformed, missing, or from a peer that is not trusted.
 */
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ProxySources, parseProxyHeader, takeProxyHeader } from "./proxy-protocol.js";

function v2(family: number, body: Buffer, command = 1): Buffer {
  const head = Buffer.from([
    0x0d,
    0x0a,
    0x0d,
    0x0a,
    0x00,
    0x0d,
    0x0a,
    0x51,
    0x55,
    0x49,
    0x54,
    0x0a,
    0x20 | command,
  ]);
  const len = Buffer.alloc(3);
  len[0] = family;
  len.writeUInt16BE(body.length, 1);
  return Buffer.concat([head, len, body]);
}

describe("parseProxyHeader", () => {
  it("reads version 1 lines for IPv4, IPv6 and UNKNOWN", () => {
    expect(parseProxyHeader(Buffer.from("PROXY TCP4 203.0.113.7 10.0.0.1 51000 22\r\nSSH-2.0"))).toEqual({
      client: { ip: "203.0.113.7", port: 51000 },
      length: 42,
    });
    expect(parseProxyHeader(Buffer.from("PROXY TCP6 2001:db8::1 2001:db8::2 4000 21\r\n"))).toMatchObject({
      client: { ip: "2001:db8::1", port: 4000 },
    });
    expect(parseProxyHeader(Buffer.from("PROXY UNKNOWN\r\n"))).toEqual({ client: null, length: 15 });
  });

  it("reads version 2 headers for IPv4, IPv6 and LOCAL", () => {
    const ipv4 = Buffer.from([198, 51, 100, 9, 10, 0, 0, 1, 0xc3, 0x50, 0, 22]);
    expect(parseProxyHeader(Buffer.concat([v2(0x11, ipv4), Buffer.from("x")]))).toEqual({
      client: { ip: "198.51.100.9", port: 50000 },
      length: 28,
    });
    const ipv6 = Buffer.alloc(36);
    ipv6.writeUInt16BE(0x2001, 0);
    ipv6.writeUInt16BE(0x0db8, 2);
    ipv6.writeUInt16BE(0x0005, 14);
    ipv6.writeUInt16BE(1234, 32);
    expect(parseProxyHeader(v2(0x21, ipv6))).toEqual({
      client: { ip: "2001:db8::5", port: 1234 },
      length: 52,
    });
    expect(parseProxyHeader(v2(0x00, Buffer.alloc(0), 0))).toEqual({ client: null, length: 16 });
  });

  it("waits for the rest of a header that is only begun", () => {
    expect(parseProxyHeader(Buffer.from("PRO"))).toBe("incomplete");
    expect(parseProxyHeader(Buffer.from("PROXY TCP4 1.2.3.4"))).toBe("incomplete");
    expect(parseProxyHeader(v2(0x11, Buffer.alloc(12)).subarray(0, 20))).toBe("incomplete");
  });

  it("refuses what is not a valid header", () => {
    expect(parseProxyHeader(Buffer.from("SSH-2.0-OpenSSH_9.2\r\n"))).toEqual({
      error: "the connection did not start with a PROXY protocol header",
    });
    expect(parseProxyHeader(Buffer.from("PROXY TCP4 1.2.3.999 1.2.3.4 1 2\r\n"))).toHaveProperty("error");
    expect(parseProxyHeader(Buffer.from("PROXY TCP4 1.2.3.4 1.2.3.4 70000 2\r\n"))).toHaveProperty("error");
    expect(parseProxyHeader(Buffer.from("PROXY TCP6 1.2.3.4 1.2.3.4 1 2\r\n"))).toHaveProperty("error");
    expect(parseProxyHeader(Buffer.from(`PROXY TCP4 ${"1".repeat(120)}`))).toEqual({
      error: "PROXY header line too long",
    });
    const tooLong = v2(0x11, Buffer.alloc(2000));
    expect(parseProxyHeader(tooLong)).toEqual({ error: "PROXY (version 2) header too long" });
  });
});

describe("takeProxyHeader on real sockets", () => {
  const servers: net.Server[] = [];
  afterEach(() => {
    for (const s of servers) s.close();
    servers.length = 0;
  });

  /** A server trusting `trusted`; resolves with what it saw of the first connection. */
  async function serve(trusted: string[]) {
    let seen!: (v: { err: string | null; ip?: string; port?: number; bytes: string }) => void;
    const result = new Promise<Parameters<typeof seen>[0]>((r) => {
      seen = r;
    });
    const server = net.createServer({ pauseOnConnect: true }, (socket) =>
      takeProxyHeader(socket, new ProxySources(trusted), (err) => {
        if (err) return seen({ err: err.message, bytes: "" });
        let bytes = "";
        socket.on("data", (d) => {
          bytes += d;
          if (bytes.endsWith("\n")) {
            seen({ err: null, ip: socket.remoteAddress, port: socket.remotePort, bytes });
            socket.end();
          }
        });
        socket.resume();
      }),
    );
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return { port: (server.address() as net.AddressInfo).port, result };
  }

  async function send(port: number, chunks: (string | Buffer)[]) {
    const client = net.connect(port, "127.0.0.1");
    client.on("error", () => {});
    await new Promise((r) => client.once("connect", r));
    for (const c of chunks) {
      client.write(c);
      await new Promise((r) => setTimeout(r, 20));
    }
    return client;
  }

  it("takes the client's address from a header split across packets, and keeps the bytes after it", async () => {
    const { port, result } = await serve(["127.0.0.1"]);
    await send(port, ["PROXY TCP4 203.0.", "113.7 127.0.0.1 4444 22\r\nSSH-2.0-x", "\n"]);
    expect(await result).toEqual({ err: null, ip: "203.0.113.7", port: 4444, bytes: "SSH-2.0-x\n" });
  });

  it("takes a header and the first bytes in one packet (version 2)", async () => {
    const { port, result } = await serve(["127.0.0.1"]);
    const header = v2(0x11, Buffer.from([192, 0, 2, 44, 127, 0, 0, 1, 0x1f, 0x90, 0, 21]));
    await send(port, [Buffer.concat([header, Buffer.from("USER x\r\n")])]);
    expect(await result).toEqual({ err: null, ip: "192.0.2.44", port: 8080, bytes: "USER x\r\n" });
  });

  it("closes a trusted peer's connection that does not start with a header", async () => {
    const { port, result } = await serve(["127.0.0.1"]);
    const client = await send(port, ["SSH-2.0-OpenSSH_9.2\r\n"]);
    const closed = new Promise((r) => (client.destroyed ? r(null) : client.once("close", r)));
    expect((await result).err).toBe("the connection did not start with a PROXY protocol header");
    await closed;
  });

  it("reads no header from a peer that is not trusted: its own address stays", async () => {
    const { port, result } = await serve(["192.0.2.1"]);
    await send(port, ["PROXY TCP4 203.0.113.7 127.0.0.1 4444 22\r\n"]);
    // The claimed address is ignored: the line is the client's data.
    expect(await result).toMatchObject({
      err: null,
      ip: "127.0.0.1",
      bytes: "PROXY TCP4 203.0.113.7 127.0.0.1 4444 22\r\n",
    });
  });
});
