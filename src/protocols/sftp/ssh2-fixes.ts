/**
 * Less garbage per SFTP transfer, applied once at start-up to ssh2's SFTP parser and its AES-GCM and
 * ChaCha20-Poly1305 deciphers, for Ferry's SFTP server only.
 *
 * OpenSSH's sftp sends 32 KiB WRITE requests, and a request is 33 bytes longer than the 32 KiB channel packets
 * that carry it: nearly every request arrives in two pieces, and ssh2 allocates a new buffer to join each one
 * (1 GiB of new buffers per GiB uploaded). Every new buffer counts as V8 "external memory", and that churn is
 * what made V8 run a full mark-compact every ~40 ms during uploads (`--trace-gc`: "external memory pressure").
 *
 * Here the stream is framed before ssh2 sees it: runs of whole packets go through untouched (views, no copy),
 * and a packet that arrives in pieces is joined in one buffer per SFTP session, reused for the next one. ssh2
 * then only ever receives whole packets, which it handles without copying. The reuse is safe because the
 * server's request handlers take what they need synchronously: Ferry's handlers read the handle at once and
 * the store copies WRITE data before it returns to the event loop (see Upload.write). Client-side SFTP
 * (pulls from remote servers) keeps ssh2's own parser: replies there may be held by callers.
 *
 * Likewise one level down: an SSH packet that spans two socket reads is joined by ssh2's decipher in a new
 * buffer before it is decrypted in place. On connections of Ferry's SFTP server, where channel data only ever
 * goes to the SFTP parser above (no shell, exec or forwarding channels are accepted), the AES-GCM and
 * ChaCha20-Poly1305 deciphers (OpenSSH's defaults) join them in one buffer of their own; any other message
 * they decrypt (rare: window adjustments, re-keying, authentication) is copied out before ssh2 sees it, as
 * ssh2 or Ferry may keep it.
 *
 * And at the bottom, the socket: Node reads every chunk into a new 64 KiB buffer, the last big source of
 * external memory. Once a connection runs an SFTP session over one of those ciphers, nothing of a read is kept
 * after it is parsed (see above; a packet whose tag is still to come is copied when the read ends), so its
 * reads go into one 256 KiB buffer shared by all such connections (one thread parses them, one at a time).
 * Until then (key exchange, authentication), and with other ciphers (aes*-ctr), reads get their own buffers.
 *
 * Downloads: a DATA reply is written as its header then the file's bytes straight into SSH packets, instead of
 * being copied first into a new SFTP packet (see sendDataNow); the bytes come lent from the store (readWith);
 * and the SSH packets themselves come from a pool, each back in it once the socket's write callback says the
 * kernel has it (see takePacket).
 */
import { randomFillSync } from "node:crypto";
import { createRequire } from "node:module";
import net from "node:net";

const require = createRequire(import.meta.url);

const MESSAGE_CHANNEL_DATA = 94;

interface SftpParser {
  server: boolean;
  _maxInPktLen: number;
  outgoing?: { state: string };
  push(data: Buffer | null): void;
}

// biome-ignore lint/suspicious/noExplicitAny: ssh2's protocol internals are untyped CommonJS.
const { SFTP } = require("ssh2/lib/protocol/SFTP.js") as { SFTP: { prototype: SftpParser } & any };

const RESPONSE_DATA = 103;

/**
 * Sends a DATA reply as its 13-byte header, then the bytes themselves, straight into SSH channel packets (which
 * copy them): ssh2 would first copy both into a new SFTP packet (a 32 KiB buffer per READ, the largest source
 * of garbage in downloads). Only when the whole reply fits in the window now; false otherwise, and ssh2's own
 * way (which may queue the reply) is used.
 */
function sendDataNow(sftp: Internal, reqid: number, bytes: Buffer): boolean {
  const out = sftp.outgoing;
  if (bytes.length === 0 || out.state !== "open" || sftp._buffer.length > 0 || out.window < 13 + bytes.length)
    return false;
  const head = Buffer.allocUnsafe(13);
  head.writeUInt32BE(9 + bytes.length, 0);
  head[4] = RESPONSE_DATA;
  head.writeUInt32BE(reqid, 5);
  head.writeUInt32BE(bytes.length, 9);
  for (const part of [head, bytes]) {
    for (let p = 0; p < part.length; ) {
      const n = Math.min(part.length - p, out.packetSize);
      out.window -= n;
      sftp._protocol.channelData(out.id, n === part.length ? part : part.subarray(p, p + n));
      p += n;
    }
  }
  return true;
}

