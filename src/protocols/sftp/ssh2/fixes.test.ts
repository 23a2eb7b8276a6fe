import { createHash, randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import net from "node:net";
import { describe, expect, it } from "vitest";
import { markDecipher } from "./decipher.js";
import { installSsh2Fixes } from "./index.js";
import { markCipher } from "./packets.js";
import { adoptSocket, releaseRead } from "./reads.js";

const require = createRequire(import.meta.url);
const { SFTP } = require("ssh2/lib/protocol/SFTP.js") as { SFTP: any };
const { createCipher, createDecipher, CIPHER_INFO } = require("ssh2/lib/protocol/crypto.js") as any;

const fixes = installSsh2Fixes();

describe("the ssh2 fixes", () => {
  it("apply to the installed ssh2, with its OpenSSL binding (the fast path: its install script ran)", () => {
    expect(fixes).toEqual({ version: "1.17.0", applied: true, fastPath: true });
  });
});

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** An SFTP server parser as ssh2 makes one for a session; its replies go to `sent` (copied, as ssh2 does). */
function serverParser(window = 2 ** 30, sent: Buffer[] = []) {
  const protocol = {
    _remoteIdentRaw: "SSH-2.0-OpenSSH_9.2p1",
    channelData: (_id: number, data: Buffer) => void sent.push(Buffer.from(data)),
    channelClose() {},
  };
  const chanInfo = {
    type: "session",
    incoming: { id: 0, window: 2 ** 30, packetSize: 32768, state: "open" },
    outgoing: { id: 0, window, packetSize: 32768, state: "open" },
  };
  return new SFTP({ _protocol: protocol }, chanInfo, { server: true });
}

function packet(type: number, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.length + 1, 0);
  head[4] = type;
  return Buffer.concat([head, body]);
}

function string(b: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(b.length);
  return Buffer.concat([length, b]);
}

function init(): Buffer {
  const v = Buffer.alloc(4);
  v.writeUInt32BE(3);
  return packet(1, v);
}

function write(reqid: number, handle: Buffer, offset: number, data: Buffer): Buffer {
  const id = Buffer.alloc(4);
  id.writeUInt32BE(reqid);
  const off = Buffer.alloc(8);
  off.writeBigUInt64BE(BigInt(offset));
  return packet(6, Buffer.concat([id, string(handle), off, string(data)]));
}

interface Seen {
  reqid: number;
  handle: string;
  offset: number;
  sha: string;
  arrayBuffer: ArrayBufferLike;
}

/** Feeds `stream` in pieces of the given sizes (cycled) and records every WRITE as it is emitted. */
function feed(stream: Buffer, pieces: number[]) {
  const sftp = serverParser();
  const seen: Seen[] = [];
  const errors: string[] = [];
  sftp.on("WRITE", (reqid: number, handle: Buffer, offset: number, data: Buffer) => {
    // Taken at once, as Ferry's handlers do: the buffer may be reused after this returns.
    seen.push({ reqid, handle: handle.toString("hex"), offset, sha: sha(data), arrayBuffer: data.buffer });
  });
  sftp.on("error", (err: Error) => errors.push(err.message));
  for (let at = 0, i = 0; at < stream.length; i++) {
    const n = pieces[i % pieces.length]!;
    sftp.push(stream.subarray(at, at + n));
    at += n;
  }
  return { seen, errors };
}

describe("ssh2's SFTP parser, framed by Ferry", () => {
  const handle = Buffer.from([0, 0, 0, 7]);
  const datas = [32768, 32768, 1, 0, 40_000, 5, 32768, 100_000, 3].map((n) => randomBytes(n));
  const stream = Buffer.concat([init(), ...datas.map((d, i) => write(i + 1, handle, i * 1000, d))]);
  const expected = datas.map((d, i) => ({ reqid: i + 1, handle: "00000007", offset: i * 1000, sha: sha(d) }));
  const strip = (s: Seen[]) => s.map(({ arrayBuffer: _, ...rest }) => rest);

  it("emits every request intact, however the stream is cut", () => {
    // As OpenSSH's channel packets cut it, byte by byte, at random, and all at once.
    const cuts = [[32768], [1], [3, 4, 5, 4093, 70_000, 2], [stream.length], [32768 + 33, 17, 32751]];
    for (const pieces of cuts) {
      const { seen, errors } = feed(stream, pieces);
      expect(errors).toEqual([]);
      expect(strip(seen)).toEqual(expected);
    }
  });

  it("joins packets that arrive in pieces in one reused buffer, instead of a new one each", () => {
    const small = Buffer.concat([
      init(),
      ...Array.from({ length: 6 }, (_, i) => write(i, handle, 0, randomBytes(32768))),
    ]);
    const { seen } = feed(small, [32768]);
    expect(seen).toHaveLength(6);
    // Each 32 KiB WRITE straddles two 32 KiB pieces; all were joined in the same memory.
    expect(new Set(seen.map((s) => s.arrayBuffer)).size).toBe(1);
  });

  it("still reports packets whose length ssh2 refuses", () => {
    const huge = Buffer.alloc(9);
    huge.writeUInt32BE(10 * 1024 * 1024, 0);
    for (const pieces of [[2], [huge.length + 100]]) {
      const { errors } = feed(Buffer.concat([init(), huge]), pieces);
      expect(errors.join()).toMatch(/exceeds max length/);
    }
    const empty = Buffer.alloc(4);
    expect(feed(Buffer.concat([init(), empty]), [3]).errors.join()).toMatch(/Invalid packet length/);
  });
});

