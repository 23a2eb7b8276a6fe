/**
 * TLS on FTP data connections, and how Ferry tells a complete FTPS upload from a cut one.
 *
 * FTP's stream mode has no end-of-file marker: the end of the data connection is the end of the file. Over
 * TLS the sender ends with a close_notify alert (RFC 5246 §7.2.1, RFC 4217 §12.4); an end without it, or a
 * TCP reset, means the file may be short. Node reports both as an ordinary end of the TLS stream (a reset
 * too, at times: seen with lftp, whose uploads were stored short and acknowledged with 226), so the TLS
 * socket reads the network through a `RecordTap` that watches the records go by and the TCP connection's
 * own end: the upload is whole only if the last record before the TCP end was an alert (close_notify — a
 * fatal alert fails the TLS stream anyway) and nothing came after it.
 *
 * Data connections speak TLS 1.2 at most. A TLS 1.3 server sends its session tickets after the handshake,
 * and clients that upload without reading them (lftp) close with those bytes unread, which turns their close
 * into a TCP reset that throws away the end of the upload still in their send buffer. TLS 1.2 sends its
 * ticket inside the handshake, which every client reads. (Node has no way to send no TLS 1.3 tickets:
 * SSL_OP_NO_TICKET only makes them stateful.) The control connection keeps TLS 1.3.
 *
 * A TLS socket over a JS stream (Node's JSStreamSocket) must never be handed bytes to read while one of its
 * writes or its shutdown is still being finished: reading can make TLS write (an alert, its answer to the
 * peer's close_notify), and a write while another write or the shutdown is pending fails an internal
 * assertion that takes the whole process down (nodejs/node#35384; seen here with rclone's 16 parallel FTPS
 * transfers). The tap therefore holds incoming bytes while a write is in flight, until after the TLS layer
 * has been told it finished, and once Ferry ends a data connection (its transfer is over) it reads nothing
 * more from it.
 */
import type net from "node:net";
import { Duplex } from "node:stream";
import tls from "node:tls";

/** TLS record content types (RFC 8446 §5.1); records are sent with a 5-byte header. */
const ALERT = 21;
const HEADER = 5;

/** Sits between a TCP socket and the TLS socket that reads it; passes every byte through unchanged. */
export class RecordTap extends Duplex {
  /** Type of the last complete record, and how many bytes of the current one are still to come. */
  private lastType = -1;
  private remaining = 0;
  private header = Buffer.alloc(HEADER);
  private headerHave = 0;
  /** Set when the TCP connection ended: whether the sender closed TLS first. */
  orderlyEnd: boolean | null = null;
  /** Set when the TCP connection failed (e.g. reset by the peer). */
  networkError: Error | null = null;
  /** The TCP connection under the TLS. */
  readonly tcp: net.Socket;
  /** Writes not yet known to be finished by the TLS layer above; while any is, incoming bytes wait. */
  private writing = 0;
  /** Bytes (and the TCP end, as null) held back while a write was in flight, in order. */
  private held: (Buffer | null)[] = [];
  private rawClosed = false;
  /** Set when Ferry ended the connection: whatever still arrives is dropped, never handed to TLS. */
  private ignoring = false;

  constructor(private raw: net.Socket) {
    super({ allowHalfOpen: true });
    this.tcp = raw;
    raw.on("data", (chunk: Buffer) => this.receive(chunk));
    raw.on("end", () => this.receive(null));
    raw.on("error", (err) => {
      this.networkError = err;
      this.destroy(err);
    });
    raw.on("close", () => {
      this.rawClosed = true;
      // Bytes still held are handed over first (release() destroys once they are).
      if (this.held.length === 0 && !this.destroyed) this.destroy();
    });
  }

  /** From now on nothing that arrives reaches the TLS layer (which is shutting down). */
  stopReading(): void {
    this.ignoring = true;
    this.held = [];
    this.raw.resume();
  }

  private receive(chunk: Buffer | null): void {
    if (this.ignoring) return;
    if (this.writing > 0 || this.held.length > 0) {
      this.held.push(chunk);
      this.raw.pause();
      return;
    }
    this.deliver(chunk);
  }