/** A packet being joined: `buf[0, have)` so far, `need` bytes in all (0 until its length is known). */
interface Joining {
  buf: Buffer;
  have: number;
  need: number;
}

const joining = new WeakMap<SftpParser, Joining>();
/** Enough for a 32 KiB WRITE with any handle; grown when a longer packet comes. */
const INITIAL_JOIN = 34 * 1024;

let installed = false;

export function installSsh2Fixes(): void {
  if (installed) return;
  installed = true;
  installDecipherMarks();
  const data = SFTP.prototype.data;
  SFTP.prototype.data = function directData(
    this: Internal,
    reqid: number,
    bytes: unknown,
    encoding?: unknown,
  ) {
    if (!(this.server && Buffer.isBuffer(bytes) && sendDataNow(this, reqid, bytes)))
      data.call(this, reqid, bytes, encoding);
  };
  const push: (this: SftpParser, data: Buffer | null) => void = SFTP.prototype.push;
  SFTP.prototype.push = function framedPush(this: SftpParser, data: Buffer | null) {
    if (data === null || !this.server) return push.call(this, data);
    pushFramed(this, data, push);
  };
}

const stopped = (sftp: SftpParser) => sftp.outgoing?.state === "closing" || sftp.outgoing?.state === "closed";

/** A length ssh2 will refuse: passed on unchanged, so that ssh2 reports the protocol error as it always did. */
const badLength = (sftp: SftpParser, length: number) => length === 0 || length > sftp._maxInPktLen;

function pushFramed(
  sftp: SftpParser,
  data: Buffer,
  push: (this: SftpParser, data: Buffer | null) => void,
): void {
  let j = joining.get(sftp);
  let p = 0;
  // First, the rest of a packet that began in an earlier piece.
  if (j && j.have > 0) {
    if (j.need === 0) {
      const n = Math.min(4 - j.have, data.length);
      data.copy(j.buf, j.have, 0, n);
      j.have += n;
      p = n;
      if (j.have < 4) return;
      const length = j.buf.readUInt32BE(0);
      if (badLength(sftp, length)) {
        j.have = 0;
        push.call(sftp, Buffer.concat([j.buf.subarray(0, 4), data.subarray(p)]));
        return;
      }
      j.need = 4 + length;
      if (j.buf.length < j.need) j.buf = grow(j.buf, j.need, 4);
    }
    const n = Math.min(j.need - j.have, data.length - p);
    data.copy(j.buf, j.have, p, p + n);
    j.have += n;
    p += n;
    if (j.have < j.need) return;
    const packet = j.buf.subarray(0, j.need);
    j.have = 0;
    j.need = 0;
    push.call(sftp, packet);
    if (stopped(sftp)) return;
  }
  // Then every whole packet in this piece, in one call.
  let q = p;
  while (q + 4 <= data.length) {
    const length = data.readUInt32BE(q);
    if (badLength(sftp, length) || q + 4 + length > data.length) break;
    q += 4 + length;
  }
  if (q > p) {
    push.call(sftp, p === 0 && q === data.length ? data : data.subarray(p, q));
    if (stopped(sftp)) return;
    p = q;
  }
  if (p === data.length) return;
  // What is left is the start of a packet (or one ssh2 will refuse).
  const rest = data.length - p;
  let need = 0;
  if (rest >= 4) {
    const length = data.readUInt32BE(p);
    if (badLength(sftp, length)) {
      push.call(sftp, data.subarray(p));
      return;
    }
    need = 4 + length;
  }
  if (!j) {
    j = { buf: Buffer.allocUnsafeSlow(Math.max(INITIAL_JOIN, need)), have: 0, need: 0 };
    joining.set(sftp, j);
  } else if (j.buf.length < need) {
    j.buf = grow(j.buf, need, 0);
  }
  data.copy(j.buf, 0, p);
  j.have = rest;
  j.need = need;
}