describe("ssh2's SFTP DATA replies, sent by Ferry", () => {
  it("go out as header then bytes, copied at once, in channel packets no larger than the client's", () => {
    const sent: Buffer[] = [];
    const sftp = serverParser(2 ** 30, sent);
    const bytes = randomBytes(40_000);
    const original = Buffer.from(bytes);
    sftp.data(7, bytes);
    bytes.fill(0); // the memory is lent: reused as soon as data() returns
    const head = Buffer.alloc(13);
    head.writeUInt32BE(9 + original.length, 0);
    head[4] = 103;
    head.writeUInt32BE(7, 5);
    head.writeUInt32BE(original.length, 9);
    expect(Buffer.concat(sent).equals(Buffer.concat([head, original]))).toBe(true);
    expect(Math.max(...sent.map((p) => p.length))).toBeLessThanOrEqual(32768);
    expect(sftp.outgoing.window).toBe(2 ** 30 - 13 - original.length);
  });

  it("leave a reply larger than the window to ssh2, which sends what fits and keeps its own copy of the rest", () => {
    const sent: Buffer[] = [];
    const sftp = serverParser(1000, sent);
    const bytes = randomBytes(5000);
    const original = Buffer.from(bytes);
    sftp.data(8, bytes);
    bytes.fill(0);
    expect(Buffer.concat(sent).length).toBe(1000);
    expect(
      Buffer.concat(sent)
        .subarray(13)
        .equals(original.subarray(0, 1000 - 13)),
    ).toBe(true);
    expect(Buffer.concat(sftp._buffer).equals(original.subarray(1000 - 13))).toBe(true);
  });
});

