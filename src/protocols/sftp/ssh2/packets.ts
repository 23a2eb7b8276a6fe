/** The AES-GCM and ChaCha20-Poly1305 ciphers' outgoing packets: from a pool, with padding from a batch. */
import { randomFillSync } from "node:crypto";
import { type Internal, MAX_SSH_PACKET, ssh2Require } from "./internals.js";

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

export function givePacket(home: Buffer): void {
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

/** The pool's buffer a written chunk came from, if it did (its write callback gives it back). */
export const packetHome = (chunk: Buffer): Buffer | undefined => packetHomes.get(chunk.buffer);

/** Whether a cipher (of a new key exchange) is one whose packets may be pooled. */
export const poolable = (cipher: Internal): boolean => pooledCiphers.has(cipher?.constructor);

/** A marked cipher takes its packets from the pool; only for a socket made by adoptSocket (exported for tests). */
export function markCipher(cipher: Internal): void {
  cipher.ferryPooled = true;
}

/** Gives ssh2's AES-GCM and ChaCha20-Poly1305 cipher bindings a pooled allocPacket; how many it patched. */
export function patchCiphers(): number {
  const { createCipher, CIPHER_INFO } = ssh2Require("ssh2/lib/protocol/crypto.js") as Internal;
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
  return pooledCiphers.size;
}
