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

  constructor(private raw: net.Socket) {
    super({ allowHalfOpen: true });
    raw.on("data", (chunk: Buffer) => {
      this.track(chunk);
      if (!this.push(chunk)) raw.pause();
    });
    raw.on("end", () => {
      this.orderlyEnd = this.lastType === ALERT && this.remaining === 0 && this.headerHave === 0;
      this.push(null);
    });
    raw.on("error", (err) => {
      this.networkError = err;
      this.destroy(err);
    });
    raw.on("close", () => {
      if (!this.destroyed) this.destroy();
    });
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
    this.raw.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.raw.write(chunk, done);
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
  taps.set(socket, tap);
  return socket;
}

const taps = new WeakMap<object, RecordTap>();

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