function grow(buf: Buffer, size: number, keep: number): Buffer {
  const bigger = Buffer.allocUnsafeSlow(size);
  buf.copy(bigger, 0, 0, keep);
  return bigger;
}

// biome-ignore lint/suspicious/noExplicitAny: ssh2's protocol internals are untyped CommonJS.
type Internal = any;

/** ssh2's limit on a whole SSH packet (RFC 4253 §6.1: 35000 bytes). */
const MAX_SSH_PACKET = 35000;

/** The decipher classes patched here (ssh2's OpenSSL bindings for AES-GCM and ChaCha20-Poly1305). */
const patched = new Set<unknown>();
/** The cipher classes whose packets may come from the pool below. */
const pooledCiphers = new Set<unknown>();

/**
 * Outgoing SSH packets of Ferry's server connections, from a pool: a download sent a new 32 KiB packet per
 * channel packet (1 GiB of garbage per GiB). A packet's buffer goes back to the pool when the socket's write
 * callback says the kernel has it (adoptSocket wraps write); one never written is simply garbage.
 */
const PACKET_CAP = MAX_SSH_PACKET + 16;
const POOLED_FROM = 4096;
const MAX_FREE_PACKETS = 256;
const freePackets: Buffer[] = [];
const packetHomes = new WeakMap<ArrayBufferLike, Buffer>();

function takePacket(size: number): Buffer {
  let home = freePackets.pop();
  if (!home) {
    home = Buffer.allocUnsafeSlow(PACKET_CAP);
    packetHomes.set(home.buffer, home);
  }
  return home.subarray(0, size);
}

function givePacket(home: Buffer): void {
  if (freePackets.length < MAX_FREE_PACKETS) freePackets.push(home);
}

/** ssh2 1.17's allocPacket of its AES-GCM (block 16) and ChaCha20-Poly1305 (block 8) bindings, pooled. */
function pooledAllocPacket(block: number) {
  return function allocPacket(this: Internal, payloadLen: number): Buffer {
    let pktLen = 4 + 1 + payloadLen;
    let padLen = block - ((pktLen - 4) & (block - 1));
    if (padLen < 4) padLen += block;
    pktLen += padLen;
    const size = pktLen + 16; // + tag / MAC
    const packet =
      this.ferryPooled && size >= POOLED_FROM && size <= PACKET_CAP
        ? takePacket(size)
        : Buffer.allocUnsafe(size);
    packet.writeUInt32BE(pktLen - 4, 0);
    packet[4] = padLen;
    randomPadding(packet, 5 + payloadLen, padLen);
    return packet;
  };
}

/**
 * Random padding from a batch of CSPRNG bytes filled 64 KiB at a time: a randomFillSync per packet (4–23
 * bytes) cost 0.7 CPU s per GiB of SFTP data, more than the cipher's own work on small status packets. Each
 * byte is used once.
 */
const RANDOM_BATCH = 64 * 1024;
const randomBatch = Buffer.allocUnsafeSlow(RANDOM_BATCH);
let randomUsed = RANDOM_BATCH;

function randomPadding(target: Buffer, offset: number, length: number): void {
  if (randomUsed + length > RANDOM_BATCH) {
    randomFillSync(randomBatch);
    randomUsed = 0;
  }
  randomBatch.copy(target, offset, randomUsed, randomUsed + length);
  randomUsed += length;
}

/**
 * Marks the AES-GCM and ChaCha20-Poly1305 deciphers of marked connections as they are installed (at each key
 * exchange): ssh2 assigns `protocol._decipher`, which becomes an accessor here.
 */
