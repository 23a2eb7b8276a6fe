/**
 * SFTP requests framed before ssh2's parser sees them, and DATA replies sent without a copy (Ferry's SFTP
 * server only).
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
 * Downloads: a DATA reply is written as its header then the file's bytes straight into SSH packets, instead of
 * being copied first into a new SFTP packet (see sendDataNow); the bytes come lent from the store (readWith).
 */
import { type Internal, ssh2Require } from "./internals.js";

interface SftpParser {
  server: boolean;
  _maxInPktLen: number;
  outgoing?: { state: string };
  push(data: Buffer | null): void;
}

const { SFTP } = ssh2Require("ssh2/lib/protocol/SFTP.js") as { SFTP: { prototype: SftpParser } & Internal };

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

/** Replaces the SFTP parser's push (framing) and data (DATA replies) for server sessions. */
export function patchSftp(): void {
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
