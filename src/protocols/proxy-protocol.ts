/**
 * The PROXY protocol (HAProxy's, versions 1 and 2). Behind a TCP load balancer every connection comes from
 * the balancer's address; Ferry's per-address limits (connections before login, login bans) would then treat
 * all clients as one, and one client's failed logins would ban everybody. A balancer listed in
 * FERRY_TRUSTED_PROXIES opens each connection with a header naming the client; Ferry reads it before
 * anything else and uses that address everywhere. Connections from other addresses are taken as they are
 * (no header expected), so direct clients keep working beside the balancer.
 *
 * Only trusted peers' headers are read: anybody else could claim any address. A trusted peer's connection
 * must start with a valid header within HEADER_TIMEOUT_MS, else it is closed.
 */
import net from "node:net";
import { plainIp } from "./admission.js";

/** The client a PROXY header names, or null for a LOCAL/UNKNOWN header (the balancer's own health check). */
export type ProxiedClient = { ip: string; port: number } | null;

const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_PREFIX = Buffer.from("PROXY ");
/** Version 1's longest line, CRLF included (the specification's 107 bytes). */
const V1_MAX = 107;
/** Version 2's header with addresses and a few TLVs; HAProxy sends 28 (IPv4) or 52 (IPv6) without TLVs. */
const V2_MAX = 16 + 512;
export const HEADER_TIMEOUT_MS = 10_000;

type Parsed = { client: ProxiedClient; length: number } | "incomplete" | { error: string };

/** Reads a PROXY header (either version) at the start of `buf`. */
export function parseProxyHeader(buf: Buffer): Parsed {
  const v2Prefix = buf.subarray(0, V2_SIGNATURE.length);
  if (V2_SIGNATURE.subarray(0, v2Prefix.length).equals(v2Prefix)) return parseV2(buf);
  const v1Prefix = buf.subarray(0, V1_PREFIX.length);
  if (V1_PREFIX.subarray(0, v1Prefix.length).equals(v1Prefix)) return parseV1(buf);
  return { error: "the connection did not start with a PROXY protocol header" };
}

function parseV1(buf: Buffer): Parsed {
  const end = buf.indexOf("\r\n");
  if (end < 0) return buf.length >= V1_MAX ? { error: "PROXY header line too long" } : "incomplete";
  if (end + 2 > V1_MAX) return { error: "PROXY header line too long" };
  const fields = buf.toString("latin1", 0, end).split(" ");
  if (fields[1] === "UNKNOWN") return { client: null, length: end + 2 };
  const [, family, source, dest, sourcePort, destPort] = fields;
  const want = family === "TCP4" ? 4 : family === "TCP6" ? 6 : 0;
  const port = (p: string | undefined) => (p && /^\d{1,5}$/.test(p) && Number(p) <= 65535 ? Number(p) : -1);
  if (
    fields.length !== 6 ||
    want === 0 ||
    net.isIP(source ?? "") !== want ||
    net.isIP(dest ?? "") !== want ||
    port(sourcePort) < 0 ||
    port(destPort) < 0
  )
    return { error: "malformed PROXY (version 1) header" };
  return { client: { ip: source!, port: port(sourcePort) }, length: end + 2 };
}