function installDecipherMarks(): void {
  const Protocol = require("ssh2/lib/protocol/Protocol.js") as Internal;
  const { createCipher, createDecipher, CIPHER_INFO } = require("ssh2/lib/protocol/crypto.js") as Internal;
  const classOf = (name: string, ivLen: number) => {
    const info = CIPHER_INFO[name];
    const inbound = { onPayload() {}, decipherInfo: info, decipherKey: Buffer.alloc(info.keyLen), seqno: 0 };
    return createDecipher({ inbound: ivLen ? { ...inbound, decipherIV: Buffer.alloc(ivLen) } : inbound })
      .constructor;
  };
  // Only ssh2's OpenSSL bindings (built at install) are patched; its pure-JS fallbacks keep their own ways.
  const aes = classOf("aes128-gcm@openssh.com", 12);
  if (aes.name === "AESGCMDecipherBinding" && typeof aes.prototype.decrypt === "function") {
    aes.prototype.decrypt = decryptPackets(AES_GCM);
    patched.add(aes);
  }
  const chacha = classOf("chacha20-poly1305@openssh.com", 0);
  if (chacha.name === "ChaChaPolyDecipherBinding" && typeof chacha.prototype.decrypt === "function") {
    chacha.prototype.decrypt = decryptPackets(CHACHA_POLY);
    patched.add(chacha);
  }
  const cipherClassOf = (name: string, ivLen: number) => {
    const info = CIPHER_INFO[name];
    const outbound = { onWrite() {}, cipherInfo: info, cipherKey: Buffer.alloc(info.keyLen), seqno: 0 };
    return createCipher({ outbound: ivLen ? { ...outbound, cipherIV: Buffer.alloc(ivLen) } : outbound })
      .constructor;
  };
  for (const [name, ivLen, block, cls] of [
    ["aes128-gcm@openssh.com", 12, 16, "AESGCMCipherBinding"],
    ["chacha20-poly1305@openssh.com", 0, 8, "ChaChaPolyCipherBinding"],
  ] as const) {
    const cipher = cipherClassOf(name, ivLen);
    if (cipher.name !== cls || typeof cipher.prototype.allocPacket !== "function") continue;
    cipher.prototype.allocPacket = pooledAllocPacket(block);
    pooledCiphers.add(cipher);
  }
  Object.defineProperty(Protocol.prototype, "_cipher", {
    configurable: true,
    get(this: Internal) {
      return this.ferryCipher;
    },
    set(this: Internal, cipher: Internal) {
      if (this.ferryPooledWrites && pooledCiphers.has(cipher?.constructor)) markCipher(cipher);
      this.ferryCipher = cipher;
    },
  });
  if (patched.size === 0) return;
  Object.defineProperty(Protocol.prototype, "_decipher", {
    configurable: true,
    get(this: Internal) {
      return this.ferryDecipher;
    },
    set(this: Internal, decipher: Internal) {
      if (this.ferryServer && patched.has(decipher?.constructor)) markDecipher(decipher);
      this.ferryDecipher = decipher;
    },
  });
}

/** Marks the connection of an SFTP server session (see above), before its first key exchange. */
export function markServerConnection(connection: object): void {
  const c = connection as Internal;
  const protocol = c._protocol;
  if (!protocol) return;
  protocol.ferryServer = true;
  // Its packets may be pooled only if its socket gives them back (adoptSocket).
  protocol.ferryPooledWrites = !!(c._sock && readStates.has(c._sock));
}

/** A marked cipher takes its packets from the pool; only for a socket made by adoptSocket (exported for tests). */
export function markCipher(cipher: Internal): void {
  cipher.ferryPooled = true;
}

/** A marked decipher joins split packets in its own buffer and copies out all but channel data. */
export function markDecipher(decipher: Internal): void {
  decipher.ferryMarked = true;
}

/** Where a marked decipher joins a packet that spans reads (ssh2 allocated a new buffer for each). */
function joinBuffer(decipher: Internal, length: number): Buffer {
  if (!decipher.ferryMarked) return Buffer.allocUnsafe(length);
  decipher.ferryJoin ??= Buffer.allocUnsafeSlow(MAX_SSH_PACKET);
  return decipher.ferryJoin.subarray(0, length);
}

/** The payload ssh2 gets: only channel data is consumed at once (by the SFTP parser); anything else, a copy. */
function handedOut(decipher: Internal, packet: Buffer): Buffer {
  const payload = Buffer.from(packet.buffer, packet.byteOffset + 1, packet.length - packet[0]! - 1);
  return decipher.ferryMarked && payload[0] !== MESSAGE_CHANNEL_DATA ? Buffer.from(payload) : payload;
}

