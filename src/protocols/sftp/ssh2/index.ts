/**
 * Less garbage per SFTP transfer, applied once at start-up to ssh2's SFTP parser, its AES-GCM and
 * ChaCha20-Poly1305 ciphers and deciphers and the sockets of Ferry's SFTP server, for that server only:
 * sftp-framing.ts (requests joined in one buffer per session, DATA replies without a copy), decipher.ts
 * (packets spanning reads joined in one buffer per decipher), packets.ts (outgoing packets from a pool, random
 * padding from a batch), reads.ts (socket reads into one shared buffer). Each is tested against ssh2's own
 * code paths (fixes.test.ts).
 *
 * They follow ssh2 1.17.0's internals: with any other ssh2 nothing is patched and ssh2 runs its own ways (a
 * warning says so). The decipher, packet and read fixes need ssh2's OpenSSL binding, built by its install
 * script (package.json's allowScripts approves it); without it only the SFTP framing applies.
 */
import { markable, markDecipher, patchDeciphers } from "./decipher.js";
import { type Internal, installedSsh2Version, SSH2_VERSION, ssh2Require } from "./internals.js";
import { markCipher, patchCiphers, poolable } from "./packets.js";
import { adopted } from "./reads.js";
import { patchSftp } from "./sftp-framing.js";

export interface Ssh2Fixes {
  /** The ssh2 release installed. */
  version: string;
  /** Whether the fixes apply at all (the installed ssh2 is the one they follow). */
  applied: boolean;
  /** Whether ssh2's OpenSSL binding is there, and with it the fast path (decipher, packets, reads). */
  fastPath: boolean;
}

let status: Ssh2Fixes | undefined;

/** Applies the fixes once (later calls return what the first one did). */
export function installSsh2Fixes(): Ssh2Fixes {
  if (status) return status;
  if (installedSsh2Version !== SSH2_VERSION) {
    status = { version: installedSsh2Version, applied: false, fastPath: false };
    return status;
  }
  const Protocol = ssh2Require("ssh2/lib/protocol/Protocol.js") as Internal;
  const deciphers = patchDeciphers();
  patchCiphers();
  Object.defineProperty(Protocol.prototype, "_cipher", {
    configurable: true,
    get(this: Internal) {
      return this.ferryCipher;
    },
    set(this: Internal, cipher: Internal) {
      if (this.ferryPooledWrites && poolable(cipher)) markCipher(cipher);
      this.ferryCipher = cipher;
    },
  });
  if (deciphers > 0) {
    Object.defineProperty(Protocol.prototype, "_decipher", {
      configurable: true,
      get(this: Internal) {
        return this.ferryDecipher;
      },
      set(this: Internal, decipher: Internal) {
        if (this.ferryServer && markable(decipher)) markDecipher(decipher);
        this.ferryDecipher = decipher;
      },
    });
  }
  patchSftp();
  status = { version: installedSsh2Version, applied: true, fastPath: deciphers > 0 };
  return status;
}

/** Marks the connection of an SFTP server session (see above), before its first key exchange. */
export function markServerConnection(connection: object): void {
  const c = connection as Internal;
  const protocol = c._protocol;
  if (!protocol) return;
  protocol.ferryServer = true;
  // Its packets may be pooled only if its socket gives them back (adoptSocket).
  protocol.ferryPooledWrites = !!(c._sock && adopted(c._sock));
}
