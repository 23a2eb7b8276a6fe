/**
 * The socket reads of Ferry's SFTP server connections: Node reads every chunk into a new 64 KiB buffer, the
 * last big source of external memory. Once a connection runs an SFTP session over one of the patched ciphers,
 * nothing of a read is kept after it is parsed (decipher.ts; a packet whose tag is still to come is copied when
 * the read ends), so its reads go into one 256 KiB buffer shared by all such connections (one thread parses
 * them, one at a time). Until then (key exchange, authentication), and with other ciphers (aes*-ctr), reads
 * get their own buffers. Writes of pooled packets give them back to the pool (packets.ts).
 */
import net from "node:net";
import { deciphersPatched } from "./decipher.js";
import type { Internal } from "./internals.js";
import { givePacket, packetHome } from "./packets.js";

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
  if (!handle || !deciphersPatched() || accepted.readableLength > 0) {
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
    const home = rest.length === 0 && Buffer.isBuffer(chunk) ? packetHome(chunk) : undefined;
    if (home) return write.call(this, chunk, () => givePacket(home));
    return write.apply(this, [chunk, ...rest]);
  } as typeof socket.write;
  return socket;
}

/** Whether a socket was taken over by adoptSocket (its writes give pooled packets back). */
export const adopted = (socket: unknown): boolean => readStates.has(socket as net.Socket);

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
