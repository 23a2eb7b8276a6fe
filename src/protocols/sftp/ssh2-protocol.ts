/**
 * Two things Ferry's SSH server needs that ssh2 has no API for, done through its protocol object.
 *
 * 1. No SHA-1 host key signatures: ssh2 adds "ssh-rsa" (RSA with SHA-1, RFC 8332) to the host key algorithms it
 * offers whenever an RSA host key is loaded, whatever the server's list says. Each connection's offer is
 * replaced by one without it, before the server's KEXINIT goes out (ssh2 sends it right after the client's
 * banner, which is when the "connection" event runs). Old clients that know only ssh-rsa for RSA (JSch 0.1.5x)
 * use the ECDSA host key instead.
 *
 * 2. A disconnect that says why (RFC 4253 §11.1: a reason code and a description, which OpenSSH prints):
 * ssh2's disconnect() sends the code alone.
 */
import { createRequire } from "node:module";
import type { Connection } from "ssh2";

const require = createRequire(import.meta.url);
const { sendPacket } = require("ssh2/lib/protocol/utils.js") as {
  sendPacket(protocol: unknown, packet: Buffer, bypass?: boolean): boolean;
};

/** RFC 4253 §11.1 / §19 (SSH_DISCONNECT_…). */
export const DISCONNECT = { TOO_MANY_CONNECTIONS: 12, SERVICE_NOT_AVAILABLE: 7 } as const;
const MSG_DISCONNECT = 1;

interface PacketWriter {
  allocStartKEX: number;
  alloc(length: number, force?: boolean): Buffer;
  finalize(packet: Buffer, force?: boolean): Buffer;
}

interface KexList {
  array: string[];
}
interface Offer {
  lists: {
    kex: KexList;
    serverHostKey: KexList;
    cs: Record<"cipher" | "mac" | "compress" | "lang", KexList>;
    sc: Record<"cipher" | "mac" | "compress" | "lang", KexList>;
  };
}

const withoutSha1 = new WeakMap<Offer, Offer>();

function rebuilt(offer: Offer): Offer {
  let done = withoutSha1.get(offer);
  if (!done) {
    const KexInit = Object.getPrototypeOf(offer).constructor as new (algorithms: object) => Offer;
    const side = (s: Offer["lists"]["cs"]) => ({
      cipher: s.cipher.array,
      mac: s.mac.array,
      compress: s.compress.array,
      lang: s.lang.array,
    });
    const l = offer.lists;
    done = new KexInit({
      kex: l.kex.array,
      serverHostKey: l.serverHostKey.array.filter((a) => a !== "ssh-rsa"),
      cs: side(l.cs),
      sc: side(l.sc),
    });
    withoutSha1.set(offer, done);
  }
  return done;
}

/** Call in the server's "connection" handler: this connection offers no ssh-rsa host key signature. */
export function offerNoSha1HostKey(client: Connection): void {
  const protocol = (client as unknown as { _protocol?: { _offer?: Offer } })._protocol;
  if (protocol?._offer?.lists?.serverHostKey) protocol._offer = rebuilt(protocol._offer);
}

/** Ends a connection with SSH_MSG_DISCONNECT carrying `reason` and `description` (OpenSSH shows both). */
export function disconnectWith(client: Connection, reason: number, description: string): void {
  const protocol = (client as unknown as { _protocol?: { _packetRW: { write: PacketWriter } } })._protocol;
  if (protocol) {
    const text = Buffer.from(description, "utf8");
    const writer = protocol._packetRW.write;
    const p = writer.allocStartKEX;
    const packet = writer.alloc(1 + 4 + 4 + text.length + 4, true);
    packet[p] = MSG_DISCONNECT;
    packet.writeUInt32BE(reason, p + 1);
    packet.writeUInt32BE(text.length, p + 5);
    text.copy(packet, p + 9);
    packet.writeUInt32BE(0, p + 9 + text.length); // language tag
    sendPacket(protocol, writer.finalize(packet, true), true);
  }
  client.end();
}
