/**
 * SSH packets that span two socket reads joined in one buffer per decipher (Ferry's SFTP server only).
 *
 * ssh2's decipher joins such a packet in a new buffer before it is decrypted in place. On connections of
 * Ferry's SFTP server, where channel data only ever goes to the SFTP parser above (no shell, exec or
 * forwarding channels are accepted), the AES-GCM and ChaCha20-Poly1305 deciphers (OpenSSH's defaults) join them
 * in one buffer of their own; any other message they decrypt (rare: window adjustments, re-keying,
 * authentication) is copied out before ssh2 sees it, as ssh2 or Ferry may keep it.
 */
import { type Internal, MAX_SSH_PACKET, MESSAGE_CHANNEL_DATA, ssh2Require } from "./internals.js";

/** The decipher classes patched here (ssh2's OpenSSL bindings for AES-GCM and ChaCha20-Poly1305). */
const patched = new Set<unknown>();

/** Whether a decipher (of a new key exchange) is one of the patched kind. */
export const markable = (decipher: Internal): boolean => patched.has(decipher?.constructor);

/** Whether any decipher was patched (none when ssh2's OpenSSL binding is missing). */
export const deciphersPatched = (): boolean => patched.size > 0;

/** Patches ssh2's AES-GCM and ChaCha20-Poly1305 decipher bindings; how many it patched. */
export function patchDeciphers(): number {
  const { createDecipher, CIPHER_INFO } = ssh2Require("ssh2/lib/protocol/crypto.js") as Internal;
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
  return patched.size;
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