/**
 * What differs between ssh2 1.17's AESGCMDecipherBinding.decrypt and ChaChaPolyDecipherBinding.decrypt (MIT,
 * lib/protocol/crypto.js), whose common loop is `decryptPackets`: how the 4-byte packet length is read, the
 * names of the tag's fields, and the decrypt call.
 */
interface Scheme {
  /** Reads (more of) the packet length from `p`; the new position, or -1 when more bytes must come. */
  length(d: Internal, data: Buffer, p: number, dataLen: number): number;
  lengthDone(d: Internal): boolean;
  tag(d: Internal): Buffer;
  tagPos(d: Internal, add?: number): number;
  open(d: Internal): void;
  reset(d: Internal): void;
}

/** AES-GCM: the length is in clear (additional authenticated data), a multiple of 16. */
const AES_GCM: Scheme = {
  length(d, data, p, dataLen) {
    let nb = Math.min(4 - d._lenBytes, dataLen - p);
    d._lenBytes += nb;
    while (nb--) d._len = (d._len << 8) + data[p++]!;
    if (d._lenBytes < 4) return -1;
    if (d._len + 20 > MAX_SSH_PACKET || d._len < 16 || (d._len & 15) !== 0)
      throw new Error(`Bad packet length: ${d._len}`);
    return p;
  },
  lengthDone: (d) => d._lenBytes >= 4,
  tag: (d) => d._tag,
  tagPos: (d, add = 0) => (d._tagPos += add),
  open: (d) => d._instance.decrypt(d._packet, d._len, d._tag),
  reset(d) {
    d._lenBytes = 0;
    d._tagPos = 0;
  },
};

/** ChaCha20-Poly1305: the length is encrypted with its own key, a multiple of 8; a Poly1305 MAC. */
const CHACHA_POLY: Scheme = {
  length(d, data, p, dataLen) {
    let nb = Math.min(4 - d._lenPos, dataLen - p);
    while (nb--) d._lenBuf[d._lenPos++] = data[p++];
    if (d._lenPos < 4) return -1;
    d._len = d._instance.decryptLen(d._lenBuf, d.inSeqno);
    if (d._len > MAX_SSH_PACKET || d._len < 8 || (d._len & 7) !== 0) throw new Error("Bad packet length");
    return p;
  },
  lengthDone: (d) => d._lenPos >= 4,
  tag: (d) => d._mac,
  tagPos: (d, add = 0) => (d._macPos += add),
  open: (d) => d._instance.decrypt(d._packet, d._mac, d.inSeqno),
  reset(d) {
    d._lenPos = 0;
    d._macPos = 0;
  },
};

/**
 * ssh2's decrypt loop, unchanged for unmarked deciphers; marked ones join split packets in their own buffer
 * and copy out what is not channel data. The length, then padding length + payload + padding, then the 16-byte
 * tag, each of which may arrive in pieces.
 */
function decryptPackets(scheme: Scheme) {
  return function decrypt(this: Internal, data: Buffer, p: number, dataLen: number): number | undefined {
    while (p < dataLen) {
      if (!scheme.lengthDone(this)) {
        p = scheme.length(this, data, p, dataLen);
        if (p < 0) return;
      }
      if (this._pktLen < this._len) {
        if (p >= dataLen) return;
        const nb = Math.min(this._len - this._pktLen, dataLen - p);
        const encrypted =
          p !== 0 || nb !== dataLen ? new Uint8Array(data.buffer, data.byteOffset + p, nb) : data;
        if (nb === this._len) {
          this._packet = encrypted;
        } else {
          if (!this._packet) this._packet = joinBuffer(this, this._len);
          this._packet.set(encrypted, this._pktLen);
        }
        p += nb;
        this._pktLen += nb;
        if (this._pktLen < this._len || p >= dataLen) return;
      }
      const nb = Math.min(16 - scheme.tagPos(this), dataLen - p);
      const piece = p !== 0 || nb !== dataLen ? new Uint8Array(data.buffer, data.byteOffset + p, nb) : data;
      scheme.tag(this).set(piece, scheme.tagPos(this));
      p += nb;
      if (scheme.tagPos(this, nb) < 16) return;
      scheme.open(this);
      const payload = handedOut(this, this._packet);
      this.inSeqno = (this.inSeqno + 1) >>> 0;
      this._len = 0;
      this._packet = null;
      this._pktLen = 0;
      scheme.reset(this);
      const ret = this._onPayload(payload);
      if (ret !== undefined) return ret === false ? p : ret;
    }
  };
}