  private deliver(chunk: Buffer | null): void {
    if (chunk === null) {
      this.orderlyEnd = this.lastType === ALERT && this.remaining === 0 && this.headerHave === 0;
      this.push(null);
      return;
    }
    this.track(chunk);
    if (!this.push(chunk)) this.raw.pause();
  }

  /** Hands over what was held, one piece at a time, stopping again as soon as TLS starts a write. */
  private release(): void {
    while (this.writing === 0 && this.held.length > 0 && !this.destroyed) this.deliver(this.held.shift()!);
    if (this.held.length > 0 || this.destroyed) return;
    if (this.rawClosed) this.destroy();
    else if (!this.isPaused()) this.raw.resume();
  }

  /** Follows record boundaries: header (type, version, length), then `length` bytes of body. */
  private track(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, chunk.length - at);
        this.remaining -= take;
        at += take;
        continue;
      }
      const take = Math.min(HEADER - this.headerHave, chunk.length - at);
      chunk.copy(this.header, this.headerHave, at, at + take);
      this.headerHave += take;
      at += take;
      if (this.headerHave === HEADER) {
        this.lastType = this.header[0]!;
        this.remaining = this.header.readUInt16BE(3);
        this.headerHave = 0;
      }
    }
  }

  override _read(): void {
    if (this.held.length === 0) this.raw.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.writing++;
    this.raw.write(chunk, (err) => {
      done(err);
      // The TLS layer learns that its write finished in a setImmediate of its own, scheduled from `done`
      // (directly or on the next tick): two turns later it surely has.
      setImmediate(() =>
        setImmediate(() => {
          this.writing--;
          this.release();
        }),
      );
    });
  }

  override _final(done: (err?: Error | null) => void): void {
    this.raw.end();
    done();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.raw.destroy();
    done(err);
  }
}

const contexts = new WeakMap<object, tls.SecureContext>();

/** One secure context per server for its data connections: TLS 1.2 at most (see the module's comment). */
function dataContext(options: tls.SecureContextOptions): tls.SecureContext {
  let context = contexts.get(options);
  if (!context) {
    context = tls.createSecureContext({ ...options, minVersion: "TLSv1.2", maxVersion: "TLSv1.2" });
    contexts.set(options, context);
  }
  return context;
}

/** A data connection's TLS socket, reading through a RecordTap (kept on the socket for `uploadEnd`). */
export function secureDataSocket(raw: net.Socket, options: tls.SecureContextOptions): tls.TLSSocket {
  const tap = new RecordTap(raw);
  const socket = new tls.TLSSocket(tap as unknown as net.Socket, {
    isServer: true,
    secureContext: dataContext(options),
  });
  // Node's wrapper of a stream under TLS does not pass the stream's failure on: a reset must fail the socket.
  tap.once("error", (err) => socket.destroy(err));
  // Ending is TLS's shutdown, during which it must not be handed the peer's bytes (see the module's comment);
  // but a listing may be ended before the client even started its handshake, which still needs reading.
  let secured = false;
  let ending = false;
  socket.once("secure", () => {
    secured = true;
    if (ending) tap.stopReading();
  });
  const end = socket.end.bind(socket);
  socket.end = ((...args: Parameters<typeof socket.end>) => {
    ending = true;
    if (secured) tap.stopReading();
    return end(...args);
  }) as typeof socket.end;
  taps.set(socket, tap);
  return socket;
}

const taps = new WeakMap<object, RecordTap>();

/** The TCP socket under a data connection (the socket itself for plain FTP). */
export function tcpOf(socket: net.Socket): net.Socket {
  return taps.get(socket)?.tcp ?? socket;
}

/**
 * How the sender ended the data connection that carried an upload, asked at the end of its TLS stream:
 * "complete" (TLS closed in order, or plain FTP, where nothing more can be known), "cut" (TCP ended or was
 * reset without a TLS close). A TLS stream that ends while TCP is still open ended by close_notify: that is
 * the usual order (the alert, then the TCP end).
 */
export function uploadEnd(socket: object): "complete" | "cut" {
  const tap = taps.get(socket);
  if (!tap) return "complete";
  return tap.networkError || tap.orderlyEnd === false ? "cut" : "complete";
}