function parseV2(buf: Buffer): Parsed {
  if (buf.length < 16) return "incomplete";
  const versionCommand = buf[12]!;
  const family = buf[13]!;
  const length = 16 + buf.readUInt16BE(14);
  if (versionCommand >> 4 !== 2) return { error: "unsupported PROXY protocol version" };
  if (length > V2_MAX) return { error: "PROXY (version 2) header too long" };
  if (buf.length < length) return "incomplete";
  const command = versionCommand & 0x0f;
  if (command === 0) return { client: null, length }; // LOCAL: the balancer's own connection
  if (command !== 1) return { error: "unknown PROXY (version 2) command" };
  const body = buf.subarray(16, length);
  if (family === 0x11 && body.length >= 12) {
    return { client: { ip: [...body.subarray(0, 4)].join("."), port: body.readUInt16BE(8) }, length };
  }
  if (family === 0x21 && body.length >= 36) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(body.readUInt16BE(i).toString(16));
    // net.SocketAddress gives the canonical form ("::1", not "0:0:0:0:0:0:0:1").
    const ip = new net.SocketAddress({ address: groups.join(":"), family: "ipv6" }).address;
    return { client: { ip: plainIp(ip), port: body.readUInt16BE(32) }, length };
  }
  if (family === 0x00) return { client: null, length }; // UNSPEC: addresses unknown
  return { error: "unsupported PROXY (version 2) address family (only TCP over IPv4 or IPv6)" };
}

/** The addresses whose connections start with a PROXY header (FERRY_TRUSTED_PROXIES). */
export class ProxySources {
  private readonly addresses: Set<string>;

  constructor(list: readonly string[]) {
    this.addresses = new Set(list.map((a) => plainIp(a.trim())).filter(Boolean));
  }

  get enabled(): boolean {
    return this.addresses.size > 0;
  }

  trusts(peer: string | undefined): boolean {
    return this.addresses.has(plainIp(peer));
  }
}

/**
 * Makes `socket` report the client a PROXY header named as its peer (remoteAddress, remotePort), so every
 * library and log that asks the socket sees the client, not the balancer.
 */
function presentClient(socket: net.Socket, client: NonNullable<ProxiedClient>): void {
  Object.defineProperty(socket, "remoteAddress", { value: client.ip, configurable: true });
  Object.defineProperty(socket, "remotePort", { value: client.port, configurable: true });
  Object.defineProperty(socket, "remoteFamily", {
    value: net.isIPv6(client.ip) ? "IPv6" : "IPv4",
    configurable: true,
  });
}

/** A socket that replaces another for the same connection (TLS over it, a taken-over handle) keeps its client. */
export function carryClient(from: net.Socket, to: net.Socket): void {
  if (Object.hasOwn(from, "remoteAddress")) {
    presentClient(to, { ip: from.remoteAddress!, port: from.remotePort ?? 0 });
  }
}

/**
 * When `socket` comes from a trusted balancer, reads its PROXY header, makes the socket report the client it
 * names (presentClient) and puts any bytes after the header back into the socket; then calls `done` with no
 * error (also for sockets from anywhere else, at once, leaving them untouched). The socket is left paused. A
 * missing, malformed or late header → `done` with the reason, and the socket destroyed.
 */
export function takeProxyHeader(
  socket: net.Socket,
  sources: ProxySources,
  done: (err: Error | null) => void,
): void {
  if (!sources.trusts(socket.remoteAddress)) {
    done(null);
    return;
  }
  let received: Buffer = Buffer.alloc(0);
  let finished = false;
  const finish = (err: Error | null) => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    socket.off("data", onData);
    socket.off("error", finish);
    socket.off("close", onClose);
    socket.off("end", onClose);
    if (err) {
      socket.on("error", () => {});
      socket.destroy();
    }
    done(err);
  };
  const onClose = () => finish(new Error("the connection closed before its PROXY header"));
  const onData = (chunk: Buffer) => {
    received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
    const parsed = parseProxyHeader(received);
    if (parsed === "incomplete") return;
    if ("error" in parsed) return finish(new Error(parsed.error));
    socket.pause();
    if (parsed.client) presentClient(socket, parsed.client);
    const rest = received.subarray(parsed.length);
    if (rest.length > 0) socket.unshift(rest);
    finish(null);
  };
  const timer = setTimeout(() => finish(new Error("no PROXY header in time")), HEADER_TIMEOUT_MS);
  socket.on("data", onData);
  socket.once("error", finish);
  socket.once("close", onClose);
  socket.once("end", onClose);
  // An accepted socket may be paused (pauseOnConnect): adding a listener does not start it.
  socket.resume();
}