/** Size of the read buffer shared by SFTP sessions, and of the reads of other connections. */
const SHARED_READ = 256 * 1024;
const OWN_READ = 64 * 1024;
/** Smaller reads into a connection's own buffer are handed out as exact copies, and the buffer read into again. */
const COPY_BELOW = 16 * 1024;
let sharedRead: Buffer | undefined;

function sharedReadBuffer(): Buffer {
  sharedRead ??= Buffer.allocUnsafeSlow(SHARED_READ);
  return sharedRead;
}

interface ReadState {
  protocol?: Internal;
  sftp: boolean;
  /** The connection's own read buffer, while not handed out. */
  own?: Buffer;
}
const readStates = new WeakMap<net.Socket, ReadState>();

/**
 * Takes over an accepted connection (listened with pauseOnConnect) into a socket that reads into buffers
 * chosen here: its own ones until `shareReads` and AES-GCM, the shared one after. The socket may have read
 * a PROXY header (proxy-protocol.ts): its client address stays known through clientOf.
 */
export function adoptSocket(accepted: net.Socket): net.Socket {
  const handle = (accepted as Internal)._handle;
  // A socket holding bytes already read (those after a PROXY header) keeps them in its own stream: it stays.
  if (!handle || patched.size === 0 || accepted.readableLength > 0) {
    accepted.resume();
    return accepted;
  }
  (accepted as Internal)._handle = null;
  accepted.destroy();
  const state: ReadState = { sftp: false };
  const socket: net.Socket = new net.Socket({
    handle,
    readable: true,
    writable: true,
    onread: {
      buffer: () => (shared(state) ? sharedReadBuffer() : ownReadBuffer(state)),
      callback: (nread: number, buffer: Buffer) => {
        if (buffer === sharedRead) {
          socket.emit("data", buffer.subarray(0, nread));
          keepNothingOf(state, buffer);
        } else if (nread < COPY_BELOW) {
          // Handshake-sized reads: a copy of their size, not a 64 KiB buffer kept alive by a few bytes.
          socket.emit("data", Buffer.from(buffer.subarray(0, nread)));
        } else {
          state.own = undefined;
          socket.emit("data", buffer.subarray(0, nread));
        }
        return true;
      },
    },
  } as net.SocketConstructorOpts);
  readStates.set(socket, state);
  const write = socket.write as (...args: unknown[]) => boolean;
  socket.write = function pooledWrite(this: net.Socket, chunk: unknown, ...rest: unknown[]) {
    const home = rest.length === 0 && Buffer.isBuffer(chunk) ? packetHomes.get(chunk.buffer) : undefined;
    if (home) return write.call(this, chunk, () => givePacket(home));
    return write.apply(this, [chunk, ...rest]);
  } as typeof socket.write;
  return socket;
}

/** Called when the connection's SFTP session starts: its reads may share the buffer from now on. */
export function shareReads(connection: object): void {
  const c = connection as Internal;
  const state = c._sock && readStates.get(c._sock);
  if (!state) return;
  state.protocol = c._protocol;
  state.sftp = true;
}

function ownReadBuffer(state: ReadState): Buffer {
  state.own ??= Buffer.allocUnsafeSlow(OWN_READ);
  return state.own;
}

const shared = (state: ReadState) => state.sftp && state.protocol?._decipher?.ferryMarked === true;

/**
 * After a shared read is parsed: a packet whose body was whole in it but whose tag is still to come is held
 * by the decipher as a view of the read; it gets a copy (whatever the decipher, should a re-key change it).
 */
function keepNothingOf(state: ReadState, read: Buffer): void {
  const decipher = state.protocol?._decipher;
  if (decipher) releaseRead(decipher, read);
}

/** Makes a decipher hold nothing of `read`, which is about to be reused (exported for tests). */
export function releaseRead(decipher: Internal, read: Buffer): void {
  const packet: Uint8Array | null | undefined = decipher._packet;
  if (packet && packet.buffer === read.buffer) decipher._packet = Buffer.from(packet);
}