for (const cipherName of ["aes128-gcm@openssh.com", "chacha20-poly1305@openssh.com"]) {
  describe(`ssh2's ${cipherName} decipher, with Ferry's join buffer`, () => {
    const info = CIPHER_INFO[cipherName];
    const key = randomBytes(info.keyLen);
    const iv = info.ivLen ? randomBytes(info.ivLen) : undefined;
    const keys = iv
      ? { key: { cipherKey: key, cipherIV: iv }, dec: { decipherKey: key, decipherIV: iv } }
      : { key: { cipherKey: key }, dec: { decipherKey: key } };

    /** What an OpenSSH client sends: channel data with a window adjustment and an ignore message among it. */
    function encryptedStream() {
      const wire: Buffer[] = [];
      const cipher = createCipher({
        outbound: {
          onWrite: (p: Buffer) => wire.push(Buffer.from(p)),
          cipherInfo: info,
          ...keys.key,
          seqno: 0,
        },
      });
      const payloads = [];
      for (let i = 0; i < 40; i++) {
        const type = i % 10 === 3 ? 93 : i % 10 === 7 ? 2 : 94;
        const payload = Buffer.concat([Buffer.from([type]), randomBytes(type === 94 ? 32768 + 8 : 8)]);
        payloads.push(payload);
        const packet = cipher.allocPacket(payload.length);
        payload.copy(packet, 5);
        cipher.encrypt(packet);
      }
      return { wire: Buffer.concat(wire), payloads, firstPacket: wire[0]!.length };
    }

    function newDecipher(onPayload: (p: Buffer) => void) {
      return createDecipher({ inbound: { onPayload, decipherInfo: info, ...keys.dec, seqno: 0 } });
    }

    function decrypt(wire: Buffer, piece: number, join: boolean) {
      const got: { type: number; sha: string; buffer: ArrayBufferLike }[] = [];
      const decipher = newDecipher((p) => void got.push({ type: p[0]!, sha: sha(p), buffer: p.buffer }));
      if (join) markDecipher(decipher);
      for (let at = 0; at < wire.length; at += piece) {
        // Each read in its own memory, as sockets deliver them.
        const read = Buffer.from(wire.subarray(at, at + piece));
        decipher.decrypt(read, 0, read.length);
      }
      return { got, join: decipher.ferryJoin?.buffer as ArrayBufferLike | undefined };
    }

    it("decrypts every packet, joining those split across reads in one buffer, and copies out all but channel data", () => {
      const { wire, payloads } = encryptedStream();
      for (const piece of [65536, 1, 17, 32_000, wire.length]) {
        const { got, join } = decrypt(wire, piece, true);
        expect(got.map((g) => g.sha)).toEqual(payloads.map(sha));
        const joined = got.filter((g) => g.buffer === join);
        if (piece === 65536) expect(joined.length).toBeGreaterThan(5);
        // Window adjustments and the like may be kept by ssh2: never handed out in the reused buffer.
        expect(joined.every((g) => g.type === 94)).toBe(true);
      }
      // Without it (ssh2's own way, kept for client connections), a new buffer for every split packet.
      const { got } = decrypt(wire, 65536, false);
      expect(got.map((g) => g.sha)).toEqual(payloads.map(sha));
      expect(new Set(got.map((g) => g.buffer)).size).toBeGreaterThan(10);
    });

    it("gives up its view of a read that ends between a packet and its tag, before the read is reused", () => {
      const { wire, payloads, firstPacket } = encryptedStream();
      const bodyEnd = firstPacket - 16; // length and body of the first packet; its 16-byte tag comes next
      for (const release of [true, false]) {
        const got: string[] = [];
        const decipher = newDecipher((p) => void got.push(sha(p)));
        markDecipher(decipher);
        const read = Buffer.from(wire.subarray(0, bodyEnd));
        decipher.decrypt(read, 0, read.length);
        if (release) releaseRead(decipher, read);
        read.fill(0); // the shared buffer takes the next read
        const rest = Buffer.from(wire.subarray(bodyEnd));
        if (release) {
          decipher.decrypt(rest, 0, rest.length);
          expect(got).toEqual(payloads.map(sha));
        } else {
          // What it prevents: the kept view now holds other bytes, and the packet fails its authentication.
          expect(() => decipher.decrypt(rest, 0, rest.length)).toThrow();
        }
      }
    });
  });
}

describe("pooled SSH packets on an adopted socket", () => {
  it("reuses a packet's memory only once the kernel has it, even when the peer stops reading", async () => {
    const info = CIPHER_INFO["aes128-gcm@openssh.com"];
    const key = randomBytes(16);
    const iv = randomBytes(12);
    const server = net.createServer({ pauseOnConnect: true });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const accepted = new Promise<net.Socket>((r) => server.once("connection", (s) => r(adoptSocket(s))));
    const client = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1");
    client.pause(); // the peer reads nothing until everything is sent: writes pile up behind the kernel's buffers
    const socket = await accepted;
    const cipher = createCipher({
      outbound: {
        onWrite: (p: Buffer) => socket.write(p),
        cipherInfo: info,
        cipherKey: key,
        cipherIV: iv,
        seqno: 0,
      },
    });
    markCipher(cipher);
    const payloads = Array.from({ length: 400 }, () =>
      Buffer.concat([Buffer.from([94]), randomBytes(32768 + 8)]),
    );
    const memory = new Set<ArrayBufferLike>();
    for (const [i, payload] of payloads.entries()) {
      const packet = cipher.allocPacket(payload.length);
      memory.add(packet.buffer);
      payload.copy(packet, 5);
      cipher.encrypt(packet);
      // Now and then a turn of the event loop, for write callbacks (and reuse) to happen.
      if (i % 10 === 9) await new Promise((r) => setImmediate(r));
    }
    expect(socket.writableLength).toBeGreaterThan(1024 * 1024); // queued in user space, not yet in the kernel
    const got: string[] = [];
    const decipher = createDecipher({
      inbound: {
        onPayload: (p: Buffer) => void got.push(sha(p)),
        decipherInfo: info,
        decipherKey: key,
        decipherIV: iv,
        seqno: 0,
      },
    });
    client.on("data", (d: Buffer) => decipher.decrypt(d, 0, d.length));
    client.resume();
    await new Promise<void>((r) => socket.end(r));
    await new Promise((r) => client.once("end", r));
    expect(got).toEqual(payloads.map(sha));
    // Packets queued behind the kernel each kept their own memory; once written, memory is reused.
    expect(memory.size).toBeGreaterThan(10);
    expect(memory.size).toBeLessThan(payloads.length);
    client.destroy();
    server.close();
  });
});
