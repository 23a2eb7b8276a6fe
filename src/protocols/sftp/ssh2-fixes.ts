/**
 * Less garbage per SFTP upload, applied once at start-up to ssh2's SFTP parser (server side only).
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
 */
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

interface SftpParser {
  server: boolean;
  _maxInPktLen: number;
  outgoing?: { state: string };
  push(data: Buffer | null): void;
}

// biome-ignore lint/suspicious/noExplicitAny: ssh2's protocol internals are untyped CommonJS.
const { SFTP } = require("ssh2/lib/protocol/SFTP.js") as { SFTP: { prototype: SftpParser } & any };

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
